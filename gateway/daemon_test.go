package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// The demo key material is issued once per test binary (RSA-3072 key
// generation is the slow part) and copied into each test's directory.
var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// newDemoDir returns a fresh demo directory (keys, token, config, address
// book) whose configuration points at the given addresses.
func newDemoDir(t *testing.T, simAddr, apiAddr string) demoLayout {
	t.Helper()
	fixtureOnce.Do(func() {
		if fixtureDir, fixtureErr = os.MkdirTemp("", "bebpo-demo-keys-"); fixtureErr != nil {
			return
		}
		pki := demoPKI{dir: fixtureDir, now: time.Now, rand: rand.Reader}
		_, fixtureErr = pki.ensure([]demoParty{demoStadt.demoParty, demoGericht.demoParty, demoIntermediary})
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	l := demoLayout{Dir: t.TempDir()}
	if err := os.CopyFS(l.Keys(), os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	// CopyFS keeps no modes; keystores and passwords must be private.
	ents, _ := os.ReadDir(l.Keys())
	for _, e := range ents {
		if err := os.Chmod(filepath.Join(l.Keys(), e.Name()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	created, err := prepareDemo(context.Background(), l, simAddr, apiAddr, time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("prepareDemo issued new keys although the copied ones are usable")
	}
	return l
}

func TestDemoPKIKeysFollowOwnKeyPolicy(t *testing.T) {
	l := newDemoDir(t, "127.0.0.1:1", "127.0.0.1:2")
	pki := demoPKI{dir: l.Keys()}
	for _, party := range []string{demoStadt.ID, demoGericht.ID, demoIntermediary.ID} {
		t.Run(party, func(t *testing.T) {
			sig, err := pki.load(party, certs.PurposeSignature)
			if err != nil {
				t.Fatal(err)
			}
			ciph, err := pki.load(party, certs.PurposeCipher)
			if err != nil {
				t.Fatal(err)
			}
			if err := (&certs.Identity{Signature: sig, Cipher: ciph}).Check(time.Now()); err != nil {
				t.Fatalf("identity check: %v", err)
			}
			for _, p := range []certs.Purpose{certs.PurposeSignature, certs.PurposeCipher} {
				p12, pw, _ := pki.keystore(party, p)
				for _, f := range []string{p12, pw} {
					fi, err := os.Stat(f)
					if err != nil {
						t.Fatal(err)
					}
					if fi.Mode().Perm() != 0o600 {
						t.Errorf("%s: mode %04o, want 0600", f, fi.Mode().Perm())
					}
				}
			}
		})
	}
}

func TestDemoPDFIsWellFormed(t *testing.T) {
	pdf := demoPDF("Test (1) \\ ü")
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatal("missing PDF header or trailer")
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	offs := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllSubmatch(pdf, -1)
	if len(offs) != 5 {
		t.Fatalf("%d xref entries, want 5", len(offs))
	}
	for i, o := range offs {
		off, _ := strconv.Atoi(string(o[1]))
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Errorf("xref entry %d points at %q", i+1, pdf[off:off+10])
		}
	}
}

// TestRunRefusesBrokenConfiguration: exit 2 and a message naming the key,
// before the store is created.
func TestRunRefusesBrokenConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, l demoLayout, cfg string) string
		wantKey string
	}{
		{"unknown key", func(t *testing.T, l demoLayout, cfg string) string {
			return strings.Replace(cfg, "    poll_interval: 2s\n", "    poll_interval: 2s\n    polling: fast\n", 1)
		}, "polling"},
		{"bad revocation mode", func(t *testing.T, l demoLayout, cfg string) string {
			return strings.Replace(cfg, "revocation: prefer", "revocation: sometimes", 1)
		}, "trust.revocation"},
		{"poll interval too short", func(t *testing.T, l demoLayout, cfg string) string {
			return strings.Replace(cfg, "poll_interval: 2s", "poll_interval: 10ms", 1)
		}, "mailboxes[0].poll_interval"},
		{"keystore missing", func(t *testing.T, l demoLayout, cfg string) string {
			return strings.Replace(cfg, "keys/stadt-cipher.p12", "keys/nowhere.p12", 1)
		}, "mailboxes[0].cipher.pkcs12"},
		{"wrong keystore password", func(t *testing.T, l demoLayout, cfg string) string {
			if err := os.WriteFile(filepath.Join(l.Keys(), "gericht-signature.password"), []byte("not-the-password\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return cfg
		}, "mailboxes[1].signature.pkcs12"},
		{"keystore readable by others", func(t *testing.T, l demoLayout, cfg string) string {
			if err := os.Chmod(filepath.Join(l.Keys(), "stadt-signature.p12"), 0o644); err != nil {
				t.Fatal(err)
			}
			return cfg
		}, "mailboxes[0].signature.pkcs12"},
		{"pinned certificate missing", func(t *testing.T, l demoLayout, cfg string) string {
			return strings.Replace(cfg, "[keys/intermediary-signature.pem]", "[keys/none.pem]", 1)
		}, "mailboxes[0].intermediary.signature_certs[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newDemoDir(t, "127.0.0.1:1", "127.0.0.1:0")
			b, err := os.ReadFile(l.Config())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(l.Config(), []byte(tc.edit(t, l, string(b))), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := RunCLI(&Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }},
				[]string{"run", "--config", l.Config()})
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantKey) {
				t.Errorf("stderr does not name %q: %s", tc.wantKey, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(l.Data(), sqlite.FileName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the store was touched before the configuration was accepted: %v", err)
			}
		})
	}
}

func TestRestartOnlyChanges(t *testing.T) {
	base := func() *Config {
		return &Config{DataDir: "/d", API: APIConfig{Listen: "127.0.0.1:1", TokensFile: "/t"},
			Mailboxes: []MailboxConfig{{Name: "a", SafeID: "DE.A.1", PollInterval: time.Minute}}}
	}
	tests := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"poll interval and trust apply", func(c *Config) {
			c.Mailboxes[0].PollInterval = time.Hour
			c.Trust.Revocation = "off"
		}, nil},
		{"data_dir", func(c *Config) { c.DataDir = "/e" }, []string{"data_dir", "address_book"}},
		{"api", func(c *Config) { c.API.Listen = "127.0.0.1:2" }, []string{"api"}},
		{"mailbox added", func(c *Config) { c.Mailboxes = append(c.Mailboxes, MailboxConfig{Name: "b"}) }, []string{"mailboxes (added or removed)"}},
		{"mailbox renamed", func(c *Config) { c.Mailboxes[0].Name = "z" }, []string{"mailboxes[0].name/safe_id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			got := restartOnly(base(), next)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// recordingIntake is a real in-memory sink: it records what it was given.
type recordingIntake struct{ got []string }

func (r *recordingIntake) Name() string { return "recording" }
func (r *recordingIntake) Deliver(_ context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	r.got = append(r.got, m.Metadata.MessageID)
	return mailbox.IntakeRecord{Sink: "recording", Location: m.Metadata.MessageID}, nil
}

func TestIntakeRouterByRecipientMailbox(t *testing.T) {
	a, b := &recordingIntake{}, &recordingIntake{}
	rt := &runtimeConfig{
		mailboxes: map[string]*mailboxRuntime{"a": {cfg: MailboxConfig{Intake: "ia"}}, "b": {cfg: MailboxConfig{Intake: "ib"}}},
		intakes:   map[string]mailbox.Intake{"ia": a, "ib": b},
	}
	r := intakeRouter{current: func() *runtimeConfig { return rt }}
	tests := []struct {
		name, mailbox string
		wantErr       bool
	}{
		{"to a", "a", false},
		{"to b", "b", false},
		{"unknown mailbox waits", "c", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Deliver(context.Background(), &mailbox.IntakeMessage{Metadata: mailbox.IntakeMetadata{Mailbox: tc.mailbox, MessageID: "m-" + tc.mailbox}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	if fmt.Sprint(a.got, b.got) != "[m-a] [m-b]" {
		t.Errorf("routed %v %v", a.got, b.got)
	}
}

func TestIntermediaryCode(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		err      error
		wantCode string
		wantPeer bool
	}{
		{"feedback code", context.Background(), &mailbox.PeerError{Class: mailbox.Permanent, FeedbackCode: "9601", Err: errors.New("bad signature")}, "9601", true},
		{"no answer", context.Background(), errors.New("connection refused"), "transport", true},
		{"local recipient refusal", context.Background(), &mailbox.PeerError{Class: mailbox.Permanent, FeedbackCode: "recipient", Err: errors.New("expired")}, "recipient", false},
		{"disk full", context.Background(), fmt.Errorf("store: %w", mailbox.ErrDiskFull), "", false},
		{"cancelled", cancelled, context.Canceled, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, peer := intermediaryCode(tc.ctx, tc.err)
			if code != tc.wantCode || peer != tc.wantPeer {
				t.Errorf("got (%q, %v), want (%q, %v)", code, peer, tc.wantCode, tc.wantPeer)
			}
		})
	}
}

// TestDrain: SIGTERM waits for in-flight rounds; one that outlives the
// drain timeout is cancelled (ErrDrainTimeout); a second signal returns
// ErrForced at once.
func TestDrain(t *testing.T) {
	tests := []struct {
		name      string
		roundTime time.Duration // how long the in-flight round runs unless cancelled
		signal    os.Signal     // sent during the drain, if any
		want      error
		cancelled bool
	}{
		{"in-flight round finishes", 150 * time.Millisecond, nil, nil, false},
		{"SIGHUP during the drain is no second signal", 150 * time.Millisecond, syscall.SIGHUP, nil, false},
		{"round outlives the drain timeout", time.Hour, nil, ErrDrainTimeout, true},
		{"second signal forces exit", time.Hour, syscall.SIGTERM, ErrForced, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Daemon{opt: DaemonOptions{DrainTimeout: 400 * time.Millisecond}, log: zap.NewNop(),
				hs: &http.Server{}, stopping: make(chan struct{}), fatal: make(chan error, 1)}
			d.workCtx, d.cancelWork = context.WithCancel(context.Background())
			started := make(chan struct{})
			var once sync.Once
			var rounds, cancelled, finished atomic.Int32
			d.loop("test", func() time.Duration { return time.Hour }, nil, func(ctx context.Context) (bool, error) {
				rounds.Add(1)
				once.Do(func() { close(started) })
				select {
				case <-time.After(tc.roundTime):
					finished.Add(1)
				case <-ctx.Done():
					cancelled.Add(1)
					return false, ctx.Err()
				}
				return true, nil // more work: the loop must still stop claiming
			})
			<-started
			sig := make(chan os.Signal, 1)
			if tc.signal != nil {
				sig <- tc.signal
			}
			err := d.drain(sig, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("drain: %v, want %v", err, tc.want)
			}
			if got := cancelled.Load() > 0; got != tc.cancelled && tc.want != ErrForced {
				t.Errorf("round cancelled = %v, want %v", got, tc.cancelled)
			}
			if tc.want == nil && finished.Load() != 1 {
				t.Error("drain returned before the in-flight round finished")
			}
			if tc.want == nil && rounds.Load() != 1 {
				t.Errorf("%d rounds ran; after SIGTERM no new round may start", rounds.Load())
			}
		})
	}
}

func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	first, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	first.Close() // a dead process releases it the same way
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.Close()
}

func TestBuildIntake(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "dms.token")
	if err := os.WriteFile(tokFile, []byte("dms-secret-token-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	folder := IntakeConfig{Name: "eakte", Type: "folder", Path: filepath.Join(dir, "eakte")}
	httpCfg := IntakeConfig{Name: "dms", Type: "http", URL: "https://dms.example/intake", Auth: SecretRef{File: tokFile},
		Meta: map[string]string{"X-Mandant": "42"}}
	deps := buildDeps{now: time.Now, rand: rand.Reader, getenv: func(string) string { return "" }}

	sink, err := buildIntake("intakes[0]", folder, deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sink.(*mailbox.FolderIntake); !ok {
		t.Fatalf("folder intake is %T", sink)
	}
	if fi, err := os.Stat(folder.Path); err != nil || !fi.IsDir() {
		t.Errorf("folder intake root not created: %v", err)
	}
	hs, err := buildIntake("intakes[1]", httpCfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := hs.(*mailbox.HTTPIntake)
	if !ok || h.URL != httpCfg.URL || h.Header.Get("Authorization") != "Bearer dms-secret-token-123" || h.Header.Get("X-Mandant") != "42" {
		t.Fatalf("http intake: %#v", hs)
	}

	prev := &runtimeConfig{intakes: map[string]mailbox.Intake{"eakte": sink}, intakeCfg: map[string]IntakeConfig{"eakte": folder}}
	deps.previous = prev
	tests := []struct {
		name     string
		cfg      IntakeConfig
		wantSame bool
	}{
		{"unchanged sink is kept", folder, true},
		{"moved folder is rebuilt", IntakeConfig{Name: "eakte", Type: "folder", Path: filepath.Join(dir, "eakte2")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildIntake("intakes[0]", tc.cfg, deps)
			if err != nil {
				t.Fatal(err)
			}
			if (got == sink) != tc.wantSame {
				t.Errorf("same sink = %v, want %v", got == sink, tc.wantSame)
			}
		})
	}
	missing := httpCfg
	missing.Auth = SecretRef{File: filepath.Join(dir, "nope")}
	if _, err := buildIntake("intakes[1]", missing, buildDeps{now: time.Now, getenv: deps.getenv}); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "intakes[1].token") {
		t.Errorf("missing token file: %v, want ErrConfig naming intakes[1].token", err)
	}
}

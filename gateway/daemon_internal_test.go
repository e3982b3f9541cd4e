package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/routing"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// A reload applies what it can and names what waits for a restart,
// keeping the running value of each such setting.
func TestLiveConfigAppliesTheRestAndNamesPendingChanges(t *testing.T) {
	base := func() *config.Config {
		return &config.Config{DataDir: "/d", API: config.APIConfig{Listen: "127.0.0.1:1", TokensFile: "/t"},
			Mailboxes: []config.MailboxConfig{{Name: "a", SafeID: "DE.A.1", PollInterval: time.Minute}}}
	}
	tests := []struct {
		name    string
		edit    func(c *config.Config)
		pending []string
		check   func(t *testing.T, applied *config.Config)
	}{
		{"poll interval and trust apply", func(c *config.Config) {
			c.Mailboxes[0].PollInterval = time.Hour
			c.Trust.Revocation = "off"
		}, nil, func(t *testing.T, c *config.Config) {
			if c.Mailboxes[0].PollInterval != time.Hour || c.Trust.Revocation != "off" {
				t.Errorf("not applied: %+v", c)
			}
		}},
		{"data_dir waits, poll interval applies", func(c *config.Config) {
			c.DataDir = "/e"
			c.Mailboxes[0].PollInterval = time.Hour
		}, []string{"data_dir", "address_book"}, func(t *testing.T, c *config.Config) {
			if c.DataDir != "/d" || c.Mailboxes[0].PollInterval != time.Hour {
				t.Errorf("data_dir %q poll %s", c.DataDir, c.Mailboxes[0].PollInterval)
			}
		}},
		{"api listen address waits", func(c *config.Config) { c.API.Listen = "127.0.0.1:2" }, []string{"api"}, func(t *testing.T, c *config.Config) {
			if c.API.Listen != "127.0.0.1:1" {
				t.Errorf("listen %q", c.API.Listen)
			}
		}},
		{"mailbox added waits", func(c *config.Config) {
			c.Mailboxes = append(c.Mailboxes, config.MailboxConfig{Name: "b"})
		}, []string{"mailboxes: b added"}, func(t *testing.T, c *config.Config) {
			if len(c.Mailboxes) != 1 {
				t.Errorf("%d mailboxes", len(c.Mailboxes))
			}
		}},
		{"mailbox renamed waits", func(c *config.Config) { c.Mailboxes[0].Name = "z" }, []string{"mailboxes: a removed", "mailboxes: z added"},
			func(t *testing.T, c *config.Config) {
				if c.Mailboxes[0].Name != "a" {
					t.Errorf("mailbox %q", c.Mailboxes[0].Name)
				}
			}},
		{"SAFE-ID change waits", func(c *config.Config) { c.Mailboxes[0].SafeID = "DE.B.2" }, []string{"mailboxes: a.safe_id"},
			func(t *testing.T, c *config.Config) {
				if c.Mailboxes[0].SafeID != "DE.A.1" {
					t.Errorf("SAFE-ID %q", c.Mailboxes[0].SafeID)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := base()
			tc.edit(next)
			applied, pending := liveConfig(base(), next)
			if fmt.Sprint(pending) != fmt.Sprint(tc.pending) {
				t.Errorf("pending %v, want %v", pending, tc.pending)
			}
			tc.check(t, applied)
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
		mailboxes: map[string]*mailboxRuntime{"a": {cfg: config.MailboxConfig{Intake: "ia"}}, "b": {cfg: config.MailboxConfig{Intake: "ib"}}},
		intakes:   map[string]mailbox.Intake{"ia": a, "ib": b},
	}
	for key, mb := range rt.mailboxes {
		var err error
		if mb.routes, err = routesFor(key, mb.cfg, rt); err != nil {
			t.Fatal(err)
		}
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

// TestIntakeRouterFollowsRoutes: a mailbox's rules send a message to
// another intake than its default, and the record and the entry name the
// rule; the court comes from the address book.
func TestIntakeRouterFollowsRoutes(t *testing.T) {
	a, b := &recordingIntake{}, &recordingIntake{}
	mc := config.MailboxConfig{Intake: "ia", Routes: []routing.Rule{{Name: "lg-koeln", Match: routing.Match{Court: "R3300"}, Intake: "ib"}}}
	rt := &runtimeConfig{intakes: map[string]mailbox.Intake{"ia": a, "ib": b},
		courtOf: func(id string) string { return map[string]string{"DE.Justiz.lg-koeln.1": "R3300"}[id] }}
	routes, err := routesFor("mailboxes[0]", mc, rt)
	if err != nil {
		t.Fatal(err)
	}
	rt.mailboxes = map[string]*mailboxRuntime{"a": {cfg: mc, routes: routes}}
	r := intakeRouter{current: func() *runtimeConfig { return rt }}
	for _, tc := range []struct{ sender, rule string }{{"DE.Justiz.lg-koeln.1", "lg-koeln"}, {"DE.Justiz.other.1", routing.DefaultRule}} {
		im := &mailbox.IntakeMessage{Metadata: mailbox.IntakeMetadata{Mailbox: "a", MessageID: "m-" + tc.rule,
			Sender: mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: tc.sender}}}}
		rec, err := r.Deliver(context.Background(), im)
		if err != nil || rec.Route != tc.rule || im.Metadata.Route != tc.rule {
			t.Fatalf("%s: record %+v, entry rule %q, %v; want rule %q", tc.sender, rec, im.Metadata.Route, err, tc.rule)
		}
	}
	if fmt.Sprint(a.got, b.got) != "[m-default] [m-lg-koeln]" {
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
	first, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDataDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	first.Close() // a dead process releases it the same way
	again, err := LockDataDir(dir)
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
	folder := config.IntakeConfig{Name: "eakte", Type: "folder", Path: filepath.Join(dir, "eakte")}
	httpCfg := config.IntakeConfig{Name: "dms", Type: "http", URL: "https://dms.example/intake", Auth: config.SecretRef{File: tokFile},
		Meta: map[string]string{"X-Mandant": "42"}}
	deps := buildDeps{now: time.Now, rand: rand.Reader, getenv: func(string) string { return "" }}

	sink, err := buildIntake("intakes[0]", &config.Config{}, folder, deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sink.(*mailbox.FolderIntake); !ok {
		t.Fatalf("folder intake is %T", sink)
	}
	if fi, err := os.Stat(folder.Path); err != nil || !fi.IsDir() {
		t.Errorf("folder intake root not created: %v", err)
	}
	hs, err := buildIntake("intakes[1]", &config.Config{}, httpCfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := hs.(*mailbox.HTTPIntake)
	if !ok || h.URL != httpCfg.URL || h.Header.Get("Authorization") != "Bearer dms-secret-token-123" || h.Header.Get("X-Mandant") != "42" {
		t.Fatalf("http intake: %#v", hs)
	}

	prev := &runtimeConfig{intakes: map[string]mailbox.Intake{"eakte": sink}, intakeCfg: map[string]config.IntakeConfig{"eakte": folder}}
	deps.previous = prev
	tests := []struct {
		name     string
		cfg      config.IntakeConfig
		wantSame bool
	}{
		{"unchanged sink is kept", folder, true},
		{"moved folder is rebuilt", config.IntakeConfig{Name: "eakte", Type: "folder", Path: filepath.Join(dir, "eakte2")}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildIntake("intakes[0]", &config.Config{}, tc.cfg, deps)
			if err != nil {
				t.Fatal(err)
			}
			if (got == sink) != tc.wantSame {
				t.Errorf("same sink = %v, want %v", got == sink, tc.wantSame)
			}
		})
	}
	missing := httpCfg
	missing.Auth = config.SecretRef{File: filepath.Join(dir, "nope")}
	if _, err := buildIntake("intakes[1]", &config.Config{}, missing, buildDeps{now: time.Now, getenv: deps.getenv}); !errors.Is(err, config.ErrConfig) || !strings.Contains(err.Error(), "intakes[1].token") {
		t.Errorf("missing token file: %v, want config.ErrConfig naming intakes[1].token", err)
	}
}

// The daemon frees a killed process's leases at start only if the store can.
var _ leaseReleaser = (*sqlite.Store)(nil)

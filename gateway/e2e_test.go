package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/outfolder"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// End-to-end tests: the real binary (`bebpo-gateway run`) against the
// intermediary simulator, driven through the admin API, the CLI and the
// outgoing folder. They build the binary once and are skipped with -short.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func gatewayBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bebpo-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bebpo-gateway")
		out, err := exec.Command("go", "build", "-o", binPath, "./cmd/bebpo-gateway").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// e2eEnv is one gateway installation: demo keys and configuration, an
// in-process simulator, and the daemon process(es) run on it.
type e2eEnv struct {
	t      *testing.T
	bin    string
	l      demo.Layout
	api    string
	client *api.Client
	log    string // daemon stderr, appended across restarts
	cmd    *exec.Cmd
	exited chan error
}

func newE2E(t *testing.T, faults ...intermediary.Fault) *e2eEnv {
	t.Helper()
	bin := gatewayBinary(t)
	simDir := t.TempDir()
	// The simulator needs the demo intermediary keys, which newDemoDir
	// creates; it is started on a reserved address first.
	simLn := listen(t)
	apiAddr := freeAddr(t)
	l := demo.NewTestDir(t, simLn.Addr().String(), apiAddr)
	setConfig(t, l, func(s string) string { return strings.ReplaceAll(s, "poll_interval: 2s", "poll_interval: 1s") })
	serveDemoSimulator(t, l, demo.Intermediary, simLn, simDir, faults...)
	return runEnv(t, bin, apiAddr, l)
}

// runEnv is the installation l, run with the real binary bin serving its
// admin API on apiAddr; killed, and its log checked for secrets, when the
// test ends.
func runEnv(t *testing.T, bin, apiAddr string, l demo.Layout) *e2eEnv {
	t.Helper()
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		t.Fatal(err)
	}
	e := &e2eEnv{t: t, bin: bin, l: l, api: "http://" + apiAddr, log: filepath.Join(t.TempDir(), "run.log")}
	e.client = &api.Client{BaseURL: e.api, Token: tok}
	t.Cleanup(func() {
		e.stop(syscall.SIGKILL)
		e.assertNoSecretsLogged()
	})
	return e
}

// serveSimulator runs an intermediary simulator with cfg on ln until the
// test ends.
func serveSimulator(t *testing.T, ln net.Listener, cfg intermediary.Config) {
	t.Helper()
	sim, err := intermediary.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// serveDemoSimulator runs the demo intermediary site, with its keys from
// l, on ln until the test ends, storing deliveries in dataDir.
func serveDemoSimulator(t *testing.T, l demo.Layout, site demo.Site, ln net.Listener, dataDir string, faults ...intermediary.Fault) {
	t.Helper()
	ciph, err := l.LoadKey(site.ID, certs.PurposeCipher)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := l.LoadKey(site.ID, certs.PurposeSignature)
	if err != nil {
		t.Fatal(err)
	}
	serveSimulator(t, ln, intermediary.Config{Cipher: ciph, Signature: sig, DataDir: dataDir, Now: time.Now, Rand: rand.Reader, Faults: faults})
}

// listen reserves a loopback address.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func setConfig(t *testing.T, l demo.Layout, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	if err := durable.WriteFile(l.Config(), []byte(edit(string(b))), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs `bebpo-gateway run` and waits until its API answers.
func (e *e2eEnv) start(args ...string) {
	e.t.Helper()
	logf, err := os.OpenFile(e.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cmd = exec.Command(e.bin, append([]string{"run", "--config", e.l.Config()}, args...)...)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.exited = make(chan error, 1)
	go func() { e.exited <- e.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-e.exited:
			e.t.Fatalf("gateway exited at start: %v\n%s", err, e.logText())
		case <-time.After(50 * time.Millisecond):
		}
	}
	e.t.Fatalf("gateway API not up within 15 s\n%s", e.logText())
}

// stop signals the daemon and returns its exit code (-1 if not running).
func (e *e2eEnv) stop(sig syscall.Signal) int {
	if e.cmd == nil || e.cmd.Process == nil {
		return -1
	}
	defer func() { e.cmd = nil }()
	_ = e.cmd.Process.Signal(sig)
	select {
	case <-e.exited:
	case <-time.After(45 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
		e.t.Errorf("gateway did not stop on %v within 45 s", sig)
	}
	return e.cmd.ProcessState.ExitCode()
}

func (e *e2eEnv) logText() string {
	b, _ := os.ReadFile(e.log)
	return string(b)
}

// cli runs a CLI command of the binary against this installation.
func (e *e2eEnv) cli(args ...string) (string, int) {
	cmd := exec.Command(e.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// pdf writes a PDF of its own (the gateway quarantines repeated
// content) and returns its path.
func (e *e2eEnv) pdf(note string) string {
	p := filepath.Join(e.t.TempDir(), "Schriftsatz.pdf")
	if err := os.WriteFile(p, demo.PDF(note), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// send submits a PDF from stadt to gericht with a subject.
func (e *e2eEnv) send(ctx context.Context, subject, key string) (int64, error) {
	r, err := e.client.Send(ctx, submit.MessageRequest{Mailbox: demo.Stadt.ID, To: demo.Gericht.SafeID, Subject: subject}, []string{e.pdf(key)}, key)
	return r.ID, err
}

// intakeEntries returns the complete entries of gericht's folder intake.
func (e *e2eEnv) intakeEntries() []string { return intakeEntries(e.l, demo.Gericht) }

// waitIntake waits until gericht's intake holds n entries, then checks
// that it stays at n (no late duplicate).
func (e *e2eEnv) waitIntake(n int, within time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for len(e.intakeEntries()) < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := len(e.intakeEntries()); got != n {
		e.t.Fatalf("intake holds %d entries, want %d\n%s", got, n, e.logText())
	}
}

// incomingCount counts received messages in the store through the API.
func (e *e2eEnv) incomingCount(ctx context.Context) int {
	e.t.Helper()
	l, err := e.client.ListMessages(ctx, map[string][]string{"direction": {"in"}, "limit": {"500"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(l.Messages)
}

// assertNoSecretsLogged greps the daemon's log for every secret the run
// used: keystore passwords and the API token.
func (e *e2eEnv) assertNoSecretsLogged() {
	logText := e.logText()
	if logText == "" {
		return
	}
	secrets := map[string]string{"api token": e.client.Token}
	pw, _ := filepath.Glob(filepath.Join(e.l.Keys(), "*.password"))
	for _, f := range pw {
		b, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatal(err)
		}
		secrets[filepath.Base(f)] = strings.TrimSpace(string(b))
	}
	for what, s := range secrets {
		if len(s) < 8 {
			e.t.Fatalf("secret %s too short to grep for", what)
		}
		if strings.Contains(logText, s) {
			e.t.Errorf("the log contains the %s", what)
		}
	}
}

func TestE2EDeliveryThroughAPICLIAndOutgoingFolder(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.start()
	ctx := context.Background()
	if _, err := e.send(ctx, "Per API", "e2e-api-1"); err != nil {
		t.Fatal(err)
	}
	out, code := e.cli("send", "--config", e.l.Config(), "--mailbox", demo.Stadt.ID, "--to", demo.Gericht.SafeID,
		"--subject", "Per CLI", "--idempotency-key", "e2e-cli-1", e.pdf("cli"))
	if code != 0 {
		t.Fatalf("send CLI: exit %d: %s", code, out)
	}
	sub := filepath.Join(e.l.Outgoing(), "antrag-1")
	if err := os.MkdirAll(sub, 0o750); err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf(`{"to":%q,"subject":"Per Ordner"}`, demo.Gericht.SafeID)
	for name, data := range map[string][]byte{outfolder.MessageFile: []byte(msg), "Antrag.pdf": demo.PDF("folder"), outfolder.Marker: nil} {
		if err := os.WriteFile(filepath.Join(sub, name), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	e.waitIntake(3, 30*time.Second)
	if _, err := os.Stat(filepath.Join(e.l.Outgoing(), outfolder.Done, "antrag-1", outfolder.ResultFile)); err != nil {
		t.Errorf("outgoing folder result: %v", err)
	}
	// The intake holds a delivery before the store records it delivered
	// (durable first, then acknowledged), so the list may lag a moment.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, code = e.cli("messages", "list", "--config", e.l.Config())
		if code == 0 && strings.Count(out, "delivered") == 3 || time.Now().After(deadline) {
			break
		}
	}
	if code != 0 || strings.Count(out, "delivered") != 3 {
		t.Errorf("messages list: exit %d:\n%s", code, out)
	}
	ready, err := http.Get(e.api + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %s after successful polls", ready.Status)
	}
	resp, err := http.Get(e.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`bebpo_certificate_expiry_timestamp_seconds{mailbox="stadt",purpose="signature"}`,
		`bebpo_poll_last_success_timestamp_seconds{mailbox="gericht"}`, `bebpo_queue_depth`, `bebpo_build_info{`,
		`process_resident_memory_bytes `, `go_goroutines `, `bebpo_api_requests_total{method="GET",route="/readyz",status="200"}`} {
		if !strings.Contains(body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code := e.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0\n%s", code, e.logText())
	}
}

// TestE2EReloadUnderLoad sends while SIGHUP reloads a changed, a broken
// and a restored configuration: every message arrives exactly once.
func TestE2EReloadUnderLoad(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.start()
	ctx := context.Background()
	const n = 12
	orig, err := os.ReadFile(e.l.Config())
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := e.send(ctx, fmt.Sprintf("Last %d", i), fmt.Sprintf("e2e-reload-%d", i)); err != nil {
				sent <- err
				return
			}
			time.Sleep(80 * time.Millisecond)
		}
		sent <- nil
	}()
	reloads := []func(string) string{
		func(s string) string { return strings.ReplaceAll(s, "poll_interval: 1s", "poll_interval: 2s") },
		func(s string) string { return strings.Replace(s, "revocation: prefer", "revocation: sometimes", 1) },
		func(string) string { return string(orig) },
	}
	for _, edit := range reloads {
		time.Sleep(250 * time.Millisecond)
		setConfig(t, e.l, func(string) string { return edit(string(orig)) })
		if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	e.waitIntake(n, 40*time.Second)
	time.Sleep(1500 * time.Millisecond) // one more poll: nothing arrives twice
	if got := len(e.intakeEntries()); got != n {
		t.Errorf("intake holds %d entries after settling, want %d", got, n)
	}
	if got := e.incomingCount(ctx); got != n {
		t.Errorf("store holds %d incoming messages, want %d", got, n)
	}
	logText := e.logText()
	if c := strings.Count(logText, "configuration reloaded"); c != 2 {
		t.Errorf("%d reloads logged as applied, want 2", c)
	}
	if !strings.Contains(logText, "reload refused") || !strings.Contains(logText, "trust.revocation") {
		t.Errorf("the broken reload is not logged with its key")
	}
	if code := e.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}
}

func TestE2EBrokenConfigRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	setConfig(t, e.l, func(s string) string { return strings.Replace(s, "format: json", "format: yaml", 1) })
	out, code := e.cli("run", "--config", e.l.Config())
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want 2: %s", code, out)
	}
	if !strings.Contains(out, "log.format") {
		t.Errorf("message does not name log.format: %s", out)
	}
}

// inProcess is a daemon run in this process until stop (or the end of
// the test, which stops it and fails on an error of Run).
type inProcess struct {
	d    *gateway.Daemon
	sig  chan os.Signal
	done chan error
	err  error
	once sync.Once
}

// startInProcess builds the daemon with opt and runs it. Unset, Getenv
// reads nothing and the send and intake engines run every 200 ms.
func startInProcess(t *testing.T, opt gateway.DaemonOptions) *inProcess {
	t.Helper()
	if opt.Getenv == nil {
		opt.Getenv = func(string) string { return "" }
	}
	if opt.SendInterval == 0 {
		opt.SendInterval = 200 * time.Millisecond
	}
	if opt.DeliverInterval == 0 {
		opt.DeliverInterval = 200 * time.Millisecond
	}
	d, err := gateway.NewDaemon(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	p := &inProcess{d: d, sig: make(chan os.Signal, 1), done: make(chan error, 1)}
	go func() { p.done <- d.Run(context.Background(), p.sig) }()
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("Run after SIGTERM: %v", err)
		}
	})
	return p
}

// stop sends SIGTERM once and returns what Run returned.
func (p *inProcess) stop() error {
	p.once.Do(func() {
		p.sig <- syscall.SIGTERM
		p.err = <-p.done
	})
	return p.err
}

// apiClient is a client of the daemon's API at ln with the first token
// of l's tokens file.
func apiClient(t *testing.T, l demo.Layout, ln net.Listener) *api.Client {
	t.Helper()
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		t.Fatal(err)
	}
	return &api.Client{BaseURL: "http://" + ln.Addr().String(), Token: tok}
}

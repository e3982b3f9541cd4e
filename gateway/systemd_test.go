package gateway_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
)

// fakeSystemd is the service manager's end of NOTIFY_SOCKET: a unixgram
// listener that hands over every notification except the watchdog's,
// which it counts.
type fakeSystemd struct {
	conn      *net.UnixConn
	notes     chan string
	mu        sync.Mutex
	watchdogs int
}

func newFakeSystemd(t *testing.T) (*fakeSystemd, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSystemd{conn: conn, notes: make(chan string, 64)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(f.notes)
				return
			}
			if s := string(buf[:n]); s == "WATCHDOG=1\n" {
				f.mu.Lock()
				f.watchdogs++
				f.mu.Unlock()
			} else {
				f.notes <- s
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return f, path
}

// next returns the next notification's assignments.
func (f *fakeSystemd) next(t *testing.T) map[string]string {
	t.Helper()
	select {
	case s, ok := <-f.notes:
		if !ok {
			t.Fatal("notification socket closed")
		}
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
			k, v, _ := strings.Cut(line, "=")
			m[k] = v
		}
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no notification within 30s")
	}
	return nil
}

// TestDaemonTellsSystemd runs the daemon as systemd would start a
// Type=notify unit with a watchdog: READY=1 comes once the admin API
// answers, a SIGHUP is bracketed by RELOADING=1 (with MONOTONIC_USEC) and
// READY=1, the watchdog is fed, and SIGTERM says STOPPING=1 before Run returns.
func TestDaemonTellsSystemd(t *testing.T) {
	t.Parallel()
	simLn, apiLn := listen(t), listen(t)
	l := demo.NewTestDir(t, simLn.Addr().String(), apiLn.Addr().String())
	serveDemoSimulator(t, l, demo.Intermediary, simLn, t.TempDir())

	sd, socket := newFakeSystemd(t)
	env := map[string]string{"NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": strconv.Itoa(os.Getpid())}
	var logs bytes.Buffer
	var logMu sync.Mutex
	ctx := context.Background()
	d, err := gateway.NewDaemon(ctx, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: apitest.LockedWriter{W: &logs, Mu: &logMu},
		APIListener: apiLn, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sig) }()

	ready := sd.next(t)
	if ready["READY"] != "1" || !strings.Contains(ready["STATUS"], "running") {
		t.Fatalf("first notification %v, want READY=1 with a status", ready)
	}
	resp, err := http.Get("http://" + apiLn.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("READY=1 sent, but the admin API does not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("READY=1 sent, but /healthz answers %d", resp.StatusCode)
	}

	sig <- syscall.SIGHUP
	reloading := sd.next(t)
	if reloading["RELOADING"] != "1" || reloading["MONOTONIC_USEC"] == "" {
		t.Fatalf("after SIGHUP: %v, want RELOADING=1 with MONOTONIC_USEC", reloading)
	}
	if again := sd.next(t); again["READY"] != "1" || strings.Contains(again["STATUS"], "refused") {
		t.Fatalf("after the reload: %v, want READY=1 without a refusal", again)
	}

	// A refused reload ends with READY=1 too (the old configuration runs
	// on), and the status says so.
	cfg, _ := os.ReadFile(l.Config())
	if err := os.WriteFile(l.Config(), append(cfg, "no_such_key: 1\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	sig <- syscall.SIGHUP
	if n := sd.next(t); n["RELOADING"] != "1" {
		t.Fatalf("after the second SIGHUP: %v", n)
	}
	if n := sd.next(t); n["READY"] != "1" || !strings.Contains(n["STATUS"], "refused") {
		t.Fatalf("after a refused reload: %v, want READY=1 and a status naming the refusal", n)
	}

	time.Sleep(300 * time.Millisecond) // at least two watchdog intervals
	sig <- syscall.SIGTERM
	if n := sd.next(t); n["STOPPING"] != "1" {
		t.Fatalf("after SIGTERM: %v, want STOPPING=1", n)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after SIGTERM")
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if sd.watchdogs == 0 {
		t.Error("the watchdog was never fed")
	}
}

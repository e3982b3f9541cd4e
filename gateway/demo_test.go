package gateway

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemoRunsAndReruns runs `bebpo-gateway demo` twice on one directory,
// as `make run` does: both runs deliver their message into the folder
// intake (the second with a PDF of its own, so it is not quarantined as
// a repeat), the second reuses the keys, and SIGTERM ends each with 0.
func TestDemoRunsAndReruns(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole demo twice; skipped with -short")
	}
	l := newDemoDir(t, "127.0.0.1:1", "127.0.0.1:2") // keys from the shared fixture
	for run := 1; run <= 2; run++ {
		var mu sync.Mutex
		var out bytes.Buffer
		w := lockedWriter{&out, &mu}
		sig := make(chan os.Signal, 1)
		done := make(chan int, 1)
		go func() {
			done <- demoMain(&Env{Stdout: w, Stderr: w, Getenv: func(string) string { return "" }}, l, sig)
		}()
		text := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(text(), "Running until Ctrl-C") {
			select {
			case code := <-done:
				t.Fatalf("run %d: demo exited with %d:\n%s", run, code, text())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("run %d: no walkthrough within 60 s:\n%s", run, text())
			}
		}
		got := text()
		if !strings.Contains(got, "reusing "+l.Keys()) {
			t.Errorf("run %d: keys not reused:\n%s", run, got)
		}
		m := regexp.MustCompile(`Arrived in the folder intake of "gericht" \(outgoing message now "(sent|confirmed)"\):\n   (\S+)\n`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("run %d: no arrival reported:\n%s", run, got)
		}
		if _, err := os.Stat(m[2]); err != nil {
			t.Errorf("run %d: printed intake path: %v", run, err)
		}
		sig <- syscall.SIGTERM
		select {
		case code := <-done:
			if code != ExitOK {
				t.Fatalf("run %d: exit %d after SIGTERM:\n%s", run, code, text())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d: demo did not stop on SIGTERM", run)
		}
	}
}

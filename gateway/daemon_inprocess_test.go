package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestDaemonInProcess runs the daemon in this process (under the race
// detector): a message goes through, a reload with a broken keystore
// password keeps the running generation, a valid one replaces it, and
// SIGTERM drains and returns nil.
func TestDaemonInProcess(t *testing.T) {
	t.Parallel()
	simLn, apiLn := listen(t), listen(t)
	l := demo.NewTestDir(t, simLn.Addr().String(), apiLn.Addr().String())
	serveDemoSimulator(t, l, demo.Intermediary, simLn, t.TempDir())

	var logs bytes.Buffer
	var logMu sync.Mutex
	ctx := context.Background()
	p := startInProcess(t, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: apitest.LockedWriter{W: &logs, Mu: &logMu}, APIListener: apiLn})
	d, client := p.d, apiClient(t, l, apiLn)
	resp, err := client.Send(ctx, submit.MessageRequest{To: demo.Gericht.SafeID, Subject: "In-process"}, []string{l.PDF()}, "inproc-1")
	if err != nil {
		t.Fatal(err)
	}
	entry, _, err := demo.WaitForIntake(ctx, client, l, resp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(entry, mailbox.FileMetadataJSON)); err != nil {
		t.Error(err)
	}

	before := d.Config()
	pwFile := filepath.Join(l.Keys(), "stadt-cipher.password")
	good, _ := os.ReadFile(pwFile)
	if err := os.WriteFile(pwFile, []byte("wrong-password-here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); !errors.Is(err, config.ErrKeyMaterial) || !errors.Is(err, certs.ErrBadPassword) {
		t.Fatalf("reload with a wrong password: %v, want config.ErrKeyMaterial and certs.ErrBadPassword", err)
	}
	if d.Config() != before {
		t.Fatal("a refused reload replaced the running generation")
	}
	if err := os.WriteFile(pwFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	setPoll := func(s string) string { return strings.ReplaceAll(s, "poll_interval: 2s", "poll_interval: 3s") }
	b, _ := os.ReadFile(l.Config())
	if err := os.WriteFile(l.Config(), []byte(setPoll(string(b))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatalf("valid reload: %v", err)
	}
	if mb, _ := d.Config().Mailbox(demo.Stadt.ID); d.Config() == before || mb.PollInterval != 3*time.Second {
		t.Fatal("a valid reload did not take effect")
	}
	// Tokens: the reload swapped in the file's new token and dropped the old one.
	newTok := "rotated-token-0123456789"
	if err := os.WriteFile(l.Tokens(), []byte("ops:"+newTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatalf("reload with rotated token: %v", err)
	}
	if _, err := client.Status(ctx); err == nil {
		t.Error("the old token still works after the rotation")
	}
	if _, err := (&api.Client{BaseURL: client.BaseURL, Token: newTok}).Status(ctx); err != nil {
		t.Errorf("the new token: %v", err)
	}
	// A change that needs a restart (the log format) is reported, and the
	// rest of the file (the poll interval) is applied all the same.
	b, _ = os.ReadFile(l.Config())
	edited := strings.ReplaceAll(strings.Replace(string(b), "format: json", "format: console", 1), "poll_interval: 3s", "poll_interval: 4s")
	if err := os.WriteFile(l.Config(), []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err == nil || !strings.Contains(err.Error(), "log") || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("reload with a restart-only change: %v", err)
	}
	if mb, _ := d.Config().Mailbox(demo.Stadt.ID); mb.PollInterval != 4*time.Second || d.Config().Log.Format != "json" {
		t.Fatalf("after a partly applied reload: poll %s, log format %q", mb.PollInterval, d.Config().Log.Format)
	}

	if err := p.stop(); err != nil {
		t.Fatalf("Run after SIGTERM: %v", err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, s := range []string{strings.TrimSpace(string(good)), client.Token} {
		if strings.Contains(logs.String(), s) {
			t.Error("a secret reached the log")
		}
	}
}

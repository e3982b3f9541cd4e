package gateway_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

func TestMain(m *testing.M) {
	code := m.Run()
	demo.RemoveTestKeys()
	os.Exit(code)
}

func TestRunRefusesBrokenConfiguration(t *testing.T) {
	tests := []struct {
		name     string
		from, to string                         // replaced once in the configuration
		keys     func(t *testing.T, dir string) // changes the key directory
		wantKey  string
	}{
		{"unknown key", "    poll_interval: 2s\n", "    poll_interval: 2s\n    polling: fast\n", nil, "polling"},
		{"bad revocation mode", "revocation: prefer", "revocation: sometimes", nil, "trust.revocation"},
		{"poll interval too short", "poll_interval: 2s", "poll_interval: 10ms", nil, "mailboxes[0].poll_interval"},
		{"keystore missing", "keys/stadt-cipher.p12", "keys/nowhere.p12", nil, "mailboxes[0].cipher.pkcs12"},
		{"wrong keystore password", "", "", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "gericht-signature.password"), []byte("not-the-password\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "mailboxes[1].signature.pkcs12"},
		{"keystore readable by others", "", "", func(t *testing.T, dir string) {
			if err := os.Chmod(filepath.Join(dir, "stadt-signature.p12"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "mailboxes[0].signature.pkcs12"},
		{"pinned certificate missing", "[keys/intermediary-signature.pem]", "[keys/none.pem]", nil, "mailboxes[0].intermediary.signature_certs[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:0")
			b, err := os.ReadFile(l.Config())
			if err != nil {
				t.Fatal(err)
			}
			cfg := string(b)
			if tc.from != "" {
				if cfg = strings.Replace(cfg, tc.from, tc.to, 1); cfg == string(b) {
					t.Fatalf("%q is not in the configuration", tc.from)
				}
			}
			if err := os.WriteFile(l.Config(), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			if tc.keys != nil {
				tc.keys(t, l.Keys())
			}
			var stdout, stderr bytes.Buffer
			code := cli.Run(&cli.Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }},
				[]string{"run", "--config", l.Config()})
			if code != cli.ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, cli.ExitUsage, stderr.String())
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

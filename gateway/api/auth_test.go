package api

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTokens(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTokens(t *testing.T) {
	tests := []struct {
		name, content string
		mode          os.FileMode
		wantErr       string
	}{
		{"labelled and plain", "# operators\nops:0123456789abcdef0123\n\nfedcba9876543210fedc\n", 0o600, ""},
		{"group readable", "0123456789abcdef0123\n", 0o640, "readable by group or others"},
		{"too short", "short\n", 0o600, "shorter than 16"},
		{"empty", "# nothing\n", 0o600, "holds no token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := LoadTokens(writeTokens(t, tc.content, tc.mode), false)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l, ok := ts.Match("0123456789abcdef0123"); !ok || l != "ops" {
				t.Errorf("labelled token: %q %v", l, ok)
			}
			if _, ok := ts.Match("fedcba9876543210fedc"); !ok {
				t.Error("plain token not matched")
			}
			if _, ok := ts.Match("0123456789abcdef012"); ok {
				t.Error("prefix of a token matched")
			}
			r := httptest.NewRequest("GET", "/v1/messages", nil)
			r.Header.Set("Authorization", "Bearer 0123456789abcdef0123")
			if p := ts.principal(r); p != "token:ops" {
				t.Errorf("principal %q", p)
			}
			r.Header.Set("Authorization", "Basic 0123456789abcdef0123")
			if p := ts.principal(r); p != "" {
				t.Errorf("basic auth accepted as %q", p)
			}
		})
	}
}

func TestTokenSetReplace(t *testing.T) {
	old, err := LoadTokens(writeTokens(t, "a:0123456789abcdef0123\n", 0o600), false)
	if err != nil {
		t.Fatal(err)
	}
	next, err := LoadTokens(writeTokens(t, "b:fedcba9876543210fedc\n", 0o600), false)
	if err != nil {
		t.Fatal(err)
	}
	old.Replace(next)
	if _, ok := old.Match("0123456789abcdef0123"); ok {
		t.Error("revoked token still accepted after Replace")
	}
	if l, ok := old.Match("fedcba9876543210fedc"); !ok || l != "b" {
		t.Errorf("new token: %q %v", l, ok)
	}
}

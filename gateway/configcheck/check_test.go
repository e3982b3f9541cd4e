package configcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// A file that cannot be read is one configuration error, and no
// configuration is returned.
func TestCheckUnreadableFile(t *testing.T) {
	rep := Check(context.Background(), Options{ConfigPath: filepath.Join(t.TempDir(), "missing.yaml")})
	if rep.Config != nil || rep.Count(LevelError) != 1 || !errors.Is(rep.Err(), config.ErrConfig) {
		t.Fatalf("config %v, %d errors, err %v; want none, 1 and ErrConfig", rep.Config, rep.Count(LevelError), rep.Err())
	}
}

// A certificate is fine until ExpiryWarning before its end, a warning
// from then on and after it; never an error.
func TestExpiryLevels(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		left  time.Duration
		level string
		text  string
	}{
		{ExpiryWarning + time.Hour, LevelOK, "valid until"},
		{ExpiryWarning - time.Hour, LevelWarning, "days left"},
		{-time.Hour, LevelWarning, "expired on"},
	} {
		c := &checker{rep: &Report{}, now: now}
		c.expiry("mailboxes[0].cipher", "cipher certificate", &x509.Certificate{NotAfter: now.Add(tc.left)})
		if len(c.rep.Findings) != 1 {
			t.Fatalf("%s left: %d findings", tc.left, len(c.rep.Findings))
		}
		if f := c.rep.Findings[0]; f.Level != tc.level || !strings.Contains(f.Text, tc.text) || f.Key != "mailboxes[0].cipher" || c.rep.Err() != nil {
			t.Errorf("%s left: %+v, want %s saying %q", tc.left, f, tc.level, tc.text)
		}
	}
}

// A folder that does not exist yet is writable when its nearest existing
// parent is; one below a file is not.
func TestWritableDir(t *testing.T) {
	dir := t.TempDir()
	if err := writableDir(filepath.Join(dir, "a", "b")); err != nil {
		t.Errorf("a new folder in a writable one: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writableDir(filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a folder below a file: %v", err)
	}
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeConfig writes s as gateway.yaml into a new directory and returns
// its path.
func writeConfig(t *testing.T, s string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// validated decodes s and validates it; err is the first that failed.
func validated(s string) (*Config, error) {
	c, err := Decode(strings.NewReader(s))
	if err == nil {
		err = c.Validate()
	}
	return c, err
}

// refused decodes s, which must decode, and returns why its validation
// fails, which must be ErrConfig.
func refused(t *testing.T, s string) error {
	t.Helper()
	c, err := Decode(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v", err)
	}
	return err
}

// withSection validates validConfig with yaml added. With wantErr it fails
// unless that is refused naming wantErr without repeating secret, and
// returns nil; without, it fails unless that is valid, and returns it.
func withSection(t *testing.T, yaml, wantErr, secret string) *Config {
	t.Helper()
	c, err := validated(validConfig + "\n" + yaml + "\n")
	if wantErr != "" {
		wantRefusal(t, err, wantErr, secret)
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantRefusal fails unless err names want, or if it repeats secret.
func wantRefusal(t *testing.T, err error, want, secret string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one naming %q", err, want)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error repeats the inline secret: %v", err)
	}
}

// replaced is an edit of a configuration that replaces the first old by
// new.
func replaced(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

// appended is an edit of a configuration that adds text at its end.
func appended(text string) func(string) string {
	return func(s string) string { return s + text }
}

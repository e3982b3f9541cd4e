package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimulatorCommandArguments(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notP12 := filepath.Join(dir, "x.p12")
	if err := os.WriteFile(notP12, []byte("not a keystore"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"help", []string{"simulator", "--help"}, ExitOK, ""},
		{"missing flags", []string{"simulator", "--data", dir}, ExitUsage, "required"},
		{"extra argument", []string{"simulator", "x"}, ExitUsage, "unexpected argument"},
		{"bad keystore", []string{"simulator", "--cipher-p12", notP12, "--signature-p12", notP12, "--password-file", pw, "--data", dir}, ExitFail, "cipher key"},
		{"signature password twice", []string{"simulator", "--cipher-p12", notP12, "--signature-p12", notP12, "--password-file", pw, "--signature-password-file", pw, "--signature-password-env", "X", "--data", dir}, ExitFail, "signature key: give the secret either"},
		{"password twice", []string{"simulator", "--cipher-p12", notP12, "--signature-p12", notP12, "--password-file", pw, "--password-env", "X", "--data", dir}, ExitFail, "either"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Run(&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, tc.args)
			if code != tc.code || !strings.Contains(errb.String(), tc.err) {
				t.Fatalf("code %d stderr %q", code, errb.String())
			}
		})
	}
}

package cli

import (
	"os"
	"path/filepath"
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
	runCLICases(t, nil, []cliCase{
		{"help", []string{"simulator", "--help"}, ExitOK, "", ""},
		{"missing flags", []string{"simulator", "--data", dir}, ExitUsage, "", "required"},
		{"extra argument", []string{"simulator", "x"}, ExitUsage, "", "unexpected argument"},
		{"bad keystore", []string{"simulator", "--cipher-p12", notP12, "--signature-p12", notP12, "--password-file", pw, "--data", dir}, ExitFail, "", "cipher key"},
		{"signature password twice", []string{"simulator", "--cipher-p12", notP12, "--signature-p12", notP12, "--password-file", pw, "--signature-password-file", pw, "--signature-password-env", "X", "--data", dir}, ExitFail, "", "signature key: give the secret either"},
		{"password twice", []string{"simulator", "--cipher-p12", notP12, "--signature-p12", notP12, "--password-file", pw, "--password-env", "X", "--data", dir}, ExitFail, "", "either"},
	})
}

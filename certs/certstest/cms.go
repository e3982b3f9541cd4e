package certstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SignCMS makes a detached CMS signature (DER) of data with openssl cms
// -sign, by the PEM certificate and key files given; extra are more
// openssl arguments (-certfile with the chain, -nosmimecap, ...).
func SignCMS(t testing.TB, data []byte, certFile, keyFile string, extra ...string) []byte {
	t.Helper()
	openssl := NeedTool(t, "openssl")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.p7s")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"cms", "-sign", "-binary", "-outform", "DER", "-in", in, "-out", out, "-signer", certFile, "-inkey", keyFile}
	if b, err := exec.Command(openssl, append(args, extra...)...).CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -sign: %v\n%s", err, b)
	}
	sig, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

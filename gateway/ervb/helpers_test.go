package ervb_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// detachedSignature signs data with the test PKI's mailbox signature key
// as a detached CMS signature, with openssl.
func detachedSignature(t *testing.T, data []byte) []byte {
	t.Helper()
	openssl := certstest.NeedTool(t, "openssl")
	dir := t.TempDir()
	in := filepath.Join(dir, "doc")
	out := filepath.Join(dir, "doc.p7s")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "cms", "-sign", "-binary", "-outform", "DER", "-in", in, "-out", out,
		"-signer", certstest.PKIPath(t, "mailbox-signature.pem"), "-inkey", certstest.PKIPath(t, "mailbox-signature.key"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, b)
	}
	sig, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

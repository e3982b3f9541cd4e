package xmlsec

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// TestInteropOpenSSLPSS checks RSA-PSS (sha256-rsa-MGF1, salt = 32) against
// OpenSSL in both directions, since Debian's xmlsec1 1.2 has no PSS: our
// SignatureValue verifies with openssl dgst over the canonical SignedInfo,
// and a SignatureValue made by openssl over our SignedInfo verifies here.
func TestInteropOpenSSLPSS(t *testing.T) {
	openssl := certstest.NeedTool(t, "openssl")
	dir := t.TempDir()
	keys := filepath.Join("testdata", "keys")
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return out
	}
	pub := filepath.Join(dir, "pub.pem")
	run("x509", "-in", filepath.Join(keys, "signer.crt"), "-pubkey", "-noout", "-out", pub)
	pss := []string{"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256"}

	msg := signedMessage(t, []string{"#controlblock", "#body"}, SignOptions{Algorithm: SignatureRSAPSSSHA256})
	v, err := verifyBytes(t, msg, signerPolicy(t))
	if err != nil {
		t.Fatal(err)
	}
	doc := mustParse(t, string(msg))
	sigValue, err := decodeBase64(doc.Root().FindElement(".//ds:SignatureValue").Text())
	if err != nil {
		t.Fatal(err)
	}
	siFile, sigFile := filepath.Join(dir, "signedinfo"), filepath.Join(dir, "sig")
	os.WriteFile(siFile, v.SignedInfo, 0o600)
	os.WriteFile(sigFile, sigValue, 0o600)
	t.Run("openssl verifies ours", func(t *testing.T) {
		args := append([]string{"dgst", "-sha256", "-verify", pub}, pss...)
		run(append(args, "-signature", sigFile, siFile)...)
	})
	t.Run("we verify openssl's", func(t *testing.T) {
		theirs := filepath.Join(dir, "theirs")
		args := append([]string{"dgst", "-sha256", "-sign", filepath.Join(keys, "signer.key")}, pss...)
		run(append(args, "-out", theirs, siFile)...)
		doc.Root().FindElement(".//ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(certstest.ReadFile(t, theirs)))
		if _, err := verifyBytes(t, serialize(t, doc), signerPolicy(t)); err != nil {
			t.Fatal(err)
		}
	})
}

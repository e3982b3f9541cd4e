package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// xmlsecTestdata is osci/xmlsec's test data (keys, C14N corpus).
func xmlsecTestdata(t testing.TB) string {
	return filepath.Join(certstest.RepoRoot(t), "osci", "xmlsec", "testdata")
}

func runXMLCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(&Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}, args)
	return code, out.String(), errOut.String()
}

// copyPrivate copies a key file into dir with mode 0600, as the key
// loaders require.
func copyPrivate(t *testing.T, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

const xmlCLIMessage = `<soap:Envelope xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:osci="http://www.osci.de/2002/04/osci" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<soap:Header><osci:ControlBlock Id="controlblock" SequenceNumber="0"/><osci:ClientSignature Id="clientsignature"/>` +
	`<osci:SignatureCertificateOriginator Id="originator_signature_1"><ds:X509Data><ds:X509Certificate>CERT</ds:X509Certificate></ds:X509Data></osci:SignatureCertificateOriginator></soap:Header>` +
	`<soap:Body Id="body"><osci:Content>Hallo</osci:Content></soap:Body></soap:Envelope>`

func TestXMLC14NCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ext  string
	}{
		{"inclusive", nil, ".c14n"},
		{"exclusive", []string{"--exclusive"}, ".exc-c14n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(xmlsecTestdata(t), "c14n", "32-soap-osci.xml")
			code, out, errOut := runXMLCLI(t, append(append([]string{"xml", "c14n"}, tc.args...), in)...)
			want, err := os.ReadFile(strings.TrimSuffix(in, ".xml") + tc.ext)
			if err != nil {
				t.Fatal(err)
			}
			if code != ExitOK || out != string(want) {
				t.Fatalf("code %d, stderr %q\n got %q\nwant %q", code, errOut, out, want)
			}
		})
	}
	t.Run("doctype refused", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "x.xml")
		os.WriteFile(f, []byte(`<!DOCTYPE r><r/>`), 0o600)
		if code, _, errOut := runXMLCLI(t, "xml", "c14n", f); code != ExitFail || !strings.Contains(errOut, "doctype") {
			t.Fatalf("code %d, stderr %q", code, errOut)
		}
	})
}

func TestXMLSignVerifyCommands(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(xmlsecTestdata(t), "keys")
	key := copyPrivate(t, filepath.Join(keys, "signer.key"), dir)
	p12 := copyPrivate(t, filepath.Join(keys, "signer.p12"), dir)
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("test-only\n"), 0o600)
	cert := filepath.Join(keys, "signer.crt")
	certPEM, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	b64 := base64.StdEncoding.EncodeToString(block.Bytes)
	msg := filepath.Join(dir, "msg.xml")
	os.WriteFile(msg, []byte(strings.Replace(xmlCLIMessage, "CERT", b64, 1)), 0o600)

	att := filepath.Join(dir, "att.bin")
	os.WriteFile(att, []byte("attachment octets"), 0o600)
	signedCID := filepath.Join(dir, "signed-cid.xml")
	signedPEM := filepath.Join(dir, "signed-pem.xml")
	signedP12 := filepath.Join(dir, "signed-p12.xml")
	steps := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"sign with PEM key", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "body", "--ref", "controlblock", "--out", signedPEM, msg}, ExitOK, ""},
		{"verify pinned", []string{"xml", "verify", "--pin", cert, "--require", "body", "--require", "controlblock", signedPEM}, ExitOK, "valid: signed by"},
		{"sign with PKCS#12, PSS, into, retrieval", []string{"xml", "sign", "--p12", p12, "--password-file", pw, "--alg", "rsa-pss-sha256",
			"--into", "clientsignature", "--retrieval", "originator_signature_1", "--ref", "body", "--ref", "controlblock", "--out", signedP12, msg}, ExitOK, ""},
		{"verify PSS signature in holder", []string{"xml", "verify", "--pin", cert, "--signature-in", "clientsignature", "--require", "controlblock", signedP12}, ExitOK, "sha256-rsa-MGF1"},
		{"sign an attachment", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "body", "--ref", "cid:att", "--part", "att=" + att, "--out", signedCID, msg}, ExitOK, ""},
		{"verify an attachment", []string{"xml", "verify", "--pin", cert, "--require", "cid:att", "--part", "att=" + att, signedCID}, ExitOK, "cid:att"},
		{"attachment missing", []string{"xml", "verify", "--pin", cert, signedCID}, ExitFail, ""},
		{"attachment altered", []string{"xml", "verify", "--pin", cert, "--part", "att=" + msg, signedCID}, ExitFail, ""},
		{"required id not signed", []string{"xml", "verify", "--pin", cert, "--require", "originator_signature_1", signedPEM}, ExitFail, ""},
		{"untrusted signer", []string{"xml", "verify", "--pin", filepath.Join(keys, "attacker.crt"), signedPEM}, ExitFail, ""},
		{"unsigned file", []string{"xml", "verify", "--pin", cert, msg}, ExitFail, ""},
		{"verify without trust", []string{"xml", "verify", signedPEM}, ExitUsage, ""},
		{"sign without ref", []string{"xml", "sign", "--key", key, "--cert", cert, msg}, ExitUsage, ""},
		{"sign with bad alg", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "body", "--alg", "rsa-sha1", msg}, ExitUsage, ""},
		{"sign with both key kinds", []string{"xml", "sign", "--key", key, "--cert", cert, "--p12", p12, "--ref", "body", msg}, ExitUsage, ""},
		{"sign unknown id", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "nothere", msg}, ExitFail, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errOut := runXMLCLI(t, s.args...)
			if code != s.code || !strings.Contains(out, s.out) {
				t.Fatalf("code %d (want %d)\nstdout %q\nstderr %q", code, s.code, out, errOut)
			}
		})
	}
	t.Run("tampered", func(t *testing.T) {
		b, _ := os.ReadFile(signedPEM)
		bad := filepath.Join(dir, "bad.xml")
		os.WriteFile(bad, bytes.Replace(b, []byte("Hallo"), []byte("Hallö"), 1), 0o600)
		code, _, errOut := runXMLCLI(t, "xml", "verify", "--pin", cert, bad)
		if code != ExitFail || !strings.Contains(errOut, "digest mismatch") {
			t.Fatalf("code %d stderr %q", code, errOut)
		}
	})
}

package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
)

// xmlsecTestdata is osci/xmlsec's test data (keys, C14N corpus).
func xmlsecTestdata(t testing.TB) string {
	return filepath.Join(certstest.RepoRoot(t), "osci", "xmlsec", "testdata")
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
			code, out, errOut := runCLI(t, nil, append(append([]string{"xml", "c14n"}, tc.args...), in)...)
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
		if code, _, errOut := runCLI(t, nil, "xml", "c14n", f); code != ExitFail || !strings.Contains(errOut, "doctype") {
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
	runCLICases(t, nil, []cliCase{
		{"sign with PEM key", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "body", "--ref", "controlblock", "--out", signedPEM, msg}, ExitOK, "", ""},
		{"verify pinned", []string{"xml", "verify", "--pin", cert, "--require", "body", "--require", "controlblock", signedPEM}, ExitOK, "valid: signed by", ""},
		{"sign with PKCS#12, PSS, into, retrieval", []string{"xml", "sign", "--p12", p12, "--password-file", pw, "--alg", "rsa-pss-sha256",
			"--into", "clientsignature", "--retrieval", "originator_signature_1", "--ref", "body", "--ref", "controlblock", "--out", signedP12, msg}, ExitOK, "", ""},
		{"verify PSS signature in holder", []string{"xml", "verify", "--pin", cert, "--signature-in", "clientsignature", "--require", "controlblock", signedP12}, ExitOK, "sha256-rsa-MGF1", ""},
		{"sign an attachment", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "body", "--ref", "cid:att", "--part", "att=" + att, "--out", signedCID, msg}, ExitOK, "", ""},
		{"verify an attachment", []string{"xml", "verify", "--pin", cert, "--require", "cid:att", "--part", "att=" + att, signedCID}, ExitOK, "cid:att", ""},
		{"attachment missing", []string{"xml", "verify", "--pin", cert, signedCID}, ExitFail, "", ""},
		{"attachment altered", []string{"xml", "verify", "--pin", cert, "--part", "att=" + msg, signedCID}, ExitFail, "", ""},
		{"required id not signed", []string{"xml", "verify", "--pin", cert, "--require", "originator_signature_1", signedPEM}, ExitFail, "", ""},
		{"untrusted signer", []string{"xml", "verify", "--pin", filepath.Join(keys, "attacker.crt"), signedPEM}, ExitFail, "", ""},
		{"unsigned file", []string{"xml", "verify", "--pin", cert, msg}, ExitFail, "", ""},
		{"verify without trust", []string{"xml", "verify", signedPEM}, ExitUsage, "", ""},
		{"sign without ref", []string{"xml", "sign", "--key", key, "--cert", cert, msg}, ExitUsage, "", ""},
		{"sign with bad alg", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "body", "--alg", "rsa-sha1", msg}, ExitUsage, "", ""},
		{"sign with both key kinds", []string{"xml", "sign", "--key", key, "--cert", cert, "--p12", p12, "--ref", "body", msg}, ExitUsage, "", ""},
		{"sign unknown id", []string{"xml", "sign", "--key", key, "--cert", cert, "--ref", "nothere", msg}, ExitFail, "", ""},
	})
	t.Run("tampered", func(t *testing.T) {
		b, _ := os.ReadFile(signedPEM)
		bad := filepath.Join(dir, "bad.xml")
		os.WriteFile(bad, bytes.Replace(b, []byte("Hallo"), []byte("Hallö"), 1), 0o600)
		code, _, errOut := runCLI(t, nil, "xml", "verify", "--pin", cert, bad)
		if code != ExitFail || !strings.Contains(errOut, "digest mismatch") {
			t.Fatalf("code %d stderr %q", code, errOut)
		}
	})
}

// xmlencVectors returns the reference library's sample certificate directory.
func xmlencVectors(t *testing.T) string {
	t.Helper()
	return filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "certs")
}

// xmlencKeyFiles writes name's keystore (mode 0600), its password file and
// its key as PEM into dir.
func xmlencKeyFiles(t *testing.T, dir, name string) (p12, pwFile, keyPEM string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(xmlencVectors(t), name+".p12"))
	if err != nil {
		t.Fatal(err)
	}
	p12 = filepath.Join(dir, name+".p12")
	pwFile = filepath.Join(dir, name+".pw")
	keyPEM = filepath.Join(dir, name+".key")
	key, _, _ := certstest.ReferenceKey(t, name)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{p12: data, pwFile: []byte("123456\n"), keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p12, pwFile, keyPEM
}

const xmlencSample = `<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:osci="http://www.osci.de/2002/04/osci"><soap:Body Id="body"><osci:Content Id="c1">Schriftsatz &amp; Anlagen</osci:Content></soap:Body></soap:Envelope>`

func TestXMLEncryptDecryptCLI(t *testing.T) {
	dir := t.TempDir()
	vec := xmlencVectors(t)
	in := filepath.Join(dir, "in.xml")
	if err := os.WriteFile(in, []byte(xmlencSample), 0o600); err != nil {
		t.Fatal(err)
	}
	bobP12, bobPW, bobKey := xmlencKeyFiles(t, dir, "bob_cipher_4096")
	_, _, carolKey := xmlencKeyFiles(t, dir, "carol_cipher_4096")

	for _, target := range []string{"c1", ""} {
		enc := filepath.Join(dir, "enc-"+target+".xml")
		args := []string{"xml", "encrypt", "--cert", filepath.Join(vec, "alice_cipher_4096.cer"), "--cert", filepath.Join(vec, "bob_cipher_4096.cer"), "--out", enc}
		if target != "" {
			args = append(args, "--element", target)
		}
		if code, _, stderr := runCLI(t, nil, append(args, in)...); code != ExitOK {
			t.Fatalf("encrypt %q: %d %s", target, code, stderr)
		}
		wire, _ := os.ReadFile(enc)
		if strings.Contains(string(wire), "Schriftsatz") || strings.Count(string(wire), "</xenc:EncryptedKey>") != 2 {
			t.Fatalf("encrypted output:\n%s", wire)
		}
		cases := []struct {
			name string
			args []string
			code int
			want string
		}{
			{"p12", []string{"--p12", bobP12, "--password-file", bobPW}, ExitOK, "Schriftsatz &amp; Anlagen</osci:Content>"},
			{"pem key", []string{"--key", bobKey}, ExitOK, "Schriftsatz &amp; Anlagen</osci:Content>"},
			{"not a recipient", []string{"--key", carolKey}, ExitFail, "xmlenc: decryption failed"},
		}
		for _, c := range cases {
			t.Run(target+" "+c.name, func(t *testing.T) {
				code, stdout, stderr := runCLI(t, nil, append(append([]string{"xml", "decrypt"}, c.args...), enc)...)
				if code != c.code || !strings.Contains(stdout+stderr, c.want) {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
				}
				if code == ExitFail && stdout != "" {
					t.Fatalf("output written on failure: %q", stdout)
				}
			})
		}
	}
}

// TestXMLDecryptCLIReference decrypts an untyped EncryptedData whose
// ciphertext is a cid: part given with --part, into --out.
func TestXMLDecryptCLIReference(t *testing.T) {
	dir := t.TempDir()
	_, _, bobKey := xmlencKeyFiles(t, dir, "bob_cipher_4096")
	cs, err := certs.LoadCertificates(filepath.Join(xmlencVectors(t), "bob_cipher_4096.cer"))
	if err != nil {
		t.Fatal(err)
	}
	var part bytes.Buffer
	plain := strings.Repeat("Anlage ", 10000)
	ed, _, err := (&xmlenc.Encrypter{Recipients: []xmlenc.Recipient{{Cert: cs[0]}}, DeclareNamespaces: true, MimeType: "application/pdf"}).EncryptStream(&part, strings.NewReader(plain), "anlage.pdf")
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(ed)
	xmlPath, partPath, out := filepath.Join(dir, "ed.xml"), filepath.Join(dir, "part.bin"), filepath.Join(dir, "out.pdf")
	doc.WriteToFile(xmlPath)
	os.WriteFile(partPath, part.Bytes(), 0o600)

	if code, _, stderr := runCLI(t, nil, "xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, "--out", out, xmlPath); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != plain {
		t.Fatal("plaintext differs")
	}
	// To stdout the part is spooled instead of read in place.
	if code, stdout, stderr := runCLI(t, nil, "xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, xmlPath); code != ExitOK || stdout != plain {
		t.Fatalf("stdout: exit %d, %d bytes: %s", code, len(stdout), stderr)
	}
	// A tampered part fails and leaves no output file behind.
	b := part.Bytes()
	b[len(b)/2] ^= 1
	os.WriteFile(partPath, b, 0o600)
	os.Remove(out)
	if code, _, stderr := runCLI(t, nil, "xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, "--out", out, xmlPath); code != ExitFail || !strings.Contains(stderr, "decryption failed") {
		t.Fatalf("tampered: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := runCLI(t, nil, "xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, xmlPath); code != ExitFail || stdout != "" {
		t.Fatalf("tampered to stdout: exit %d, %d bytes released", code, len(stdout))
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 5 {
		t.Fatalf("leftover files after failure: %v", ents)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("output written for a tampered part")
	}
}

func TestXMLEncCLIUsage(t *testing.T) {
	dir := t.TempDir()
	_, _, key := xmlencKeyFiles(t, dir, "bob_cipher_4096")
	loose := filepath.Join(dir, "loose.key")
	b, _ := os.ReadFile(key)
	os.WriteFile(loose, b, 0o644)
	os.Chmod(loose, 0o644)
	in := filepath.Join(dir, "in.xml")
	os.WriteFile(in, []byte(xmlencSample), 0o600)
	runCLICases(t, nil, []cliCase{
		{"encrypt without cert", []string{"xml", "encrypt", in}, ExitUsage, "", ""},
		{"encrypt without file", []string{"xml", "encrypt", "--cert", key}, ExitUsage, "", ""},
		{"encrypt unknown element", []string{"xml", "encrypt", "--cert", filepath.Join(xmlencVectors(t), "bob_cipher_4096.cer"), "--element", "nope", in}, ExitFail, "", ""},
		{"decrypt without key", []string{"xml", "decrypt", in}, ExitUsage, "", ""},
		{"decrypt with p12 and key", []string{"xml", "decrypt", "--p12", "a", "--key", key, in}, ExitUsage, "", ""},
		{"decrypt bad part flag", []string{"xml", "decrypt", "--key", key, "--part", "nofile", in}, ExitUsage, "", ""},
		{"decrypt key readable by others", []string{"xml", "decrypt", "--key", loose, in}, ExitFail, "", ""},
		{"decrypt nothing encrypted", []string{"xml", "decrypt", "--key", key, in}, ExitFail, "", ""},
		{"help", []string{"xml", "decrypt", "--help"}, ExitOK, "", ""},
	})
}

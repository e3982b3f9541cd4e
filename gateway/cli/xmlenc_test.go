package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
)

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

func runXMLEnc(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Run(&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
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
		if code, _, stderr := runXMLEnc(append(args, in)...); code != ExitOK {
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
				code, stdout, stderr := runXMLEnc(append(append([]string{"xml", "decrypt"}, c.args...), enc)...)
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

	if code, _, stderr := runXMLEnc("xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, "--out", out, xmlPath); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(out); string(got) != plain {
		t.Fatal("plaintext differs")
	}
	// To stdout the part is spooled instead of read in place.
	if code, stdout, stderr := runXMLEnc("xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, xmlPath); code != ExitOK || stdout != plain {
		t.Fatalf("stdout: exit %d, %d bytes: %s", code, len(stdout), stderr)
	}
	// A tampered part fails and leaves no output file behind.
	b := part.Bytes()
	b[len(b)/2] ^= 1
	os.WriteFile(partPath, b, 0o600)
	os.Remove(out)
	if code, _, stderr := runXMLEnc("xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, "--out", out, xmlPath); code != ExitFail || !strings.Contains(stderr, "decryption failed") {
		t.Fatalf("tampered: exit %d: %s", code, stderr)
	}
	if code, stdout, _ := runXMLEnc("xml", "decrypt", "--key", bobKey, "--part", "anlage.pdf="+partPath, xmlPath); code != ExitFail || stdout != "" {
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
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"encrypt without cert", []string{"xml", "encrypt", in}, ExitUsage},
		{"encrypt without file", []string{"xml", "encrypt", "--cert", key}, ExitUsage},
		{"encrypt unknown element", []string{"xml", "encrypt", "--cert", filepath.Join(xmlencVectors(t), "bob_cipher_4096.cer"), "--element", "nope", in}, ExitFail},
		{"decrypt without key", []string{"xml", "decrypt", in}, ExitUsage},
		{"decrypt with p12 and key", []string{"xml", "decrypt", "--p12", "a", "--key", key, in}, ExitUsage},
		{"decrypt bad part flag", []string{"xml", "decrypt", "--key", key, "--part", "nofile", in}, ExitUsage},
		{"decrypt key readable by others", []string{"xml", "decrypt", "--key", loose, in}, ExitFail},
		{"decrypt nothing encrypted", []string{"xml", "decrypt", "--key", key, in}, ExitFail},
		{"help", []string{"xml", "decrypt", "--help"}, ExitOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, _, stderr := runXMLEnc(c.args...); code != c.code {
				t.Fatalf("exit %d, want %d: %s", code, c.code, stderr)
			}
		})
	}
}

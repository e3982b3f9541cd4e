package xmlsec

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// Interoperability: independent implementations verify what we sign, and
// we verify what they sign (xmlsec1, the JDK's XML-DSig, OpenSSL for
// RSA-PSS).

// xmlsec1IDArgs declares the Id attributes xmlsec1 must know (it resolves
// "#x" only for declared ID attributes).
var xmlsec1IDArgs = []string{
	"--id-attr:Id", "Body", "--id-attr:Id", "ControlBlock", "--id-attr:Id", "NonIntermediaryCertificates",
}

func runXmlsec1(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := certstest.NeedTool(t, "xmlsec1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	return string(out), err
}

func xmlsec1Verify(t *testing.T, msg []byte) (string, error) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "msg.xml")
	if err := os.WriteFile(f, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--verify", "--trusted-pem", filepath.Join("testdata", "keys", "signer.crt")}, xmlsec1IDArgs...)
	return runXmlsec1(t, append(args, f)...)
}

// xmlsec1Sign has xmlsec1 sign a template of testdata/interop with the
// signer key, declaring idArgs.
func xmlsec1Sign(t *testing.T, template string, idArgs ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "signed.xml")
	keys := filepath.Join("testdata", "keys")
	args := append([]string{"--sign", "--privkey-pem", filepath.Join(keys, "signer.key") + "," + filepath.Join(keys, "signer.crt")}, idArgs...)
	args = append(args, "--output", out, filepath.Join("testdata", "interop", template))
	if msg, err := runXmlsec1(t, args...); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
	}
	return certstest.ReadFile(t, out)
}

// peerCase is a message we sign with o, changed by mutate, and whether a
// peer and we must accept it.
type peerCase struct {
	name   string
	o      SignOptions
	mutate func([]byte) []byte
	ok     bool
}

// peerRefs are the references of the messages peerCases sign.
var peerRefs = []string{"#controlblock", "#body", "#nonintermediarycertificates"}

func tamperControlBlock(b []byte) []byte {
	return bytes.Replace(b, []byte(`SequenceNumber="0"`), []byte(`SequenceNumber="1"`), 1)
}

func TestInteropXmlsec1SignsWeVerify(t *testing.T) {
	// Two Id references, and an attribute-ordering trap in the Body that
	// goxmldsig's C14N gets wrong.
	signed := xmlsec1Sign(t, "xmlsec1-template.xml", xmlsec1IDArgs...)
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"as signed", func(b []byte) []byte { return b }, nil},
		{"tampered body", func(b []byte) []byte {
			return bytes.Replace(b, []byte("Hallo Welt"), []byte("Hallo Welf"), 1)
		}, ErrDigestMismatch},
		// xmlsec1 only sees Ids on the element types named by --id-attr, so
		// the copy is a second soap:Body; we reject any repeated Id value.
		{"duplicate id", func(b []byte) []byte {
			return bytes.Replace(b, []byte("</soap:Header>"), []byte(`<soap:Body Id="body"/></soap:Header>`), 1)
		}, ErrDuplicateID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.mutate(bytes.Clone(signed))
			v, err := verifyBytes(t, msg, VerifyPolicy{Keys: pinned(loadKeyPair(t, "signer").Cert), Required: []string{"#body", "#controlblock"}})
			if !errors.Is(err, tc.want) {
				t.Fatalf("we: got %v, want %v", err, tc.want)
			}
			out, xerr := xmlsec1Verify(t, msg)
			if (xerr == nil) != (tc.want == nil) {
				t.Fatalf("xmlsec1 disagrees: err=%v\n%s", xerr, out)
			}
			if tc.want == nil && len(v.References) != 2 {
				t.Fatalf("verified %d references", len(v.References))
			}
		})
	}
}

func TestInteropWeSignXmlsec1Verifies(t *testing.T) {
	tests := []peerCase{
		{"rsa-sha256 inclusive", SignOptions{}, nil, true},
		{"rsa-sha512 exclusive sha512", SignOptions{Algorithm: SignatureRSASHA512, DigestMethod: SHA512, Canonicalization: ExcC14N10}, nil, true},
		{"tampered control block", SignOptions{}, tamperControlBlock, false},
		{"duplicate id", SignOptions{}, func(b []byte) []byte {
			return bytes.Replace(b, []byte("</soap:Header>"), []byte(`<osci:ControlBlock Id="controlblock"/></soap:Header>`), 1)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := signedMessage(t, peerRefs, tc.o)
			if tc.mutate != nil {
				msg = tc.mutate(msg)
			}
			out, err := xmlsec1Verify(t, msg)
			if (err == nil) != tc.ok {
				t.Fatalf("xmlsec1 --verify: err=%v, want ok=%v\n%s", err, tc.ok, out)
			}
			if tc.ok && !strings.Contains(out, "SignedInfo References (ok/all): 3/3") {
				t.Fatalf("xmlsec1 output:\n%s", out)
			}
			_, ours := verifyBytes(t, msg, signerPolicy(t))
			if (ours == nil) != tc.ok {
				t.Fatalf("we: %v, want ok=%v", ours, tc.ok)
			}
		})
	}
}

// TestInteropXmlsec1WholeDocument: xmlsec1 signs the whole document
// (URI="", enveloped-signature, ds elements in the default namespace).
// We verify it only when the policy allows whole-document references.
func TestInteropXmlsec1WholeDocument(t *testing.T) {
	signed := xmlsec1Sign(t, "xmlsec1-whole-document-template.xml")
	tests := []struct {
		name  string
		msg   []byte
		allow bool
		want  error
	}{
		{"allowed", signed, true, nil},
		{"not allowed by policy", signed, false, ErrURINotAllowed},
		{"tampered", bytes.Replace(signed, []byte("payload"), []byte("paylaod"), 1), true, ErrDigestMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := VerifyPolicy{Keys: pinned(loadKeyPair(t, "signer").Cert), AllowWholeDocument: tc.allow}
			v, err := verifyBytes(t, tc.msg, p)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil && (len(v.References) != 1 || bytes.Contains(v.References[0].Canonical, []byte("SignatureValue"))) {
				t.Fatalf("verified %+v", v.References)
			}
		})
	}
}

// TestInteropWeSignJavaVerifies has the JDK's XML-DSig implementation
// (javax.xml.crypto.dsig) verify what we sign with the SignatureAlgorithms. Debian's xmlsec1 1.2
// has no RSA-PSS (xmlsec1 --list-transforms), so this is the independent
// check of our RSA-PSS signatures as a whole: C14N, digests and the PSS
// parameters (MGF1 of the same hash, salt = hash length).
func TestInteropWeSignJavaVerifies(t *testing.T) {
	java := certstest.NeedTool(t, "java")
	tests := []peerCase{
		{"rsa-sha256", SignOptions{}, nil, true},
		{"rsa-pss-sha256", SignOptions{Algorithm: SignatureRSAPSSSHA256}, nil, true},
		{"rsa-pss-sha512 sha512 digests", SignOptions{Algorithm: SignatureRSAPSSSHA512, DigestMethod: SHA512}, nil, true},
		{"rsa-pss-sha256 exclusive", SignOptions{Algorithm: SignatureRSAPSSSHA256, Canonicalization: ExcC14N10}, nil, true},
		{"rsa-pss-sha256 tampered control block", SignOptions{Algorithm: SignatureRSAPSSSHA256}, tamperControlBlock, false},
		{"rsa-pss-sha256 labelled rsa-sha256", SignOptions{Algorithm: SignatureRSAPSSSHA256}, func(b []byte) []byte {
			return bytes.Replace(b, []byte(RSAPSSSHA256), []byte(RSASHA256), 1)
		}, false},
		// The base64 transform, as OSCI content signatures reference inline
		// Content: the JDK decodes the element's text and digests that.
		{"base64 transform", SignOptions{Base64IDs: map[string]bool{"originator_signature_1": true}}, nil, true},
		{"base64 transform, text changed", SignOptions{Base64IDs: map[string]bool{"originator_signature_1": true}}, func(b []byte) []byte {
			at := bytes.Index(b, []byte(`Id="originator_signature_1"`))
			i := at + bytes.Index(b[at:], []byte("<ds:X509Certificate>")) + len("<ds:X509Certificate>")
			c := append([]byte(nil), b...)
			if c[i+100] == 'A' { // another base64 letter: other decoded octets
				c[i+100] = 'B'
			} else {
				c[i+100] = 'A'
			}
			return c
		}, false},
	}
	dir := t.TempDir()
	var files []string
	for i, tc := range tests {
		r := peerRefs
		if tc.o.Base64IDs != nil {
			r = append(append([]string(nil), peerRefs...), "#originator_signature_1")
		}
		msg := signedMessage(t, r, tc.o)
		if tc.mutate != nil {
			msg = tc.mutate(msg)
		}
		f := filepath.Join(dir, string(rune('a'+i))+".xml")
		if err := os.WriteFile(f, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := append([]string{filepath.Join("testdata", "interop", "VerifyDSig.java"), filepath.Join("testdata", "keys", "signer.crt")}, files...)
	out, err := exec.CommandContext(ctx, java, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, out)
	}
	verdicts := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f, v, ok := strings.Cut(line, ": "); ok {
			verdicts[f] = v
		}
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := verdicts[files[i]]
			want := "invalid"
			if tc.ok {
				want = "valid " + tc.o.Algorithm.URI()
			}
			if v != want && !(!tc.ok && strings.HasPrefix(v, "invalid")) {
				t.Fatalf("java: %q, want %q\n%s", v, want, out)
			}
			_, ours := verifyBytes(t, certstest.ReadFile(t, files[i]), signerPolicy(t))
			if (ours == nil) != tc.ok {
				t.Fatalf("we: %v, want ok=%v", ours, tc.ok)
			}
		})
	}
}

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

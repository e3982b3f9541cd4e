package xmlsec

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

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

// xmlsec1Signed has xmlsec1 sign the template (two Id references, and an
// attribute-ordering trap in the Body that goxmldsig's C14N gets wrong).
func xmlsec1Signed(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "signed.xml")
	keys := filepath.Join("testdata", "keys")
	args := append([]string{"--sign", "--privkey-pem", filepath.Join(keys, "signer.key") + "," + filepath.Join(keys, "signer.crt")}, xmlsec1IDArgs...)
	args = append(args, "--output", out, filepath.Join("testdata", "interop", "xmlsec1-template.xml"))
	if msg, err := runXmlsec1(t, args...); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
	}
	return certstest.ReadFile(t, out)
}

func TestInteropXmlsec1SignsWeVerify(t *testing.T) {
	signed := xmlsec1Signed(t)
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
	refs := []string{"#controlblock", "#body", "#nonintermediarycertificates"}
	tests := []struct {
		name   string
		o      SignOptions
		mutate func([]byte) []byte
		ok     bool
	}{
		{"rsa-sha256 inclusive", SignOptions{}, nil, true},
		{"rsa-sha512 exclusive sha512", SignOptions{Algorithm: SignatureRSASHA512, DigestMethod: SHA512, Canonicalization: ExcC14N10}, nil, true},
		{"tampered control block", SignOptions{}, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`SequenceNumber="0"`), []byte(`SequenceNumber="1"`), 1)
		}, false},
		{"duplicate id", SignOptions{}, func(b []byte) []byte {
			return bytes.Replace(b, []byte("</soap:Header>"), []byte(`<osci:ControlBlock Id="controlblock"/></soap:Header>`), 1)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := signedMessage(t, refs, tc.o)
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
	out := filepath.Join(t.TempDir(), "signed.xml")
	keys := filepath.Join("testdata", "keys")
	if msg, err := runXmlsec1(t, "--sign", "--privkey-pem", filepath.Join(keys, "signer.key")+","+filepath.Join(keys, "signer.crt"),
		"--output", out, filepath.Join("testdata", "interop", "xmlsec1-whole-document-template.xml")); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
	}
	signed := certstest.ReadFile(t, out)
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

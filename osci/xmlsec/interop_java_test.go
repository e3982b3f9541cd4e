package xmlsec

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// TestInteropWeSignJavaVerifies has the JDK's XML-DSig implementation
// (javax.xml.crypto.dsig) verify what we sign with the SignatureAlgorithms. Debian's xmlsec1 1.2
// has no RSA-PSS (xmlsec1 --list-transforms), so this is the independent
// check of our RSA-PSS signatures as a whole: C14N, digests and the PSS
// parameters (MGF1 of the same hash, salt = hash length).
func TestInteropWeSignJavaVerifies(t *testing.T) {
	java := certstest.NeedTool(t, "java")
	refs := []string{"#controlblock", "#body", "#nonintermediarycertificates"}
	tests := []struct {
		name   string
		o      SignOptions
		mutate func([]byte) []byte
		ok     bool
	}{
		{"rsa-sha256", SignOptions{}, nil, true},
		{"rsa-pss-sha256", SignOptions{Algorithm: SignatureRSAPSSSHA256}, nil, true},
		{"rsa-pss-sha512 sha512 digests", SignOptions{Algorithm: SignatureRSAPSSSHA512, DigestMethod: SHA512}, nil, true},
		{"rsa-pss-sha256 exclusive", SignOptions{Algorithm: SignatureRSAPSSSHA256, Canonicalization: ExcC14N10}, nil, true},
		{"rsa-pss-sha256 tampered control block", SignOptions{Algorithm: SignatureRSAPSSSHA256}, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`SequenceNumber="0"`), []byte(`SequenceNumber="1"`), 1)
		}, false},
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
		r := refs
		if tc.o.Base64IDs != nil {
			r = append(append([]string(nil), refs...), "#originator_signature_1")
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

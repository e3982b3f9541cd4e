package ervb_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig/docsigtest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
)

// verifierTrusting is a document-signature verifier whose content-signer
// set holds the given CAs of the test PKI (revocation not asked: the
// PKI's responders are not running).
func verifierTrusting(t *testing.T, cas ...string) *docsig.Verifier {
	return docsigtest.Verifier(t, certs.RevocationOff, cas...)
}

func checkSignatures(t *testing.T, v *docsig.Verifier, files ...ervb.File) ervb.Findings {
	t.Helper()
	c := ervb.Checker{TempDir: t.TempDir()}
	fs, err := c.CheckSignatures(context.Background(), v, files)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// A .p7s given with a document is verified before the message is queued:
// a document changed after it was signed is refused (the court would see
// a broken signature), a signer our trust settings do not know is a
// warning, a valid pair passes. What Check already refuses is not
// repeated.
func TestDocumentChangedAfterSigningIsNotSent(t *testing.T) {
	const doc = "Klage_14049759-7440-474c-a37b-9a2d98b9d58a.pdf"
	pdf := certstest.Document(t, "plain_gs.pdf")
	p7s := certstest.Document(t, "plain_gs.pdf.p7s")
	changed := bytes.Clone(pdf)
	changed[bytes.Index(changed, []byte("/MediaBox"))+1] = 'm'
	trusted := verifierTrusting(t, "root-ca", "intermediate-ca")
	for _, tc := range []struct {
		name  string
		v     *docsig.Verifier
		files []ervb.File
		want  string
	}{
		{"valid pair", trusted, []ervb.File{mem(doc, pdf), mem(doc+".p7s", p7s)}, ""},
		{"valid pair, signature name in upper case", trusted, []ervb.File{mem(doc, pdf), mem(doc+".P7S", p7s)}, ""},
		{"document changed after signing", trusted, []ervb.File{mem(doc, changed), mem(doc+".p7s", p7s)}, "error:signature-broken"},
		{"signature of another document", trusted, []ervb.File{mem(doc, certstest.Document(t, "plain_objstm.pdf")), mem(doc+".p7s", p7s)}, "error:signature-broken"},
		{"signer outside our trust set", verifierTrusting(t, "vhn-ca"), []ervb.File{mem(doc, pdf), mem(doc+".p7s", p7s)}, "warning:signature-unconfirmed"},
		{"signature without its document: Check's finding", trusted, []ervb.File{mem(doc+".p7s", p7s)}, ""},
		{"unreadable signature: Check's finding", trusted, []ervb.File{mem(doc, pdf), mem(doc+".p7s", []byte("keine Signatur"))}, ""},
		{"unreadable PDF: Check's finding", trusted, []ervb.File{mem(doc, []byte("kein PDF"))}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := checkSignatures(t, tc.v, tc.files...)
			if got := strings.Join(rules(fs), " "); got != tc.want {
				t.Fatalf("findings %v, want %q", fs, tc.want)
			}
			for _, f := range fs {
				if f.File != tc.files[len(tc.files)-1].Name || !strings.Contains(f.Message, doc) {
					t.Fatalf("finding %+v does not name the signature file and its document", f)
				}
			}
			if tc.want == "error:signature-broken" && fs.Err() == nil {
				t.Fatal("a broken signature does not refuse the message")
			}
		})
	}
}

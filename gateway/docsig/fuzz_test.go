package docsig_test

import (
	"bytes"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/pdf"
)

// FuzzParse: no input makes the CMS parser panic.
func FuzzParse(f *testing.F) {
	f.Add(certstest.Document(f, "plain_gs.pdf.p7s"))
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		_, _ = docsig.Parse(der)
	})
}

// FuzzVerify: a detached signature and a PDF of any bytes give results
// that are either valid with every field set, or invalid with a reason;
// never a panic.
func FuzzVerify(f *testing.F) {
	doc := certstest.Document(f, "plain_gs.pdf")
	f.Add(certstest.Document(f, "plain_gs.pdf.p7s"), doc)
	f.Add([]byte{}, certstest.Document(f, "plain_objstm.pdf"))
	v := verifier(f)
	f.Fuzz(func(t *testing.T, sig, data []byte) {
		for _, r := range v.VerifyDetached(ctx, "a.pdf", "a.pdf.p7s", sig, bytes.NewReader(data)) {
			if r.Err == nil && (r.Certificate == nil || r.Integrity != "ok") || r.Err != nil && r.Error == "" {
				t.Fatalf("inconsistent result %+v", r)
			}
		}
		rs, err := v.VerifyPDF(ctx, "a.pdf", bytes.NewReader(data), int64(len(data)), pdf.Limits{MaxObjects: 1000, MaxObjectBytes: 1 << 16, MaxDecodedBytes: 1 << 22})
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Err == nil && (r.Certificate == nil || r.Integrity != "ok") {
				t.Fatalf("inconsistent result %+v", r)
			}
		}
	})
}

package egvp

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// TestBuilderSignatureAlgorithm: the content signatures are made with the
// Builder's algorithm (default rsa-sha256), and a receiver verifies them.
func TestBuilderSignatureAlgorithm(t *testing.T) {
	tests := []struct {
		name string
		alg  xmlsec.SignatureAlgorithm
		uri  string
	}{
		{"default", 0, xmlsec.RSASHA256},
		{"rsa-pss-sha256", xmlsec.SignatureRSAPSSSHA256, xmlsec.RSAPSSSHA256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			b := builder(t)
			b.SignatureAlgorithm = tc.alg
			pkg := build(t, b, outgoing(t, doc("antrag.pdf", pdf(4000, "alg"))))
			d, parts := w.roundTrip(t, pkg)
			cs, err := osci.OpenContentPackage(d.Response.Message, &xmlenc.Decrypter{Key: pki(t, "mailbox-cipher").Key.(crypto.Decrypter)})
			if err != nil {
				t.Fatal(err)
			}
			signed := 0
			for _, c := range cs {
				vs, err := c.VerifySignatures(context.Background(), xmlsec.ValidatorSelector{V: validators(t, generalCAs...).ContentSigner}, plaintext(t, c, parts))
				if err != nil {
					t.Fatalf("container %s: %v", c.ID, err)
				}
				for _, v := range vs {
					if v.SignatureMethod != tc.uri {
						t.Errorf("container %s signed with %s, want %s", c.ID, v.SignatureMethod, tc.uri)
					}
					signed++
				}
			}
			if signed != 2 {
				t.Fatalf("%d content signatures, want 2", signed)
			}
			got, err := reader(t, generalCAs...).Read(context.Background(), d, parts, t.TempDir())
			if err != nil || got.Report.Verdict().Status != checkresult.Valid {
				t.Fatalf("report %+v: %v", got.Report, err)
			}
		})
	}
}

// plaintext resolves an attachment of c to its plaintext, as the reference
// library digests it for a content signature.
func plaintext(t *testing.T, c *osci.ReadContainer, parts osci.AttachmentStore) xmlsec.AttachmentResolver {
	return func(cid string) (io.ReadCloser, error) {
		if !c.AttachmentEncrypted(cid) {
			return parts.Open(cid)
		}
		var b bytes.Buffer
		if _, err := c.DecryptAttachment(&b, cid, partOpener{parts}, t.TempDir()); err != nil {
			return nil, err
		}
		return io.NopCloser(&b), nil
	}
}

package xmlenc

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// vectorSigner names the party whose ClientSignature each reference
// request carries.
var vectorSigner = map[string]string{
	"getMessageId.mime":  "alice_signature_4096",
	"initDialog.mime":    "bob_signature_4096",
	"storeDelivery.mime": "alice_signature_4096",
}

// verifyInner verifies the ClientSignature of a decrypted message against
// the pinned signature certificate of its sender, including cid: parts.
func verifyInner(t *testing.T, file string, soap []byte, parts map[string][]byte) {
	t.Helper()
	der, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "certs", vectorSigner[file]+".cer"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := xmlsec.ParseBytes(soap, xmlsec.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	sig := doc.FindElement("/Envelope/Header/ClientSignature/Signature")
	if sig == nil {
		t.Fatal("no ClientSignature")
	}
	ts := certs.NewTrustStore()
	ts.Pin(signer)
	keys := xmlsec.ValidatorSelector{V: &certs.Validator{Trust: ts, Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }}}
	resolve := func(cid string) (io.ReadCloser, error) {
		b, ok := parts[cid]
		if !ok {
			return nil, errors.New("no such part")
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	v, err := xmlsec.Verify(context.Background(), doc, sig, xmlsec.VerifyPolicy{Keys: keys, Attachments: resolve})
	if err != nil {
		t.Fatalf("ClientSignature of the decrypted message: %v", err)
	}
	if !v.Signer.Equal(signer) || len(v.References) < 5 {
		t.Fatalf("verified %d references by %s", len(v.References), v.Signer.Subject)
	}
}

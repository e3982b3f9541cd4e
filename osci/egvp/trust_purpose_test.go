package egvp

import (
	"context"
	"errors"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// TestRecipientCipherKeyDoesNotSignContent: a sender signs its containers
// and orders with a key whose certificate the receiver has pinned only as
// a recipient cipher certificate (address book; SAFE cipher certificates
// carry digitalSignature). The receiver trusts none of those signatures:
// no certificate is valid, nothing is confirmed, the verdict is not valid.
func TestRecipientCipherKeyDoesNotSignContent(t *testing.T) {
	sets := trustSets(t, generalCAs...)
	sets.RecipientCipher = certs.NewTrustStore()
	sets.RecipientCipher.Pin(certstest.PKICert(t, "safe-cipher"))
	r := reader(t)
	r.Trust = sets.Validators(certs.Validator{Now: r.Now, Policy: certs.Policy{SignatureRevocation: certs.RevocationOff}})
	got := sendAs(t, pki(t, "safe-cipher"), outgoing(t, doc("a.pdf", pdf(100, "k"))), r)
	if v := got.Report.Verdict(); v.Status == checkresult.Valid {
		t.Fatalf("verdict %+v", v)
	}
	for _, s := range got.Report.Signatures {
		if s.Kind != KindSupplier && s.CertValidity == checkresult.Valid {
			t.Errorf("%s trusted: %+v", s.Object, s)
		}
	}
	if got.Report.Sender.Confirmed != (ConfirmedSender{}) {
		t.Fatalf("confirmed %+v", got.Report.Sender.Confirmed)
	}
}

// TestGeneralCACertDoesNotPassAsIntermediary: responses signed with a
// certificate that chains to the configured CAs but is not the pinned
// intermediary certificate, or with a key pinned only as a recipient
// cipher certificate, are refused as untrusted.
func TestGeneralCACertDoesNotPassAsIntermediary(t *testing.T) {
	for _, impostor := range []string{"mailbox-signature", "safe-cipher"} {
		t.Run(impostor, func(t *testing.T) {
			c := impostorSimulator(t, pki(t, impostor))
			_, err := c.GetMessageID(context.Background())
			if !errors.Is(err, xmlsec.ErrUntrustedKey) || !errors.Is(err, certs.ErrNotTrusted) {
				t.Fatalf("response signed by %s: %v", impostor, err)
			}
		})
	}
	if _, err := impostorSimulator(t, pki(t, "intermediary-signature")).GetMessageID(context.Background()); err != nil {
		t.Fatalf("the pinned intermediary: %v", err)
	}
}

package egvp

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

// vhnReader trusts the general CAs and the VHN CA for content signatures
// (a beBPo signs its containers with its VHN key) and the VHN CA for VHN.
func vhnReader(t *testing.T) *Reader { return reader(t, "root-ca", "intermediate-ca", "vhn-ca") }

// TestForgedBusinessCardGetsNoVHN: a sender with a valid signature
// certificate that names no mailbox writes another mailbox's identity and
// the beBPo role into its business card. Nothing confirms that identity:
// no VHN, no confirmed SAFE-ID, the card shown as the sender's own claim.
func TestForgedBusinessCardGetsNoVHN(t *testing.T) {
	o := outgoing(t, doc("a.pdf", pdf(100, "f")))
	o.SenderID, o.Card.Organisation = victimID, "Amtsgericht Musterstadt"
	got := sendAs(t, pki(t, "mailbox-signature"), o, vhnReader(t))
	rep := got.Report
	if rep.VHNPresent || rep.VHNText != "" {
		t.Fatalf("forged card got the VHN mark: %+v", rep)
	}
	if c := rep.Sender.Confirmed; c.SafeID != "" || c.RoleID != "" || c.TrustedFor != certs.UseContentSigner ||
		c.Subject != certstest.PKICert(t, "mailbox-signature").Subject.String() {
		t.Fatalf("confirmed %+v", c)
	}
	if cl := rep.Sender.Claimed; cl.SafeID() != victimID || cl.Card.RoleID != RoleBeBPo || cl.Card.Organisation != "Amtsgericht Musterstadt" {
		t.Fatalf("claimed %+v", cl)
	}
	if got.SenderID != victimID {
		t.Fatalf("SenderID %q is the claim", got.SenderID)
	}
	for _, s := range rep.Signatures {
		if s.Kind == KindVHN {
			t.Fatalf("transport signature reported as VHN: %+v", s)
		}
	}
}

// TestVHNCertificateWithoutUIDGivesNoVHN: a certificate from the VHN CA
// that carries no SAFE-ID confirms no sender; the identity check fails
// closed instead of being skipped.
func TestVHNCertificateWithoutUIDGivesNoVHN(t *testing.T) {
	o := outgoing(t, doc("a.pdf", pdf(100, "u")))
	o.SenderID = victimID
	got := sendAs(t, pki(t, "vhn-no-uid"), o, vhnReader(t))
	rep := got.Report
	if rep.VHNPresent {
		t.Fatalf("VHN without a UID: %+v", rep)
	}
	if c := rep.Sender.Confirmed; c.SafeID != "" || c.TrustedFor != certs.UseVHN || c.RoleID != RoleBeBPo {
		t.Fatalf("confirmed %+v", c)
	}
	if !strings.Contains(strings.Join(rep.Sender.Notes, "|"), "nennt keine Nutzer-ID") {
		t.Fatalf("notes %q", rep.Sender.Notes)
	}
}

// TestForgedBusinessCardContradictingVHNIsQuarantined: a beBPo with its
// own valid VHN certificate claims another mailbox's SAFE-ID, in the card
// or in additional_infos. The claim contradicts the certificate: no VHN,
// and the verdict is invalid for that reason, not for a signature.
func TestForgedBusinessCardContradictingVHNIsQuarantined(t *testing.T) {
	for name, forge := range map[string]func(*Outgoing){
		"card and additional_infos": func(o *Outgoing) { o.SenderID = victimID },
		"card only":                 func(o *Outgoing) { o.Card.UserID = victimID },
	} {
		t.Run(name, func(t *testing.T) {
			o := outgoing(t, doc("a.pdf", pdf(100, "c")))
			forge(&o)
			got := sendAs(t, pki(t, "mailbox-vhn"), o, vhnReader(t))
			rep := got.Report
			v := rep.Verdict()
			if rep.VHNPresent || v.Status != checkresult.Invalid || v.Reason != ReasonSenderMismatch || !strings.Contains(v.Text, victimID) {
				t.Fatalf("verdict %+v, vhn %v, conflicts %q", v, rep.VHNPresent, rep.Sender.Conflicts)
			}
			if rep.Sender.Confirmed.SafeID != ourID || rep.Sender.Claimed.Card.UserID != victimID {
				t.Fatalf("sender %+v", rep.Sender)
			}
			for _, s := range rep.Signatures {
				if s.Integrity != checkresult.OK || s.CertValidity != checkresult.Valid {
					t.Fatalf("the signatures themselves are fine: %+v", s)
				}
			}
		})
	}
}

// TestVHNFromGeneralCAGivesNoVHN: a VHN look-alike naming the right
// SAFE-ID but issued by a CA outside the VHN set gives no VHN, even though
// the content-signer set trusts its CA.
func TestVHNFromGeneralCAGivesNoVHN(t *testing.T) {
	got := sendAs(t, pki(t, "vhn-general-ca"), outgoing(t, doc("a.pdf", pdf(100, "g"))), vhnReader(t))
	rep := got.Report
	if rep.VHNPresent {
		t.Fatalf("VHN from the general CA: %+v", rep)
	}
	var transport SignatureCheck
	for _, s := range rep.Signatures {
		if strings.Contains(s.Object, "Transportsignatur") {
			transport = s
		}
	}
	if transport.Kind != KindClient || transport.CertValidity != checkresult.Valid || !strings.Contains(transport.Detail, "kein VHN-Zertifikat") {
		t.Fatalf("transport %+v", transport)
	}
	if c := rep.Sender.Confirmed; c.TrustedFor != certs.UseContentSigner || c.RoleID != "" {
		t.Fatalf("confirmed %+v", c)
	}
}

// fakeDirectory lists one mailbox.
type fakeDirectory struct {
	id    string
	entry DirectoryEntry
	err   error
}

func (f fakeDirectory) LookupSender(_ context.Context, safeID string) (DirectoryEntry, error) {
	if f.err != nil {
		return DirectoryEntry{}, f.err
	}
	if safeID != f.id {
		return DirectoryEntry{}, ErrNotListed
	}
	return f.entry, nil
}

// TestClaimContradictingDirectoryIsQuarantined: the card's name, role or
// the sender's cipher certificate differ from what the directory lists
// for the claimed SAFE-ID: the verdict is invalid for the identity. An
// unlisted SAFE-ID or an unreachable directory is only noted.
func TestClaimContradictingDirectoryIsQuarantined(t *testing.T) {
	mailboxCipher := []*x509.Certificate{certstest.PKICert(t, "mailbox-cipher")}
	tests := []struct {
		name     string
		dir      fakeDirectory
		conflict string
		note     string
	}{
		{"organisation", fakeDirectory{id: ourID, entry: DirectoryEntry{Organisation: "Amtsgericht Musterstadt", CipherCertificates: mailboxCipher}},
			"Organisation", ""},
		{"role", fakeDirectory{id: ourID, entry: DirectoryEntry{RoleID: "egvp_justiz"}}, "Rollen-ID", ""},
		{"cipher certificate", fakeDirectory{id: ourID, entry: DirectoryEntry{CipherCertificates: []*x509.Certificate{certstest.PKICert(t, "safe-cipher")}}},
			"Verschlüsselungszertifikat", ""},
		{"agrees", fakeDirectory{id: ourID, entry: DirectoryEntry{Organisation: " stadt  erkelenz", RoleID: RoleBeBPo, CipherCertificates: mailboxCipher}}, "", ""},
		{"not listed", fakeDirectory{id: victimID}, "", "nicht verzeichnet"},
		{"unreachable", fakeDirectory{err: errors.New("timeout")}, "", "nicht abzufragen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := vhnReader(t)
			r.Directory = tc.dir
			rep := sendAs(t, pki(t, "mailbox-vhn"), outgoing(t, doc("a.pdf", pdf(100, "d"))), r).Report
			v := rep.Verdict()
			if tc.conflict == "" {
				if v.Status != checkresult.Valid || !rep.VHNPresent || !strings.Contains(strings.Join(rep.Sender.Notes, "|"), tc.note) {
					t.Fatalf("verdict %+v, sender %+v", v, rep.Sender)
				}
				return
			}
			if v.Status != checkresult.Invalid || v.Reason != ReasonSenderMismatch || !strings.Contains(v.Text, tc.conflict) || rep.VHNPresent {
				t.Fatalf("verdict %+v, vhn %v", v, rep.VHNPresent)
			}
		})
	}
}

package egvp

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// SenderDirectory is a directory of mailboxes (SAFE, or the operator's
// address book) that the Reader asks about the SAFE-ID a message claims.
// What it lists is compared with the claim and the message's
// certificates; a contradiction quarantines the message, an agreement
// confirms nothing (only verified certificates confirm).
type SenderDirectory interface {
	// LookupSender returns what the directory lists for safeID, or an
	// error wrapping ErrNotListed.
	LookupSender(ctx context.Context, safeID string) (DirectoryEntry, error)
}

// DirectoryEntry is what a directory lists for one mailbox. Empty fields
// are not compared.
type DirectoryEntry struct {
	Name         string // visitenkarte Name
	Organisation string
	RoleID       string // e.g. egvp_bebpo
	// CipherCertificates are the mailbox's published cipher certificates;
	// the message's originator cipher certificate must be one of them.
	CipherCertificates []*x509.Certificate
}

// senderSignature is the check of the sender's transport signature and
// what it rests on.
type senderSignature struct {
	check   SignatureCheck
	cert    *x509.Certificate // the originator's signature certificate, nil when the delivery names none
	trusted certs.Use         // the set that validated cert; 0: none
}

// checkSender decides what the sender's transport signature certificate
// (see transportCheck) confirms about the sender, which claims it or the
// directory contradicts, and whether the message has a VHN, and adds the
// check to the report.
func (r *Reader) checkSender(ctx context.Context, d *osci.Delivery, out *Received, sender senderSignature) {
	rep := &out.Report
	id := &rep.Sender
	id.Claimed = ClaimedSender{Card: out.Card, UserID: out.Infos["user_id"]}
	c, cert, trusted := sender.check, sender.cert, sender.trusted
	// A certificate confirms something only when the intermediary found
	// the signature made with it intact: a message may name anyone's
	// public certificate.
	intact := c.Integrity == checkresult.OK && c.CertValidity == checkresult.Valid
	switch {
	case trusted != 0 && intact:
		id.Confirmed = ConfirmedSender{SafeID: certSafeID(cert), Subject: certs.DN(cert.Subject), Issuer: certs.DN(cert.Issuer), TrustedFor: trusted}
		if trusted == certs.UseVHN {
			id.Confirmed.RoleID = RoleBeBPo
		}
	case trusted != 0:
		id.Notes = append(id.Notes, "Die Transportsignatur ist nicht als unversehrt geprüft; ihr Zertifikat bestätigt nichts.")
	case cert != nil && c.CertValidity == checkresult.Indeterminate:
		id.Notes = append(id.Notes, "Das Zertifikat der Transportsignatur führt zu keiner konfigurierten Zertifizierungsstelle; die Identität des Absenders ist nicht bestätigt.")
	}
	claims := id.claims()
	uid := id.Confirmed.SafeID
	for _, cl := range claims {
		if uid != "" && cl.value != uid {
			id.Conflicts = append(id.Conflicts, fmt.Sprintf("%s %s, das geprüfte Zertifikat nennt %s", cl.field, cl.value, uid))
		}
	}
	if len(claims) == 2 && claims[0].value != claims[1].value && uid == "" {
		id.Notes = append(id.Notes, fmt.Sprintf("%s %s und %s %s stimmen nicht überein", claims[0].field, claims[0].value, claims[1].field, claims[1].value))
	}
	r.checkDirectory(ctx, d, id)

	var noVHN string
	switch {
	case trusted != certs.UseVHN:
	case !intact:
		noVHN = "die Transportsignatur ist nicht als unversehrt und gültig geprüft"
	case uid == "":
		noVHN = "das VHN-Zertifikat nennt keine Nutzer-ID (SAFE-ID) und bestätigt so keinen Absender"
	case len(claims) == 0:
		noVHN = "die Nachricht nennt keinen Absender, den das VHN-Zertifikat bestätigen könnte"
	case len(id.Conflicts) > 0:
		noVHN = "die Angaben des Absenders widersprechen dem VHN-Zertifikat oder dem Verzeichnis"
	}
	if noVHN != "" {
		c.Detail = joinDetail(c.Detail, "kein VHN: "+noVHN)
		id.Notes = append(id.Notes, "Kein VHN: "+noVHN+".")
	}
	rep.Signatures = append(rep.Signatures, c)
	rep.addCert("originator", d.Sender.Get(osci.CipherOriginator))
	if trusted == certs.UseVHN {
		rep.addCert("vhn", cert)
	} else {
		rep.addCert("originator_signature", cert)
	}
	rep.addCert("addressee", d.Sender.Get(osci.CipherAddressee))
	if trusted == certs.UseVHN && noVHN == "" {
		rep.VHNPresent, rep.VHNText = true, VHNText
	}
}

// transportCheck checks the sender's transport signature (ClientSignature
// of its storeDelivery), which the intermediary verified and reports as an
// Inspection on the process card: the integrity is the inspection's, the
// certificate is validated again here, a VHN certificate first (VHN set),
// else with the content-signer set. A certificate that merely chains to
// no configured CA is indeterminate (see certValidity).
func (r *Reader) transportCheck(ctx context.Context, d *osci.Delivery, now time.Time) senderSignature {
	c := SignatureCheck{Object: "OSCI-Nachricht des Absenders (Transportsignatur)", Kind: KindClient}
	cert := d.Sender.Get(osci.SignatureOriginator)
	if cert == nil {
		c.Integrity, c.CertValidity, c.CheckedAt = checkresult.Indeterminate, checkresult.Indeterminate, now
		c.Detail = "the delivery names no signature certificate of the originator"
		return senderSignature{check: c}
	}
	var others []*x509.Certificate
	for _, e := range d.Sender {
		if e.Cert != cert {
			others = append(others, e.Cert)
		}
	}
	trusted := certs.Use(0)
	var res *certs.Result
	var err error
	if r.Trust.VHN != nil {
		res, err = r.Trust.VHN.Check(ctx, cert, others)
		if err == nil {
			c.Kind, trusted = KindVHN, certs.UseVHN
		} else if certSafeID(cert) != "" {
			c.Detail = joinDetail(c.Detail, "kein VHN-Zertifikat: "+err.Error())
		}
	}
	if trusted == 0 {
		res, err = r.Trust.ContentSigner.Check(ctx, cert, others)
		if err == nil {
			trusted = certs.UseContentSigner
		}
	}
	fromResult(&c, res, cert, now)
	if err != nil {
		c.CertValidity = certValidity(err)
		if res == nil || res.Error == "" {
			c.Detail = joinDetail(c.Detail, err.Error())
		}
	}
	c.Integrity = checkresult.Indeterminate
	if in, ok := inspectionFor(d.Card, cert); ok {
		c.Integrity = normalise(in.MathResult, checkresult.OK, checkresult.Corrupted)
		c.CertType = in.CertType
		c.SigningTime = in.Timestamp.Time
		c.Detail = joinDetail(c.Detail, "Prüfung des Intermediärs: Mathematik "+in.MathResult+", Zertifikat "+in.OfflineResult)
	} else {
		c.Detail = joinDetail(c.Detail, "no inspection of the intermediary for this certificate")
	}
	return senderSignature{check: c, cert: cert, trusted: trusted}
}

type claim struct{ field, value string }

// claims lists the SAFE-IDs the message names for its sender.
func (id *SenderIdentity) claims() []claim {
	var out []claim
	if v := id.Claimed.Card.UserID; v != "" {
		out = append(out, claim{"Nutzer-ID der Visitenkarte", v})
	}
	if v := id.Claimed.UserID; v != "" {
		out = append(out, claim{"user_id der additional_infos", v})
	}
	return out
}

// checkDirectory compares the claims with what the directory lists for
// the claimed SAFE-ID. An unreachable directory or an unlisted SAFE-ID is
// noted, not held against the message.
func (r *Reader) checkDirectory(ctx context.Context, d *osci.Delivery, id *SenderIdentity) {
	safeID := id.Claimed.SafeID()
	if r.Directory == nil || safeID == "" {
		return
	}
	e, err := r.Directory.LookupSender(ctx, safeID)
	switch {
	case errors.Is(err, ErrNotListed):
		id.Notes = append(id.Notes, "Die Nutzer-ID "+safeID+" ist im Verzeichnis nicht verzeichnet.")
		return
	case err != nil:
		id.Notes = append(id.Notes, "Das Verzeichnis war nicht abzufragen: "+err.Error())
		return
	}
	card := id.Claimed.Card
	for _, f := range [][3]string{{"Rollen-ID", card.RoleID, e.RoleID}, {"Name", card.Name, e.Name}, {"Organisation", card.Organisation, e.Organisation}} {
		if f[1] != "" && f[2] != "" && !sameText(f[1], f[2]) {
			id.Conflicts = append(id.Conflicts, fmt.Sprintf("%s der Visitenkarte %q, das Verzeichnis nennt für %s %q", f[0], f[1], safeID, f[2]))
		}
	}
	if c := d.Sender.Get(osci.CipherOriginator); c != nil && len(e.CipherCertificates) > 0 && !containsCert(e.CipherCertificates, c) {
		id.Conflicts = append(id.Conflicts, fmt.Sprintf("das Verschlüsselungszertifikat des Absenders (%s) ist nicht das, welches das Verzeichnis für %s nennt",
			certs.Fingerprint(c), safeID))
	}
}

func sameText(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, l := range list {
		if l.Equal(c) {
			return true
		}
	}
	return false
}

// oidUID is the LDAP userid attribute; VHN certificates carry the
// mailbox's SAFE-ID in it.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// certSafeID returns the UID of cert's subject, or "" when it has none,
// more than one, or one that is not a string: such a certificate names no
// mailbox.
func certSafeID(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	uid := ""
	for _, n := range cert.Subject.Names {
		if !n.Type.Equal(oidUID) {
			continue
		}
		s, ok := n.Value.(string)
		if !ok || uid != "" {
			return ""
		}
		uid = s
	}
	return strings.TrimSpace(uid)
}

func normalise(s, good, bad string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case good:
		return good
	case bad:
		return bad
	}
	return checkresult.Indeterminate
}

// inspectionFor finds the intermediary's inspection of cert, matched by
// issuer and serial number (decimal or hexadecimal, as peers write it).
func inspectionFor(card *osci.ProcessCardBundle, cert *x509.Certificate) (osci.Inspection, bool) {
	if card == nil {
		return osci.Inspection{}, false
	}
	for _, in := range card.Inspections {
		if sameSerial(in.SerialNumber, cert.SerialNumber) && (in.IssuerName == "" || sameName(in.IssuerName, cert.Issuer.String())) &&
			(in.SubjectName == "" || sameName(in.SubjectName, cert.Subject.String())) {
			return in, true
		}
	}
	return osci.Inspection{}, false
}

func sameSerial(s string, n *big.Int) bool {
	s = strings.TrimSpace(s)
	if d, ok := new(big.Int).SetString(s, 10); ok && d.Cmp(n) == 0 {
		return true
	}
	h, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(s), "0x"), 16)
	return ok && h.Cmp(n) == 0
}

// sameName compares distinguished names loosely: peers order and space
// RDNs differently, so every RDN of one must appear in the other.
func sameName(a, b string) bool {
	norm := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			m[strings.ToLower(strings.Join(strings.Fields(p), ""))] = true
		}
		return m
	}
	na, nb := norm(a), norm(b)
	if len(na) != len(nb) {
		return false
	}
	for k := range na {
		if !nb[k] {
			return false
		}
	}
	return true
}

// inspectionFindings lists the intermediary's negative findings: a
// signature whose mathematics it found corrupted, a certificate it found
// invalid or revoked.
func inspectionFindings(card *osci.ProcessCardBundle) []InspectionFinding {
	if card == nil {
		return nil
	}
	var out []InspectionFinding
	for _, in := range card.Inspections {
		corrupted := strings.EqualFold(in.MathResult, checkresult.Corrupted)
		if corrupted || strings.EqualFold(in.OfflineResult, checkresult.Invalid) || strings.EqualFold(in.OnlineResult, "revoked") {
			out = append(out, InspectionFinding{Corrupted: corrupted, Text: "Prüfung des Intermediärs für " + in.SubjectName + ": Mathematik " +
				in.MathResult + ", Zertifikat " + strings.TrimSpace(in.OfflineResult+" "+in.OnlineResult)})
		}
	}
	return out
}

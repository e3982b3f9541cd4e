package egvp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
)

const (
	ourID   = "DE.Justiz.00000000-0000-4000-8000-000000000001.0001"
	theirID = "DE.Justiz.00000000-0000-4000-8000-000000000002.0002"
)

func doc(name string, data []byte) Document {
	return Document{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func pdf(n int, seed string) []byte {
	b := make([]byte, n)
	m := copy(b, "%PDF-1.7\n")
	io.ReadFull(certstest.DetRand(seed), b[m:])
	return b
}

func xjustizWithEEB(t *testing.T) []byte {
	x := shared(t, "vectors/egvp/Testnachricht_xjustiz321/attachments/xjustiz_nachricht.xml")
	return bytes.Replace(x, []byte("ruecksendungEEB.erforderlich>false<"), []byte("ruecksendungEEB.erforderlich>true<"), 1)
}

func outgoing(t *testing.T, docs ...Document) Outgoing {
	return Outgoing{SenderID: ourID, Card: BusinessCard{Organisation: "Stadt Erkelenz", Name: "Bußgeldstelle", City: "Erkelenz"},
		RecipientID: theirID, Subject: "Antrag: Erzwingungshaft", CaseNumberSender: "32.1-123/26", CaseNumberRecipient: "5 OWi 12/26",
		FreeText: "Sehr geehrte Damen und Herren,\nanbei.", EEBRequested: true, Documents: docs}
}

func builder(t *testing.T) *Builder {
	return &Builder{Signature: pki(t, "mailbox-signature"), Rand: certstest.DetRand("builder"), SpoolDir: t.TempDir(), Now: newClock().Now}
}

// build builds o with b for the test mailbox's cipher certificate; the
// package is closed when the test ends.
func build(t testing.TB, b *Builder, o Outgoing) *Package {
	t.Helper()
	pkg, err := b.Build(o, certstest.PKICert(t, "mailbox-cipher"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pkg.Close() })
	return pkg
}

// reader reads as the test mailbox, trusting contentCAs for party signatures.
func reader(t *testing.T, contentCAs ...string) *Reader {
	return &Reader{Cipher: pki(t, "mailbox-cipher"), Trust: validators(t, contentCAs...), SpoolDir: t.TempDir(), Now: func() time.Time { return testNow }}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestRoundTrip builds an EGVP message, sends it through the simulator and
// reads it back: every field, every document byte, every signature.
//
// The sender is a beBPo: it signs its orders and its containers with its
// VHN certificate, whose UID is the SAFE-ID its forms claim, and the
// receiver trusts the VHN CA for content signatures as well.
func TestRoundTrip(t *testing.T) {
	w := newWorldAs(t, pki(t, "mailbox-vhn"))
	a, b2, x := pdf(300_000, "a"), pdf(70_001, "b"), xjustizWithEEB(t)
	bl := builder(t)
	bl.Signature = pki(t, "mailbox-vhn")
	pkg := build(t, bl, outgoing(t, doc("001_Antrag_Entwurf.pdf", a), doc("002_Übersicht.pdf", b2), doc("xjustiz_nachricht.xml", x)))
	// The names the submission validated are the Content Ids, unchanged.
	if want := []string{"001_Antrag_Entwurf.pdf", "002_Übersicht.pdf", "xjustiz_nachricht.xml"}; strings.Join(pkg.Names, "|") != strings.Join(want, "|") {
		t.Fatalf("names %q", pkg.Names)
	}
	// File names with leading digits and umlauts are referenceable Ids:
	// both containers are content-signed.
	if len(pkg.Warnings) != 0 {
		t.Fatalf("warnings %q", pkg.Warnings)
	}
	d, parts := w.roundTrip(t, pkg)
	got, err := reader(t, "root-ca", "intermediate-ca", "vhn-ca").Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.Verdict() != (Verdict{checkresult.Valid, "", "Sämtliche durchgeführten Prüfungen lieferten ein positives Ergebnis."}) ||
		!got.Report.VHNPresent || got.Report.VHNText != VHNText {
		t.Fatalf("report %+v", got.Report)
	}
	if c := got.Report.Sender.Confirmed; c.SafeID != ourID || c.RoleID != RoleBeBPo || c.TrustedFor != certs.UseVHN ||
		c.Issuer != certstest.PKICert(t, "vhn-ca").Subject.String() || len(got.Report.Sender.Conflicts) != 0 {
		t.Fatalf("confirmed sender %+v", got.Report.Sender)
	}
	if cl := got.Report.Sender.Claimed; cl.SafeID() != ourID || cl.Card.Organisation != "Stadt Erkelenz" || cl.UserID != ourID {
		t.Fatalf("claimed sender %+v", cl)
	}
	kinds := map[string]int{}
	for _, s := range got.Report.Signatures {
		kinds[s.Kind]++
		if s.Signer == "" || s.Issuer == "" || s.Serial == "" || s.CheckedAt.IsZero() {
			t.Errorf("signature check incomplete: %+v", s)
		}
	}
	if kinds[KindSupplier] != 1 || kinds[KindContent] != 2 || kinds[KindVHN] != 1 { // project_coco and govello_coco
		t.Fatalf("signature kinds %v", kinds)
	}
	n := got.Nachricht
	if n.MessageType != TypeGeneral || n.RecipientID != theirID || n.Subject != "Antrag: Erzwingungshaft" || n.CaseNumberSender != "32.1-123/26" ||
		n.CaseNumberRecipient != "5 OWi 12/26" || n.FreeText != "Sehr geehrte Damen und Herren,\nanbei." || n.SignatureLevel != "no" {
		t.Fatalf("nachricht %+v", n)
	}
	if got.SenderID != ourID || got.Card.Organisation != "Stadt Erkelenz" || got.Card.RoleID != RoleBeBPo || got.Manufacturer.Product != Product+" "+Version {
		t.Fatalf("card %+v / %+v", got.Card, got.Manufacturer)
	}
	if got.Infos["user_id"] != ourID || got.Infos["subject"] != "Antrag: Erzwingungshaft" || got.Infos["signature_level"] != "no" {
		t.Fatalf("additional_infos %v", got.Infos)
	}
	if got.OSCISubject != TypeGeneral || got.Subject != "Antrag: Erzwingungshaft" {
		t.Fatalf("subjects %q %q", got.OSCISubject, got.Subject)
	}
	want := map[string][]byte{"001_Antrag_Entwurf.pdf": a, "002_Übersicht.pdf": b2, "xjustiz_nachricht.xml": x}
	if len(got.Documents) != 3 {
		t.Fatalf("%d documents", len(got.Documents))
	}
	for _, dd := range got.Documents {
		plain := certstest.ReadFile(t, dd.Path)
		if !bytes.Equal(plain, want[dd.Name]) || dd.SHA256 != sum(plain) || dd.Size != int64(len(plain)) {
			t.Errorf("document %s differs", dd.Name)
		}
		if !dd.Signed || dd.Coverage != CoverContent || len(dd.SignedBy) != 1 {
			t.Errorf("document %s signed %v by %q", dd.Name, dd.Signed, dd.SignedBy)
		}
		if dd.Structured != (dd.Name == FileXJustiz) {
			t.Errorf("%s structured = %v", dd.Name, dd.Structured)
		}
	}
	if got.XJustiz == nil || got.XJustiz.MessageID != "62f956dd-af24-4ab3-a6ae-fbe28244b380" || !got.EEBRequested {
		t.Fatalf("xjustiz %+v eeb %v", got.XJustiz, got.EEBRequested)
	}
}

// TestLayoutMatchesEGVP: the decrypted containers we build have the
// containers and Content Ids, in order, of a real EGVP message (without
// the stylesheets, which we do not write).
func TestLayoutMatchesEGVP(t *testing.T) {
	w := newWorld(t)
	pkg := build(t, builder(t), outgoing(t, doc("xjustiz_nachricht.xml", shared(t, "vectors/egvp/TestnachrichtEeb_1/attachments/xjustiz_nachricht.xml"))))
	d, _ := w.roundTrip(t, pkg)
	cs, err := osci.OpenContentPackage(d.Response.Message, &xmlenc.Decrypter{Key: pki(t, "mailbox-cipher").Key.(crypto.Decrypter)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, "container "+c.ID)
		for _, ct := range c.Contents {
			kind := "inline"
			if ct.Href != "" {
				kind = "cid:" + ct.Href
			}
			got = append(got, ct.ID+" "+kind)
		}
	}
	vec := string(shared(t, "vectors/egvp/TestnachrichtEeb_1/oscicontentdata.osci"))
	var want []string
	re := regexp.MustCompile(`<osci:ContentContainer[^>]*Id="([^"]+)"|Base64Content Id="([^"]+)"|<osci:Content Id="([^"]+)" href="([^"]+)"`)
	for _, m := range re.FindAllStringSubmatch(vec, -1) {
		switch {
		case m[1] != "":
			want = append(want, "container "+m[1])
		case m[2] != "" && !strings.HasSuffix(m[2], ".xsl"):
			want = append(want, m[2]+" inline")
		case m[3] != "":
			want = append(want, m[3]+" "+m[4])
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("layout\n got %q\nwant %q", got, want)
	}
}

// tamperSpool alters one octet of the package's first encrypted attachment.
func tamperSpool(t *testing.T, pkg *Package) {
	t.Helper()
	f, err := os.OpenFile(pkg.spool[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0x5a}, 100); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestTamperedSpoolIsRefused alters one octet of an encrypted attachment's
// spool file after the package was built: the transport signature covers
// the octets the encryption wrote (their digest taken while writing), not
// what the disk holds later, so the intermediary refuses the order.
func TestTamperedSpoolIsRefused(t *testing.T) {
	w := newWorld(t)
	pkg := build(t, builder(t), outgoing(t, doc("antrag.pdf", pdf(5000, "t"))))
	tamperSpool(t, pkg)
	ctx := context.Background()
	id, err := w.client.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pkg.Delivery.MessageID = id
	if _, err := w.client.StoreDelivery(ctx, pkg.Delivery); !errors.Is(err, osci.ErrFeedbackSignatureInvalid) {
		t.Fatalf("StoreDelivery of a tampered spool = %v, want feedback %d", err, osci.CodeSignatureInvalid)
	}
}

// TestTamperedAttachment alters one byte of an encrypted attachment after
// the originator signed it, before the transport signature (as a party on
// the way that signs anew would): the content signature shows corrupted,
// the document is not handed on, and the delivery is still returned.
func TestTamperedAttachment(t *testing.T) {
	w := newWorld(t)
	pkg := build(t, builder(t), outgoing(t, doc("antrag.pdf", pdf(5000, "t"))))
	tamperSpool(t, pkg)
	path := pkg.spool[0]
	pkg.Delivery.Attachments[0].Open = func() (io.ReadCloser, error) { return os.Open(path) }
	d, parts := w.roundTrip(t, pkg)
	got, err := reader(t, generalCAs...).Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.Verdict().Status != checkresult.Invalid || len(got.Documents) != 0 || len(got.Report.Problems) == 0 {
		t.Fatalf("report %+v, %d documents", got.Report, len(got.Documents))
	}
	found := false
	for _, s := range got.Report.Signatures {
		if s.Kind == KindContent && s.Object == "Inhaltsdatencontainer project_coco" {
			found = s.Integrity == checkresult.Corrupted && s.Signer != ""
		}
	}
	if !found {
		t.Fatalf("corrupted content signature not reported: %+v", got.Report.Signatures)
	}
	if got.HasNachricht != true || got.SenderID != ourID {
		t.Fatalf("metadata lost: %+v", got.Nachricht)
	}
}

// TestSignedProject: with signable file names both containers carry the
// originator's content signature, and both verify.
func TestSignedProject(t *testing.T) {
	w := newWorld(t)
	pkg := build(t, builder(t), outgoing(t, doc("antrag.pdf", pdf(4000, "s")), doc("xjustiz_nachricht.xml", xjustizWithEEB(t))))
	if len(pkg.Warnings) != 0 {
		t.Fatalf("warnings %q", pkg.Warnings)
	}
	d, parts := w.roundTrip(t, pkg)
	got, err := reader(t, generalCAs...).Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]string{}
	for _, s := range got.Report.Signatures {
		if s.Kind == KindContent {
			objects[s.Object] = s.Integrity + "/" + s.CertValidity
		}
	}
	if got.Report.Verdict().Status != checkresult.Valid || len(objects) != 2 || objects["Inhaltsdatencontainer project_coco"] != "ok/valid" {
		t.Fatalf("content signatures %v, report %+v", objects, got.Report)
	}
}

// TestUntrustedSigner reads with a validator that does not trust the
// sender's CA: the signatures are intact, but their certificates chain to
// no configured CA, so the sender's identity is unconfirmed
// (indeterminate), not invalid; nothing is covered by a content signature
// that did not verify, no VHN, and the message is not quarantined.
func TestUntrustedSigner(t *testing.T) {
	w := newWorld(t)
	pkg := build(t, builder(t), outgoing(t, doc("a.pdf", pdf(100, "u"))))
	d, parts := w.roundTrip(t, pkg)
	got, err := reader(t).Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Report.Verdict(); v.Status != checkresult.Indeterminate || v.Reason != ReasonCheckIndeterminate || got.Report.VHNPresent ||
		len(got.Documents) != 1 || got.Documents[0].Signed {
		t.Fatalf("verdict %+v, report %+v", v, got.Report)
	}
	for _, s := range got.Report.Signatures {
		if s.Kind != KindSupplier && s.CertValidity != checkresult.Indeterminate {
			t.Errorf("%s: certificate %s", s.Object, s.CertValidity)
		}
	}
	if got.Report.Sender.Confirmed != (ConfirmedSender{}) {
		t.Fatalf("confirmed %+v", got.Report.Sender.Confirmed)
	}
}

// TestNotForUs: content encrypted to another key is reported, not dropped.
func TestNotForUs(t *testing.T) {
	w := newWorld(t)
	pkg := build(t, builder(t), outgoing(t, doc("a.pdf", pdf(100, "n"))))
	d, parts := w.roundTrip(t, pkg)
	r := reader(t, generalCAs...)
	r.Cipher = pki(t, "intermediary-cipher")
	got, err := r.Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.Verdict().Status != checkresult.Invalid || len(got.Report.Problems) == 0 || got.MessageID != d.MessageID {
		t.Fatalf("report %+v", got.Report)
	}
}

func TestBuildRefuses(t *testing.T) {
	cipher := certstest.PKICert(t, "mailbox-cipher")
	many := make([]Document, 3)
	for i := range many {
		many[i] = doc("d.pdf", []byte("x"))
	}
	tests := []struct {
		name   string
		o      Outgoing
		lim    Limits
		cert   bool
		target error
	}{
		{"too many files", outgoing(t, many...), Limits{MaxFiles: 2}, true, ErrTooLarge},
		{"too many bytes", outgoing(t, doc("a.pdf", pdf(2000, "x")), doc("b.pdf", pdf(2000, "y"))), Limits{MaxBytes: 3000}, true, ErrTooLarge},
		{"no addressee", outgoing(t), Limits{}, false, ErrInvalid},
		{"no recipient id", Outgoing{SenderID: ourID}, Limits{}, true, ErrInvalid},
		{"control character", Outgoing{SenderID: ourID, RecipientID: theirID, Subject: "a\x01b"}, Limits{}, true, ErrInvalid},
		// Names come validated by the submission; what cannot be a Content
		// Id is refused, never renamed.
		{"name not a content id", outgoing(t, doc("001 Antrag (Entwurf).pdf", []byte("x"))), Limits{}, true, ErrInvalid},
		{"name with a path", outgoing(t, doc("Anlage/002.pdf", []byte("x"))), Limits{}, true, ErrInvalid},
		{"name starting with a dash", outgoing(t, doc("-a.pdf", []byte("x"))), Limits{}, true, ErrInvalid},
		{"reserved name", outgoing(t, doc("Nachricht.xml", []byte("x"))), Limits{}, true, ErrInvalid},
		{"same name without regard to case", outgoing(t, doc("CON.pdf", []byte("x")), doc("con.pdf", []byte("y"))), Limits{}, true, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := builder(t)
			b.Limits = tc.lim
			c := cipher
			if !tc.cert {
				c = nil
			}
			_, err := b.Build(tc.o, c)
			if !errors.Is(err, tc.target) {
				t.Fatalf("err %v, want %v", err, tc.target)
			}
			left, _ := os.ReadDir(b.SpoolDir)
			if len(left) != 0 {
				t.Fatalf("%d spool files left", len(left))
			}
		})
	}
}

func TestEEBWithoutXJustizWarns(t *testing.T) {
	pkg := build(t, builder(t), outgoing(t, doc("a.pdf", []byte("%PDF"))))
	if len(pkg.Warnings) != 1 {
		t.Fatalf("warnings %q", pkg.Warnings)
	}
}

// TestReadBeyondLimits: a delivery beyond the Reader's limits (which guard
// our disk) is not read: Read returns ErrTooLarge, so that the caller
// keeps it as received and reads it again with higher limits.
func TestReadBeyondLimits(t *testing.T) {
	pkg := build(t, builder(t), outgoing(t, doc("a.pdf", pdf(2000, "a")), doc("b.pdf", pdf(2000, "b"))))
	d, parts := newWorld(t).roundTrip(t, pkg)
	for _, lim := range []Limits{{MaxFiles: 1}, {MaxBytes: 3000}} {
		r := reader(t, generalCAs...)
		r.Limits = lim
		if got, err := r.Read(context.Background(), d, parts, t.TempDir()); !errors.Is(err, ErrTooLarge) || got != nil {
			t.Fatalf("limits %+v: %v", lim, err)
		}
	}
	if got, err := reader(t, generalCAs...).Read(context.Background(), d, parts, t.TempDir()); err != nil || len(got.Documents) != 2 {
		t.Fatalf("default limits: %v", err)
	}
}

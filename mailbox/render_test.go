package mailbox

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

var g0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// sampleIntake is a received message with the fields a real beBPo
// delivery carries (compare vectors/egvp: MsgProps.xml, pruefvermerk.xml),
// plus markup in free text that every renderer must escape.
func sampleIntake() *IntakeMessage {
	docs := []struct{ name, ct, body string }{
		{"001_Ermittlungsübersicht_Abverfügung.pdf", "application/pdf", "%PDF-1.7 eins"},
		{"../002 Antrag <b>.pdf", "application/pdf", "%PDF-1.7 zwei"},
		{"xjustiz_nachricht.xml", "application/xml", "<nachricht/>"},
	}
	rep := VerificationReport{CheckedAt: g0.Add(time.Minute), VHNPresent: true, Verdict: checkresult.Indeterminate, Reason: "check_indeterminate",
		ReasonText:  "Mindestens eine Prüfung lieferte kein Ergebnis: 002 Antrag <b>.pdf: Integrität ok, Zertifikat indeterminate",
		SenderNotes: []string{"Die Nutzer-ID ist im Verzeichnis <nicht> verzeichnet."},
		Contents: []ContentCheck{
			{Container: "project_coco", Name: "visitenkarte.xml", Kind: "form", Delivered: true, Signed: true, SignedBy: []string{"CN=ZZZ Testpostfach Polizeipräsidium Koblenz"}},
			{Container: "project_coco", Name: "001_Ermittlungsübersicht_Abverfügung.pdf", Kind: "document", Delivered: true, Signed: true,
				SignedBy: []string{"CN=ZZZ Testpostfach Polizeipräsidium Koblenz"}},
			{Container: "project_coco", Name: "../002 Antrag <b>.pdf", Kind: "document", Delivered: true},
			{Container: "project_coco", Name: "nachricht.xsl", Kind: "stylesheet"},
		},
		VHNText: "Sicherer Übermittlungsweg aus einem besonderen Behördenpostfach.",
		Signatures: []SignatureCheck{
			{Object: "OSCI-Nachricht", Kind: "vhn", Integrity: checkresult.OK, CertValidity: checkresult.Valid, CertType: "advanced",
				Signer: "CN=ZZZ Testpostfach Polizeipräsidium Koblenz", Issuer: "CN=beBPo VHN CA 2017", Serial: "17d22c2d135",
				SigningTime: g0.Add(-time.Hour), CheckedAt: g0.Add(time.Minute)},
			{Object: "002 Antrag <b>.pdf", Kind: "document", Integrity: checkresult.OK, CertValidity: checkresult.Indeterminate, CertType: "qualified",
				Signer: `CN=Max "<Mustermann>" & Co`, Issuer: "CN=QES CA", Serial: "01", CheckedAt: g0.Add(time.Minute),
				Detail: "Sperrstatus nicht abrufbar <OCSP>", Document: "../002 Antrag <b>.pdf", Result: checkresult.Indeterminate},
			{Object: "001_Ermittlungsübersicht_Abverfügung.pdf (001_Ermittlungsübersicht_Abverfügung.pdf.p7s)", Kind: SignatureKindDocument,
				Integrity: checkresult.Corrupted, CertValidity: checkresult.Indeterminate, Signer: "CN=Staatsanwältin Test", Issuer: "CN=QES CA", Serial: "02",
				SigningTime: g0.Add(-2 * time.Hour), CheckedAt: g0.Add(time.Minute),
				Detail:   "Das Dokument wurde nach der Signatur verändert oder die Signatur ist gefälscht.",
				Document: "001_Ermittlungsübersicht_Abverfügung.pdf", Result: checkresult.Invalid},
		},
		DocumentVerdict:     checkresult.Invalid,
		DocumentVerdictText: "1 von 2 Signaturen der Dokumente ist ungültig: 001_Ermittlungsübersicht_Abverfügung.pdf <verändert>",
		Certificates:        []ReportCertificate{{Role: "originator", DER: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}, {Role: "vhn", DER: []byte{0x30, 0x03, 0x02, 0x01, 0x02}}}}
	im := &IntakeMessage{Report: rep}
	var names []string
	for _, d := range docs {
		names = append(names, d.name)
	}
	md := IntakeMetadata{Version: intakeFormatVer, MessageID: "govapp_1638957835003741065649003093795", Mailbox: "DE.BeBPo.erkelenz.1234",
		Sender: SenderIdentity{
			Confirmed: ConfirmedSender{SafeID: "DE.Justiz.5d5d58af-adff-55b7-875c-6548acd55b74.2222", RoleID: "egvp_bebpo",
				Certificate: "UID=DE.Justiz.5d5d58af-adff-55b7-875c-6548acd55b74.2222,CN=VHN - besonderes elektronisches Behördenpostfach",
				Issuer:      "CN=beBPo VHN CA 2017,O=BNotK,C=DE", TrustedFor: "vhn"},
			Claimed: Party{SafeID: "DE.Justiz.5d5d58af-adff-55b7-875c-6548acd55b74.2222", RoleID: "egvp_bebpo",
				Name: "ZZZ Testpostfach <Polizeipräsidium> Koblenz", Organisation: "Polizeipräsidium"}},
		OSCISubject: "Testnachricht", UserSubject: `Funktionsabfrage <script>alert("x")</script> & mehr`, CaseNumberSender: "4 Js 123/26",
		CaseNumberRecipient: "32-10/2026", XJustizMessageID: "2f1c7a4e-9d1b-4c55-8a1e-2b7f4a9d0c11", EEBRequested: true,
		Creation: fmtTime(g0), Forwarding: fmtTime(g0.Add(time.Second)), StoredAt: fmtTime(g0.Add(2 * time.Second)),
		Reception:      fmtTime(g0.Add(3 * time.Second)),
		OriginalSHA256: sha256Hex("original"), VerificationStatus: rep.Status(), VerificationReason: rep.Reason, VHNPresent: true,
		DocumentSignatureStatus: rep.DocumentVerdict}
	for i, safe := range UniqueFileNames(names) {
		body := docs[i].body
		f := IntakeFile{FileName: safe, OriginalName: docs[i].name, ContentType: docs[i].ct, Size: int64(len(body)), SHA256: sha256Hex(body),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }}
		im.Documents = append(im.Documents, f)
		signed, how, by := rep.DocumentSignature(f.OriginalName)
		md.Documents = append(md.Documents, DocumentMeta{FileName: safe, OriginalName: f.OriginalName, Size: f.Size, SHA256: f.SHA256,
			ContentType: f.ContentType, Signed: signed, Coverage: how, SignedBy: by, DocumentSignature: rep.DocumentSignatureResult(f.OriginalName)})
	}
	im.Original = IntakeFile{FileName: FileOriginal, Size: 8, SHA256: sha256Hex("original"),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("original")), nil }}
	im.Metadata = md
	return im
}

func sha256Hex(s string) string { return sum([]byte(s)) }

func TestIntakeGolden(t *testing.T) {
	im := sampleIntake()
	files, err := entryFiles(im)
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string][]byte{}
	for _, f := range files {
		if f.Blob == nil {
			rendered[f.Path] = f.Data
		}
	}
	for _, name := range []string{FileMetadataJSON, FileMetadataXML, FileReportXML, FileReportHTML, FileReportPDF} {
		t.Run(name, func(t *testing.T) {
			certstest.Golden(t, filepath.Join("testdata", "golden", name), rendered[name], *update)
		})
	}
}

func TestIntakeRenderEscapes(t *testing.T) {
	im := sampleIntake()
	for _, tc := range []struct {
		name      string
		render    func() ([]byte, error)
		forbidden []string
	}{
		{"html", func() ([]byte, error) { return RenderReportHTML(im.Metadata, im.Report) },
			[]string{"<script>", "Antrag <b>", "<OCSP>", `"<Mustermann>"`, "<Polizeipräsidium>", "<nicht>"}},
		{"metadata xml", func() ([]byte, error) { return RenderMetadataXML(im.Metadata) }, []string{"<script>", "Antrag <b>", "<Polizeipräsidium>"}},
		{"report xml", func() ([]byte, error) { return RenderReportXML(im.Metadata, im.Report) },
			[]string{"<OCSP>", "<Mustermann>", "<Polizeipräsidium>", "<nicht>", "Antrag <b>"}},
	} {
		b, err := tc.render()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, f := range tc.forbidden {
			if bytes.Contains(b, []byte(f)) {
				t.Errorf("%s: unescaped %q", tc.name, f)
			}
		}
	}
}

// A clerk reads German local time: a message received at 00:30 in
// Germany arrived that day, which UTC would put on the day before (the
// wrong day for a deadline); summer time says MESZ.
func TestReportShowsGermanLocalTime(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC), "03.12.2026, 00:30:00 Uhr (MEZ)"},
		{"2026-07-01T22:15:00Z", "02.07.2026, 00:15:00 Uhr (MESZ)"},
		// Received at 23:30 UTC on 31 March: in Erkelenz it is 1 April, the
		// day a deadline counts from.
		{time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC), "01.04.2026, 01:30:00 Uhr (MESZ)"},
		{"", ""},
		{time.Time{}, ""},
	} {
		if got := LocalTime(c.in); got != c.want {
			t.Errorf("LocalTime(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A document with a broken signature beside a valid one counts as broken,
// a result this version does not know never as valid, and another
// document's signatures not at all.
func TestDocumentSignatureResult(t *testing.T) {
	r := VerificationReport{Signatures: []SignatureCheck{
		{Kind: "vhn", Document: "a.pdf", Result: checkresult.Invalid},
		{Kind: SignatureKindDocument, Document: "a.pdf", Result: checkresult.Valid},
		{Kind: SignatureKindDocument, Document: "a.pdf", Result: checkresult.Invalid},
		{Kind: SignatureKindDocument, Document: "b.pdf", Result: checkresult.Valid},
		{Kind: SignatureKindDocument, Document: "c.pdf", Result: "qualified-ish"},
	}}
	for name, want := range map[string]string{"a.pdf": checkresult.Invalid, "b.pdf": checkresult.Valid, "c.pdf": checkresult.Indeterminate, "d.pdf": ""} {
		if got := r.DocumentSignatureResult(name); got != want {
			t.Errorf("DocumentSignatureResult(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestReportPDFSaysWhatTheHTMLSays: the PDF the records office files is a
// PDF other software reads (poppler's pdftotext), in German, with local
// time and the same verdict as the HTML.
func TestReportPDFSaysWhatTheHTMLSays(t *testing.T) {
	pdftotext := certstest.NeedTool(t, "pdftotext")
	im := sampleIntake()
	b, err := RenderReportPDF(im.Metadata, im.Report)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), FileReportPDF)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", p, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"Prüfprotokoll", "Gesamtergebnis", resultDE(im.Report.Status()), LocalTime(im.Report.CheckedAt),
		im.Metadata.MessageID, "Angaben des Absenders (nicht bestätigt)", "Dokumente"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	again, err := RenderReportPDF(im.Metadata, im.Report)
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("a second rendering differs (%v): a repeated delivery would not be byte-identical", err)
	}
}

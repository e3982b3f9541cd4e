package xdomea_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xdomea"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func opts() xdomea.Options {
	// Test values: the code list is the records system's.
	return xdomea.Options{Recipient: "Stadt Erkelenz", FormatCodes: map[string]string{"pdf": "T-PDF", "xml": "T-XML"}, FormatOther: "T-OTHER", FormatListVersion: "T-1"}
}

func file(name, ct string, data []byte) mailbox.IntakeFile {
	s := sha256.Sum256(data)
	return mailbox.IntakeFile{FileName: name, OriginalName: name, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(s[:]),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

func sample() *mailbox.IntakeMessage {
	orig := file(mailbox.FileOriginal, "multipart/related", []byte("--osci original--"))
	return &mailbox.IntakeMessage{
		Metadata: mailbox.IntakeMetadata{Version: "1", MessageID: "govapp_4711", Mailbox: "stadt",
			Sender:      mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: "DE.Justiz.lg-koeln.1"}, Claimed: mailbox.Party{SafeID: "DE.Justiz.lg-koeln.1", Name: "Landgericht Köln", Organisation: "Landgericht Köln"}},
			UserSubject: "Ladung zum Termin", CaseNumberSender: "2 O 17/26", CaseNumberRecipient: "32-07-4711", EEBRequested: true,
			Reception: "2026-03-02T09:32:00Z", StoredAt: "2026-03-02T09:30:00Z", OriginalSHA256: orig.SHA256, VerificationStatus: mailbox.ResultValid, Route: "lg-zivil"},
		Report:    mailbox.VerificationReport{CheckedAt: t0, Verdict: mailbox.ResultValid},
		Original:  orig,
		Documents: []mailbox.IntakeFile{file("001_Ladung.pdf", "application/pdf", []byte("%PDF-1.7 Ladung")), file("xjustiz_nachricht.xml", "application/xml", []byte("<x/>"))},
	}
}

// xmllint runs xmllint --schema on doc with the embedded schema files,
// as published, from the package directory.
func xmllint(t *testing.T, doc []byte) (string, error) {
	t.Helper()
	tool := certstest.NeedTool(t, "xmllint")
	p := filepath.Join(t.TempDir(), "abgabe.xml")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	xsdPath := filepath.Join("schema", "3.0.0", "xdomea-Nachrichten-AbgabeDurchfuehren.xsd")
	out, err := exec.Command(tool, "--noout", "--nonet", "--schema", xsdPath, p).CombinedOutput()
	return string(out), err
}

// TestAbgabeValidAgainstOfficialSchema is the acceptance: the
// 0401 the gateway writes validates against the official xdomea schema,
// by our validator and by xmllint.
func TestAbgabeValidAgainstOfficialSchema(t *testing.T) {
	a, err := xdomea.Build(sample(), opts())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := xmllint(t, a.XML); err != nil {
		t.Fatalf("xmllint: %v\n%s\n%s", err, out, a.XML)
	}
	for _, want := range []string{"<xdomea:ProzessID>" + a.ProzessID, "<code>0401</code>", "<xdomea:Kennzeichen>32-07-4711</xdomea:Kennzeichen>",
		"<xdomea:FremdesGeschaeftszeichen>2 O 17/26</xdomea:FremdesGeschaeftszeichen>", "<xdomea:Kennung>DE.Justiz.lg-koeln.1</xdomea:Kennung>",
		"Prüfprotokoll", "_001_Ladung.pdf</xdomea:Dateiname>", "<MessageId>govapp_4711</MessageId>", "<Regel>lg-zivil</Regel>"} {
		if !bytes.Contains(a.XML, []byte(want)) {
			t.Errorf("0401 lacks %s", want)
		}
	}
	if len(a.Files) != 5 {
		t.Errorf("%d primary files, want 2 documents, 2 report formats, 1 original", len(a.Files))
	}
	b, err := xdomea.Build(sample(), opts())
	if err != nil || !bytes.Equal(a.XML, b.XML) {
		t.Fatalf("the same message builds different bytes (%v)", err)
	}
}

// TestValidateMatchesXmllint breaks a valid 0401 and expects our
// validator and xmllint to refuse it alike.
func TestValidateMatchesXmllint(t *testing.T) {
	a, err := xdomea.Build(sample(), opts())
	if err != nil {
		t.Fatal(err)
	}
	breaks := map[string]func([]byte) []byte{
		"no ProzessID": func(b []byte) []byte { return cut(t, b, "<xdomea:ProzessID>", "</xdomea:ProzessID>") },
		"ProzessID not a UUID": func(b []byte) []byte {
			return bytes.Replace(b, []byte("<xdomea:ProzessID>"), []byte("<xdomea:ProzessID>x"), 1)
		},
		"Dateiname not UUID": func(b []byte) []byte {
			return bytes.Replace(b, []byte("<xdomea:Dateiname>"), []byte("<xdomea:Dateiname>Ladung-"), 1)
		},
		"wrong message type list": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`listVersionID="2.0"`), []byte(`listVersionID="9.9"`), 1)
		},
		"no Schriftgutobjekt": func(b []byte) []byte { return cut(t, b, "<xdomea:Schriftgutobjekt>", "</xdomea:Schriftgutobjekt>") },
	}
	for name, brk := range breaks {
		t.Run(name, func(t *testing.T) {
			doc := brk(a.XML)
			out, lintErr := xmllint(t, doc)
			err := xdomea.Validate(xdomea.Version3, doc, opts().Limits)
			if lintErr == nil || !errors.Is(err, xdomea.ErrInvalid) {
				t.Fatalf("xmllint %v, Validate %v\n%s", lintErr, err, out)
			}
		})
	}
	if out, err := xmllint(t, a.XML); err != nil || xdomea.Validate("", a.XML, opts().Limits) != nil {
		t.Fatalf("the unbroken message: xmllint %v %s", err, out)
	}
}

func cut(t *testing.T, b []byte, from, to string) []byte {
	i, j := bytes.Index(b, []byte(from)), bytes.Index(b, []byte(to))
	if i < 0 || j < i {
		t.Fatalf("no %s…%s", from, to)
	}
	return append(append([]byte{}, b[:i]...), b[j+len(to):]...)
}

func TestOptionsRefused(t *testing.T) {
	for name, o := range map[string]xdomea.Options{
		"4.0.0 without schemas": {Version: xdomea.Version4, FormatOther: "x", FormatListVersion: "1"},
		"unknown version":       {Version: "2.4.0", FormatOther: "x", FormatListVersion: "1"},
		"no format codes":       {},
	} {
		if err := o.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (xdomea.Options{Version: xdomea.Version4, FormatOther: "x", FormatListVersion: "1"}).Check(); !errors.Is(err, xdomea.ErrVersion) || !strings.Contains(err.Error(), "4.0.0") {
		t.Errorf("4.0.0: %v", err)
	}
}

func readAll(t *testing.T, r io.ReadCloser) []byte {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

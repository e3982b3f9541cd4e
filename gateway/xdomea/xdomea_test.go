package xdomea_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xdomea"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
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
			Reception: "2026-03-02T09:32:00Z", StoredAt: "2026-03-02T09:30:00Z", OriginalSHA256: orig.SHA256, VerificationStatus: checkresult.Valid, Route: "lg-zivil"},
		Report:    mailbox.VerificationReport{CheckedAt: t0, Verdict: checkresult.Valid},
		Original:  orig,
		Documents: []mailbox.IntakeFile{file("001_Ladung.pdf", "application/pdf", []byte("%PDF-1.7 Ladung")), file("xjustiz_nachricht.xml", "application/xml", []byte("<x/>"))},
	}
}

// xmllint runs xmllint --schema on doc with the embedded schema files of
// version, as published, from the package directory, without network.
// The absolute schema locations the 4.0.0 files import resolve through an
// XML catalog written here, the same table the package's loader uses.
func xmllint(t *testing.T, version string, doc []byte) (string, error) {
	t.Helper()
	tool := certstest.NeedTool(t, "xmllint")
	dir := t.TempDir()
	p := filepath.Join(dir, "abgabe.xml")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if version == "" {
		version = xdomea.Version3
	}
	schemaDir, err := filepath.Abs("schema")
	if err != nil {
		t.Fatal(err)
	}
	var cat strings.Builder
	cat.WriteString(`<?xml version="1.0"?>` + "\n" + `<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">` + "\n")
	for loc, file := range xdomea.SchemaCatalog(version) {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(schemaDir, filepath.FromSlash(file)))}
		fmt.Fprintf(&cat, "  <uri name=%q uri=%q/>\n", loc, u.String())
	}
	cat.WriteString("</catalog>\n")
	catalog := filepath.Join(dir, "catalog.xml")
	if err := os.WriteFile(catalog, []byte(cat.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	xsdPath := filepath.Join("schema", version, "xdomea-Nachrichten-AbgabeDurchfuehren.xsd")
	cmd := exec.Command(tool, "--noout", "--nonet", "--catalogs", "--schema", xsdPath, p)
	cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+catalog)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func optsFor(version string) xdomea.Options {
	o := opts()
	o.Version = version
	return o
}

// build is the 0401 of sample in version; a refusal ends the test.
func build(t *testing.T, version string) *xdomea.Abgabe {
	t.Helper()
	a, err := xdomea.Build(sample(), optsFor(version))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAbgabeValidAgainstOfficialSchema is the acceptance: the
// 0401 the gateway writes validates against the official xdomea schema
// of each version, by our validator and by xmllint.
func TestAbgabeValidAgainstOfficialSchema(t *testing.T) {
	for _, v := range xdomea.Versions() {
		t.Run(v, func(t *testing.T) {
			a := build(t, v)
			if out, err := xmllint(t, v, a.XML); err != nil {
				t.Fatalf("xmllint: %v\n%s\n%s", err, out, a.XML)
			}
			want := []string{"<xdomea:ProzessID>" + a.ProzessID, "<code>0401</code>", "<xdomea:Kennzeichen>32-07-4711</xdomea:Kennzeichen>",
				"<xdomea:FremdesGeschaeftszeichen>2 O 17/26</xdomea:FremdesGeschaeftszeichen>", "<xdomea:Name>Landgericht Köln</xdomea:Name>",
				"Prüfprotokoll", "_001_Ladung.pdf</xdomea:Dateiname>", "<MessageId>govapp_4711</MessageId>", "<Regel>lg-zivil</Regel>",
				`xmlns:xdomea="urn:xoev-de:xdomea:schema:` + v + `"`}
			switch v {
			case xdomea.Version3:
				want = append(want, "<xdomea:Kopf>", `listVersionID="2.0"`, "<xdomea:Kennung>DE.Justiz.lg-koeln.1</xdomea:Kennung>", "<xdomea:ID>")
			case xdomea.Version4:
				want = append(want, "<xdomea:nachrichtenkopf>", `listVersionID="3.0"`, `version="4.0.0"`, "<xdomea:xdomeaUUID>",
					"<xdomea:DokumentOderDokumentMitSchriftstueck>", "<xdomea:Autor>", "<erstellungszeitpunkt>2026-03-02T09:30:00.000Z</erstellungszeitpunkt>",
					"<xdomea:LfdNrNachrichtProTyp>1</xdomea:LfdNrNachrichtProTyp>")
			}
			for _, w := range want {
				if !bytes.Contains(a.XML, []byte(w)) {
					t.Errorf("0401 lacks %s", w)
				}
			}
			if len(a.Files) != 5 {
				t.Errorf("%d primary files, want 2 documents, 2 report formats, 1 original", len(a.Files))
			}
			if b := build(t, v); !bytes.Equal(a.XML, b.XML) {
				t.Fatal("the same message builds different bytes")
			}
		})
	}
}

// TestValidateMatchesXmllint breaks a valid 0401 of each version and
// expects our validator and xmllint to refuse it alike.
func TestValidateMatchesXmllint(t *testing.T) {
	for _, v := range xdomea.Versions() {
		t.Run(v, func(t *testing.T) {
			a := build(t, v)
			listVersion := map[string]string{xdomea.Version3: "2.0", xdomea.Version4: "3.0"}[v]
			breaks := map[string]func([]byte) []byte{
				"no ProzessID": func(b []byte) []byte { return cut(t, b, "<xdomea:ProzessID>", "</xdomea:ProzessID>") },
				"ProzessID not a UUID": func(b []byte) []byte {
					return bytes.Replace(b, []byte("<xdomea:ProzessID>"), []byte("<xdomea:ProzessID>x"), 1)
				},
				"Dateiname not UUID": func(b []byte) []byte {
					return bytes.Replace(b, []byte("<xdomea:Dateiname>"), []byte("<xdomea:Dateiname>Ladung-"), 1)
				},
				"wrong message type list": func(b []byte) []byte {
					return bytes.Replace(b, []byte(`listVersionID="`+listVersion+`"`), []byte(`listVersionID="9.9"`), 1)
				},
				"no Schriftgutobjekt": func(b []byte) []byte { return cut(t, b, "<xdomea:Schriftgutobjekt>", "</xdomea:Schriftgutobjekt>") },
				"other version's namespace": func(b []byte) []byte {
					return bytes.Replace(b, []byte("urn:xoev-de:xdomea:schema:"+v), []byte("urn:xoev-de:xdomea:schema:2.4.0"), 1)
				},
			}
			if v == xdomea.Version4 {
				breaks["wrong standard version attribute"] = func(b []byte) []byte {
					return bytes.Replace(b, []byte(`version="4.0.0"`), []byte(`version="3.0.0"`), 1)
				}
				breaks["qualified head identification"] = func(b []byte) []byte {
					b = bytes.Replace(b, []byte("<nachrichtenUUID>"), []byte("<xdomea:nachrichtenUUID>"), 1)
					return bytes.Replace(b, []byte("</nachrichtenUUID>"), []byte("</xdomea:nachrichtenUUID>"), 1)
				}
			}
			for name, brk := range breaks {
				t.Run(name, func(t *testing.T) {
					doc := brk(a.XML)
					if bytes.Equal(doc, a.XML) {
						t.Fatal("nothing broken")
					}
					out, lintErr := xmllint(t, v, doc)
					err := xdomea.Validate(v, doc, opts().Limits)
					if lintErr == nil || !errors.Is(err, xdomea.ErrInvalid) {
						t.Fatalf("xmllint %v, Validate %v\n%s", lintErr, err, out)
					}
				})
			}
			if out, err := xmllint(t, v, a.XML); err != nil || xdomea.Validate(v, a.XML, opts().Limits) != nil {
				t.Fatalf("the unbroken message: xmllint %v %s", err, out)
			}
		})
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
		"unknown version": {Version: "2.4.0", FormatOther: "x", FormatListVersion: "1"},
		"no format codes": {},
	} {
		if err := o.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (xdomea.Options{Version: "2.4.0", FormatOther: "x", FormatListVersion: "1"}).Check(); !errors.Is(err, xdomea.ErrVersion) || !strings.Contains(err.Error(), "2.4.0") {
		t.Errorf("2.4.0: %v", err)
	}
	for _, v := range []string{"", xdomea.Version3, xdomea.Version4} {
		if err := (xdomea.Options{Version: v, FormatOther: "x", FormatListVersion: "1"}).Check(); err != nil {
			t.Errorf("%q refused: %v", v, err)
		}
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

package xjustiz_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

// vector is the XJustiz record of a real message in the shared vectors.
func vector(t testing.TB, msg string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "vectors", "egvp", msg, "attachments", "xjustiz_nachricht.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// removeLine drops the (first) line of rec that contains marker.
func removeLine(t testing.TB, rec []byte, marker string) []byte {
	t.Helper()
	lines := bytes.Split(rec, []byte("\n"))
	for i, l := range lines {
		if bytes.Contains(l, []byte(marker)) {
			return bytes.Join(append(lines[:i:i], lines[i+1:]...), []byte("\n"))
		}
	}
	t.Fatalf("no line with %s", marker)
	return nil
}

func TestReadBuiltSubmission(t *testing.T) {
	c := newCodec(t, "read")
	b := build(t, c.BuildSubmission, twoDocuments(t))
	r, err := c.Read(b.Record)
	if err != nil {
		t.Fatal(err)
	}
	if r.Validation != nil || r.Generation != "3.5.1" || r.Version != "3.5.1" || r.Message != xjustiz.MessageSubmission {
		t.Fatalf("record %+v", r)
	}
	if r.MessageID != b.MessageID || r.ForeignMessageID != "" || !r.Created.Equal(testNow) {
		t.Errorf("ids/time %+v", r)
	}
	if r.CaseSender != "32.1-2026/0815" || r.CaseRecipient != "12 C 345/26" || r.RecipientCourt != "R1502" ||
		r.SenderName != "Stadt Erkelenz" || r.SenderCourt != "" || r.Subject != "Räumung städtischer Obdachlosenunterkunft" {
		t.Errorf("header %+v", r)
	}
	if !r.EEBRequested || len(r.Documents) != 2 || r.EEB != nil {
		t.Fatalf("documents %+v", r.Documents)
	}
	d := r.Documents[0]
	if d.ID != b.Documents[0].ID || d.Class != "003" || d.Title != "Klage.pdf" || !d.EEB || len(d.Files) != 2 {
		t.Fatalf("document %+v", d)
	}
	if d.Files[0] != (xjustiz.File{Name: b.Documents[0].FileName, Part: "001"}) ||
		d.Files[1] != (xjustiz.File{Name: b.Documents[0].SignatureName, Part: "003", RefersTo: b.Documents[0].FileName}) {
		t.Errorf("files %+v", d.Files)
	}
}

// TestReadRealSubmission321 reads the real XJustiz 3.2.1 filing a
// production receiver stored: read in full, flagged as not of a
// generation this build carries.
func TestReadRealSubmission321(t *testing.T) {
	r, err := newCodec(t, "x").Read(vector(t, "Testnachricht_xjustiz321"))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.Validation, xjustiz.ErrUnknownGeneration) || r.Version != "3.2.1" {
		t.Errorf("validation %v version %q", r.Validation, r.Version)
	}
	if r.MessageID != "62f956dd-af24-4ab3-a6ae-fbe28244b380" || r.CaseSender != "Ohne" ||
		r.SenderName != "DE.Justiz.5d5d58af-adff-55b7-875c-6548acd55b74.2222" || r.Subject != "Funktionsabfrage" {
		t.Errorf("header %+v", r)
	}
	if len(r.Documents) != 3 || r.EEBRequested {
		t.Fatalf("documents %+v", r.Documents)
	}
	if d := r.Documents[2]; d.ID != "c249b7c5-bf46-4058-92b4-c6a779b0401f" || d.Files[0].Name != "002_Antrag_auf_richterliche_Entscheidung_zur_Wohnungsdurchsuchung.pdf" || d.Class != "001" {
		t.Errorf("document %+v", d)
	}
}

// TestReadEEBRequest: a court's filing that asks for an eEB is read with
// the request, as the eEB task needs it; an invalid one still is.
func TestReadEEBRequest(t *testing.T) {
	c := newCodec(t, "request")
	b := build(t, c.BuildSubmission, twoDocuments(t))
	broken := bytes.Replace(b.Record, []byte("<tns:nummerImUebergeordnetenContainer>1<"), []byte("<tns:nummerImUebergeordnetenContainer>0<"), 1)
	r, err := c.Read(broken)
	if err != nil {
		t.Fatal(err)
	}
	var ve *xjustiz.ValidationError
	if !errors.As(r.Validation, &ve) || !errors.Is(r.Validation, xjustiz.ErrSchema) || ve.Problems[0].Line == 0 || r.Generation != "" {
		t.Errorf("validation %v", r.Validation)
	}
	if !r.EEBRequested || r.MessageID != b.MessageID || len(r.Documents) != 2 {
		t.Errorf("record %+v", r)
	}
}

func TestReadRefusals(t *testing.T) {
	c := newCodec(t, "x")
	good := build(t, c.BuildSubmission, twoDocuments(t))
	small, err := xjustiz.New(xjustiz.Options{Limits: xjustiz.Limits{MaxBytes: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	oneDoc, err := xjustiz.New(xjustiz.Options{Limits: xjustiz.Limits{MaxDocuments: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		codec *xjustiz.Codec
		rec   []byte
		want  error
	}{
		{"empty", c, nil, xjustiz.ErrMalformed},
		{"not xml", c, []byte("%PDF-1.7"), xjustiz.ErrMalformed},
		{"truncated", c, good.Record[:len(good.Record)/2], xjustiz.ErrMalformed},
		{"foreign root", c, []byte(`<nachricht.x xmlns="urn:other"/>`), xjustiz.ErrUnsupported},
		{"doctype", c, []byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><tns:nachricht.eeb.zuruecklaufend.2200007 xmlns:tns="http://www.xjustiz.de">&e;</tns:nachricht.eeb.zuruecklaufend.2200007>`), xjustiz.ErrMalformed},
		{"too large", small, good.Record, xjustiz.ErrTooLarge},
		{"too many documents", oneDoc, good.Record, xjustiz.ErrTooLarge},
		{"latin-1", c, []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><x/>"), xjustiz.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.codec.Read(tc.rec)
			if !errors.Is(err, tc.want) || r != nil {
				t.Fatalf("got %+v, %v; want %v", r, err, tc.want)
			}
		})
	}
}

// TestMalformedCarriesLine: a record that is not well-formed is refused
// with libxml2's message and line.
func TestMalformedCarriesLine(t *testing.T) {
	c := newCodec(t, "x")
	good := build(t, c.BuildSubmission, twoDocuments(t))
	bad := bytes.Replace(good.Record, []byte("</tns:gegenstand>"), []byte("</tns:gegenstant>"), 1)
	err := c.Validate(bad)
	var ve *xjustiz.ValidationError
	if !errors.Is(err, xjustiz.ErrMalformed) || !errors.As(err, &ve) || ve.Problems[0].Line != 36 {
		t.Fatalf("got %v, want ErrMalformed at line 36", err)
	}
	if !strings.Contains(ve.Problems[0].Message, "gegenstand") {
		t.Errorf("message %q", ve.Problems[0].Message)
	}
}

func TestValidateUnsupportedMessage(t *testing.T) {
	rec := []byte(`<tns:nachricht.gds.basisnachricht.0005006 xmlns:tns="http://www.xjustiz.de"><tns:nachrichtenkopf xjustizVersion="3.5.1"/></tns:nachricht.gds.basisnachricht.0005006>`)
	if err := newCodec(t, "x").Validate(rec); !errors.Is(err, xjustiz.ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
}

// TestValidateWithoutVersion: a record declaring no version is checked
// against the Codec's generation, so the schema says what is missing.
func TestValidateWithoutVersion(t *testing.T) {
	c := newCodec(t, "x")
	b := build(t, c.BuildEEB, eebAnswer(t))
	rec := bytes.Replace(b.Record, []byte(` xjustizVersion="3.5.1"`), nil, 1)
	err := c.Validate(rec)
	var ve *xjustiz.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, xjustiz.ErrSchema) || !strings.Contains(ve.Problems[0].Message, "xjustizVersion") {
		t.Fatalf("got %v, want the schema's message on xjustizVersion", err)
	}
}

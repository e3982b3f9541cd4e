package xjustiz_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

func TestBuildSubmissionTwoDocumentsEEB(t *testing.T) {
	b := build(t, newCodec(t, "two documents").BuildSubmission, twoDocuments(t))
	golden(t, "submission_two_documents_eeb.xml", b.Record)
	if len(b.Documents) != 2 {
		t.Fatalf("documents %+v", b.Documents)
	}
	d0 := b.Documents[0]
	if d0.FileName != "Klage_"+d0.ID+".pdf" || d0.SignatureName != d0.FileName+".p7s" {
		t.Errorf("names %+v", d0)
	}
	if d1 := b.Documents[1]; d1.FileName != "Anlage_K1_Mietvertrag_"+d1.ID+".pdf" || d1.SignatureName != "" {
		t.Errorf("names %+v", d1)
	}
	if !b.Created.Equal(testNow) {
		t.Errorf("created %v", b.Created)
	}
	rec := string(b.Record)
	for _, want := range []string{
		`<tns:eigeneNachrichtenID>` + b.MessageID + `<`,
		`<tns:id>` + d0.ID + `<`,
		`<tns:erstellungszeitpunkt>2026-03-05T10:15:30.250+01:00<`,
		`<tns:empfaenger.gericht listVersionID="3.6">`,
		`<code>R1502</code>`,
	} {
		if !strings.Contains(rec, want) {
			t.Errorf("record lacks %s", want)
		}
	}
	if n := strings.Count(rec, "<tns:ruecksendungEEB.erforderlich>true<"); n != 2 {
		t.Errorf("eEB requested on %d documents, want 2", n)
	}
}

func TestBuildSubmissionMinimal(t *testing.T) {
	b, err := newCodec(t, "minimal").BuildSubmission(xjustiz.Submission{
		Court:     court(t, "R1504"),
		Sender:    "Stadt Erkelenz",
		Documents: []xjustiz.Document{{Name: "Schreiben.pdf", Class: "015"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "submission_minimal.xml", b.Record)
	if strings.Contains(string(b.Record), "ruecksendungEEB") {
		t.Error("eEB requested though not asked for")
	}
}

func TestBuildDeterministic(t *testing.T) {
	a := build(t, newCodec(t, "same").BuildSubmission, twoDocuments(t))
	b := build(t, newCodec(t, "same").BuildSubmission, twoDocuments(t))
	if string(a.Record) != string(b.Record) {
		t.Error("same clock and randomness gave different records")
	}
	c := build(t, newCodec(t, "other").BuildSubmission, twoDocuments(t))
	if c.MessageID == a.MessageID || c.Documents[0].ID == a.Documents[0].ID {
		t.Error("other randomness gave the same ids")
	}
}

// TestBuildMissingCourtRefused is the acceptance: a record
// missing the court is refused.
func TestBuildMissingCourtRefused(t *testing.T) {
	s := twoDocuments(t)
	s.Court = xjustiz.Court{Name: "Amtsgericht Erkelenz"}
	b, err := newCodec(t, "x").BuildSubmission(s)
	refused(t, b, err, xjustiz.ErrMissingCourt)
}

func TestBuildRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*xjustiz.Submission)
		want   error
	}{
		{"no sender", func(s *xjustiz.Submission) { s.Sender = " " }, xjustiz.ErrIncomplete},
		{"no documents", func(s *xjustiz.Submission) { s.Documents = nil }, xjustiz.ErrIncomplete},
		{"unknown class", func(s *xjustiz.Submission) { s.Documents[0].Class = "999" }, xjustiz.ErrUnknownCode},
		{"empty class", func(s *xjustiz.Submission) { s.Documents[0].Class = "" }, xjustiz.ErrUnknownCode},
		{"path in name", func(s *xjustiz.Submission) { s.Documents[0].Name = "../Klage.pdf" }, xjustiz.ErrFileName},
		{"no stem", func(s *xjustiz.Submission) { s.Documents[0].Name = ".pdf" }, xjustiz.ErrFileName},
		{"empty name", func(s *xjustiz.Submission) { s.Documents[0].Name = "" }, xjustiz.ErrFileName},
		{"id not a uuid", func(s *xjustiz.Submission) { s.Documents[0].ID = "1234" }, xjustiz.ErrIncomplete},
		{"id twice", func(s *xjustiz.Submission) {
			s.Documents[0].ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
			s.Documents[1].ID = "0F8FAD5B-D9CB-469F-A165-70867728950E"
		}, xjustiz.ErrIncomplete},
		{"party without name", func(s *xjustiz.Submission) { s.Parties[0].Organisation = "" }, xjustiz.ErrIncomplete},
		{"party both kinds", func(s *xjustiz.Submission) { s.Parties[1].Organisation = "GmbH" }, xjustiz.ErrIncomplete},
		{"control character", func(s *xjustiz.Submission) { s.Subject = "a\x00b" }, xjustiz.ErrIncomplete},
		{"too many documents", func(s *xjustiz.Submission) {
			s.Documents = make([]xjustiz.Document, 1001)
		}, xjustiz.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := twoDocuments(t)
			tc.change(&s)
			b, err := newCodec(t, "x").BuildSubmission(s)
			refused(t, b, err, tc.want)
		})
	}
}

// TestBuildSchemaRefusal: what only the schema knows (DIN 91379 text,
// a code the schema restricts) refuses the record with the validator's
// message; no record comes back.
func TestBuildSchemaRefusal(t *testing.T) {
	for _, tc := range []struct {
		name, element string
		change        func(*xjustiz.Submission)
	}{
		{"subject outside DIN 91379", "gegenstand", func(s *xjustiz.Submission) { s.Subject = "Räumung \u263a" }},
		{"sender outside DIN 91379", "absender.sonstige", func(s *xjustiz.Submission) { s.Sender = "Stadt\u2028Erkelenz" }},
		{"case number outside DIN 91379", "aktenzeichen.empfaenger", func(s *xjustiz.Submission) { s.CaseRecipient = "12 C 345/26 \U0001F600" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := twoDocuments(t)
			tc.change(&s)
			b, err := newCodec(t, "x").BuildSubmission(s)
			if b != nil || err == nil {
				t.Fatalf("got %v, %v", b, err)
			}
			var ve *xjustiz.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, xjustiz.ErrSchema) || len(ve.Problems) == 0 {
				t.Fatalf("got %v, want a ValidationError", err)
			}
			if ve.Generation != "3.5.1" || ve.Problems[0].Line == 0 || !strings.Contains(ve.Problems[0].Message, tc.element) {
				t.Errorf("problem %+v", ve.Problems[0])
			}
		})
	}
}

func TestFileNameCarriesUUID(t *testing.T) {
	long := strings.Repeat("Widerspruchsbescheid_", 6) + "ä.pdf"
	for _, tc := range []struct {
		name string
		doc  xjustiz.Document
		want func(id string) string
	}{
		{"plain", xjustiz.Document{Name: "Klage.pdf"}, func(id string) string { return "Klage_" + id + ".pdf" }},
		{"tiff", xjustiz.Document{Name: "Beweisfoto.tif"}, func(id string) string { return "Beweisfoto_" + id + ".tif" }},
		{"given id kept once", xjustiz.Document{Name: "Klage_0f8fad5b-d9cb-469f-a165-70867728950e.pdf", ID: "0f8fad5b-d9cb-469f-a165-70867728950e"},
			func(id string) string { return "Klage_" + id + ".pdf" }},
		{"long stem shortened", xjustiz.Document{Name: long}, nil},
		{"long stem with signature", xjustiz.Document{Name: long, Signature: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.doc.Class = "001"
			b := build(t, newCodec(t, tc.name).BuildSubmission, xjustiz.Submission{Court: court(t, "R1502"), Sender: "Stadt Erkelenz", Documents: []xjustiz.Document{tc.doc}})
			d := b.Documents[0]
			if tc.want != nil && d.FileName != tc.want(d.ID) {
				t.Errorf("file name %q, want %q", d.FileName, tc.want(d.ID))
			}
			if !strings.Contains(d.FileName, "_"+d.ID+".") {
				t.Errorf("file name %q does not carry %s", d.FileName, d.ID)
			}
			for _, n := range []string{d.FileName, d.SignatureName} {
				if utf8.RuneCountInString(n) > xjustiz.MaxFileNameLength {
					t.Errorf("%q has %d characters", n, utf8.RuneCountInString(n))
				}
			}
			if !strings.Contains(string(b.Record), "<tns:dateiname>"+d.FileName+"<") {
				t.Error("record does not name the file")
			}
		})
	}
}

// TestConcurrentUse builds and reads from several goroutines with one
// Codec and with Codecs made concurrently (the schemas compile once).
func TestConcurrentUse(t *testing.T) {
	shared := newCodec(t, "shared")
	sub := twoDocuments(t)
	errs := make(chan error, 16)
	for i := range 4 {
		go func() {
			c := shared
			if i%2 == 1 {
				var err error
				if c, err = xjustiz.New(xjustiz.Options{}); err != nil {
					errs <- err
					return
				}
			}
			for range 10 {
				b, err := c.BuildSubmission(sub)
				if err == nil {
					_, err = c.Read(b.Record)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkBuildSubmission(b *testing.B) {
	c := newCodec(b, "bench")
	s := twoDocuments(b)
	for b.Loop() {
		if _, err := c.BuildSubmission(s); err != nil {
			b.Fatal(err)
		}
	}
}

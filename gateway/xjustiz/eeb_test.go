package xjustiz_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

// courtMessageID is the eigeneNachrichtenID of the court's request.
const courtMessageID = "e238a754-f63d-4196-98e6-89c50f015b2e"

func eebAnswer(t testing.TB) xjustiz.EEBAnswer {
	return xjustiz.EEBAnswer{
		Court:            court(t, "R1502"),
		Sender:           "Stadt Erkelenz",
		ForeignMessageID: courtMessageID,
		CaseSender:       "32.1-2026/0815",
		CaseRecipient:    "12 C 345/26",
		Acknowledged:     time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
	}
}

func TestBuildEEBAcknowledged(t *testing.T) {
	b := build(t, newCodec(t, "eeb ack").BuildEEB, eebAnswer(t))
	golden(t, "eeb_acknowledged.xml", b.Record)
	rec := string(b.Record)
	for _, want := range []string{
		"<tns:fremdeNachrichtenID>" + courtMessageID + "<",
		"<tns:empfangsbestaetigung>2026-03-04<",
		"<tns:eigeneNachrichtenID>" + b.MessageID + "<",
	} {
		if !strings.Contains(rec, want) {
			t.Errorf("record lacks %s", want)
		}
	}
}

func TestBuildEEBRejected(t *testing.T) {
	a := eebAnswer(t)
	a.Acknowledged = time.Time{}
	a.Rejection = &xjustiz.Rejection{Code: xjustiz.RejectUnclear, Reason: "Anlage K1 fehlt."}
	a.Representative = true
	b := build(t, newCodec(t, "eeb reject").BuildEEB, a)
	golden(t, "eeb_rejected.xml", b.Record)
	rec := string(b.Record)
	for _, want := range []string{
		`<tns:stoerungsID listVersionID="2.1">`, "<code>2</code>",
		"<tns:stoerungsGrund>Anlage K1 fehlt.<",
		"<tns:zustellungsempfaenger.abweichend>true<",
	} {
		if !strings.Contains(rec, want) {
			t.Errorf("record lacks %s", want)
		}
	}
}

// TestBuildEEBCourtByName: a court that asked without a GDS.Gerichte
// code is answered as empfaenger.sonstige.
func TestBuildEEBCourtByName(t *testing.T) {
	a := eebAnswer(t)
	a.Court = xjustiz.Court{Name: "Oberverwaltungsgericht Rheinland-Pfalz"}
	b := build(t, newCodec(t, "by name").BuildEEB, a)
	if !strings.Contains(string(b.Record), "<tns:empfaenger.sonstige>Oberverwaltungsgericht Rheinland-Pfalz<") {
		t.Error("court name not written")
	}
}

func TestBuildEEBRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*xjustiz.EEBAnswer)
		want   error
	}{
		{"no court", func(a *xjustiz.EEBAnswer) { a.Court = xjustiz.Court{} }, xjustiz.ErrMissingCourt},
		{"no sender", func(a *xjustiz.EEBAnswer) { a.Sender = "" }, xjustiz.ErrIncomplete},
		{"no foreign id", func(a *xjustiz.EEBAnswer) { a.ForeignMessageID = "" }, xjustiz.ErrIncomplete},
		{"foreign id not a uuid", func(a *xjustiz.EEBAnswer) { a.ForeignMessageID = "govapp_1764321000000123456789012345" }, xjustiz.ErrIncomplete},
		{"neither", func(a *xjustiz.EEBAnswer) { a.Acknowledged = time.Time{} }, xjustiz.ErrIncomplete},
		{"both", func(a *xjustiz.EEBAnswer) { a.Rejection = &xjustiz.Rejection{Code: xjustiz.RejectNotParty} }, xjustiz.ErrIncomplete},
		{"unknown code", func(a *xjustiz.EEBAnswer) {
			a.Acknowledged = time.Time{}
			a.Rejection = &xjustiz.Rejection{Code: "4"}
		}, xjustiz.ErrUnknownCode},
		{"reason outside DIN 91379", func(a *xjustiz.EEBAnswer) {
			a.Acknowledged = time.Time{}
			a.Rejection = &xjustiz.Rejection{Code: xjustiz.RejectNotParty, Reason: "\u263a"}
		}, xjustiz.ErrSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := eebAnswer(t)
			tc.change(&a)
			b, err := newCodec(t, "x").BuildEEB(a)
			refused(t, b, err, tc.want)
		})
	}
}

// TestEEBRoundTrip: what we build, ReadEEB reads back, as the court's
// side would match it by fremdeNachrichtenID.
func TestEEBRoundTrip(t *testing.T) {
	c := newCodec(t, "round trip")
	for _, a := range []xjustiz.EEBAnswer{eebAnswer(t), func() xjustiz.EEBAnswer {
		a := eebAnswer(t)
		a.Acknowledged = time.Time{}
		a.Rejection = &xjustiz.Rejection{Code: xjustiz.RejectCertificate, Reason: "Signatur ungültig"}
		return a
	}()} {
		b := build(t, c.BuildEEB, a)
		r, err := c.ReadEEB(b.Record)
		if err != nil {
			t.Fatal(err)
		}
		if r.Validation != nil || r.Generation != "3.5.1" || r.Message != xjustiz.MessageEEB {
			t.Fatalf("record %+v", r)
		}
		e := r.EEB
		if e.ForeignMessageID != courtMessageID || e.MessageID != b.MessageID {
			t.Errorf("ids %+v", e)
		}
		if a.Rejection == nil {
			if !e.Acknowledged || e.Date.Format(time.DateOnly) != "2026-03-04" || e.Rejection != nil {
				t.Errorf("answer %+v", e)
			}
		} else if e.Acknowledged || e.Rejection == nil || *e.Rejection != *a.Rejection {
			t.Errorf("answer %+v", e)
		}
		if r.RecipientCourt != "R1502" || r.SenderName != "Stadt Erkelenz" || r.CaseRecipient != "12 C 345/26" {
			t.Errorf("header %+v", r)
		}
	}
}

// TestReadEEBRealLegacy reads the real eEB answer a production receiver
// stored (XJustiz 2.4.0): the fields are found, and Validation says no
// schema of this build covers it.
func TestReadEEBRealLegacy(t *testing.T) {
	r, err := newCodec(t, "x").ReadEEB(vector(t, "TestnachrichtEeb_1"))
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(r.Validation, xjustiz.ErrUnknownGeneration) || r.Generation != "" || r.Version != "2.4.0" {
		t.Errorf("validation %v, generation %q, version %q", r.Validation, r.Generation, r.Version)
	}
	e := r.EEB
	if e.ForeignMessageID != courtMessageID || e.MessageID != "714967a2-5e13-4c07-91c2-41adb4537bbc" {
		t.Errorf("ids %+v", e)
	}
	if !e.Acknowledged || e.Date.Format(time.DateOnly) != "2021-10-29" {
		t.Errorf("answer %+v", e)
	}
	if r.RecipientCourt != "T6076" || r.SenderName != "Oberverwaltungsgericht Rheinland-Pfalz" || r.CaseRecipient != "1 K 519/20.KO" {
		t.Errorf("header %+v", r)
	}
}

func TestReadEEBRefusesOtherMessages(t *testing.T) {
	c := newCodec(t, "x")
	b := build(t, c.BuildSubmission, twoDocuments(t))
	if _, err := c.ReadEEB(b.Record); !errors.Is(err, xjustiz.ErrNotEEB) {
		t.Fatalf("got %v, want ErrNotEEB", err)
	}
}

// TestEEBWithoutForeignIDBreaksRule: a schema-valid eEB answer without
// fremdeNachrichtenID breaks SCH-EEB-0001.
func TestEEBWithoutForeignIDBreaksRule(t *testing.T) {
	c := newCodec(t, "rule")
	b := build(t, c.BuildEEB, eebAnswer(t))
	rec := removeLine(t, b.Record, "<tns:fremdeNachrichtenID>")
	err := c.Validate(rec)
	var ve *xjustiz.ValidationError
	if !errors.Is(err, xjustiz.ErrRule) || !errors.As(err, &ve) || !strings.Contains(ve.Problems[0].Message, "SCH-EEB-0001") {
		t.Fatalf("got %v, want ErrRule SCH-EEB-0001", err)
	}
	r, err := c.ReadEEB(rec)
	if err != nil || !errors.Is(r.Validation, xjustiz.ErrRule) {
		t.Fatalf("read %v, %v", r, err)
	}
}

// TestAnswerReceivedRequest walks the eEB workflow through the library:
// a court's record asks for an eEB, we answer it, and the court reads the
// answer and matches it to its message by fremdeNachrichtenID.
func TestAnswerReceivedRequest(t *testing.T) {
	courtSide := newCodec(t, "court")
	req := twoDocuments(t)
	req.Court, req.Sender = court(t, "R1504"), "Amtsgericht Mönchengladbach"
	req.CaseSender, req.CaseRecipient = "5 C 17/26", "32.1-2026/0815"
	sent := build(t, courtSide.BuildSubmission, req)
	us := newCodec(t, "city")
	received, err := us.Read(sent.Record)
	if err != nil {
		t.Fatal(err)
	}
	a, err := received.EEBAnswer("Stadt Erkelenz")
	if err != nil {
		t.Fatal(err)
	}
	if a.ForeignMessageID != sent.MessageID || a.CaseRecipient != "5 C 17/26" || a.CaseSender != "32.1-2026/0815" || a.Court.Name != "Amtsgericht Mönchengladbach" {
		t.Fatalf("answer %+v", a)
	}
	a.Acknowledged = time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)
	answer := build(t, us.BuildEEB, a)
	got, err := courtSide.ReadEEB(answer.Record)
	if err != nil || got.Validation != nil {
		t.Fatalf("%+v %v", got, err)
	}
	if got.EEB.ForeignMessageID != sent.MessageID || !got.EEB.Acknowledged || got.EEB.Date.Format(time.DateOnly) != "2026-03-06" {
		t.Errorf("court read %+v", got.EEB)
	}
	if got.RecipientName != "Amtsgericht Mönchengladbach" || got.CaseRecipient != "5 C 17/26" {
		t.Errorf("header %+v", got)
	}

	noEEB := twoDocuments(t)
	noEEB.EEB = false
	plain := build(t, courtSide.BuildSubmission, noEEB)
	r, err := us.Read(plain.Record)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.EEBAnswer("Stadt Erkelenz"); !errors.Is(err, xjustiz.ErrNoEEBAsked) {
		t.Fatalf("got %v, want ErrNoEEBAsked", err)
	}
}

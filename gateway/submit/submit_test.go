package submit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestSubmitIdempotencyConflict(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	sub := e.Srv.Submitter()
	commit := func(content string) (submit.Accepted, error) {
		d := sub.Begin()
		defer d.Abort()
		if err := d.AddDocument("A.pdf", "", strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		return d.Commit(context.Background(), apitest.OKMessage(), "api:k-1")
	}
	first, err := commit("one")
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := commit("one")
	if err != nil || !again.Replayed || again.Message.ID != first.Message.ID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	_, err = commit("two")
	var fe *field.Error
	if !errors.Is(err, submit.ErrIdempotencyConflict) || !errors.As(err, &fe) || fe.Field != "Idempotency-Key" {
		t.Fatalf("conflict: %v", err)
	}
	if m, ok, err := sub.Lookup(context.Background(), "api:k-1"); err != nil || !ok || m.ID != first.Message.ID {
		t.Errorf("Lookup = %d %v %v", m.ID, ok, err)
	}
	if _, ok, err := sub.Lookup(context.Background(), "api:none"); err != nil || ok {
		t.Errorf("Lookup of an unknown key = %v %v", ok, err)
	}
	if n := e.MessageCount(t); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestValidateFileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"Klage.pdf", true},
		{"Schriftsatz_Müller-Groß_ÄÖÜ.pdf", true},
		{"Anlage_K1_2026-06-01.tiff", true},
		{strings.Repeat("a", 86) + ".pdf", true},
		{strings.Repeat("a", 87) + ".pdf", false},
		{"", false},
		{"Klage", false},
		{".pdf", false},
		{"Klage.", false},
		{"Klage.final.pdf", false},
		{"Klage 1.pdf", false},
		{"../Klage.pdf", false},
		{"Klage(1).pdf", false},
		{"Klagé.pdf", false},
		{"Klage.p-f", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := submit.ValidateFileName(tc.name)
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, submit.ErrBadFileName) {
				t.Fatalf("err = %v, want submit.ErrBadFileName", err)
			}
		})
	}
}

func TestSubmitterSentinels(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{Submit: submit.Limits{MaxFiles: 2, MaxTotalBytes: 10}})
	e.AddRecipient(t)
	sub := e.Srv.Submitter()
	ok := apitest.OKMessage()
	with := func(f func(*submit.MessageRequest)) submit.MessageRequest { m := ok; f(&m); return m }
	tests := []struct {
		name  string
		req   submit.MessageRequest
		docs  []apitest.Doc
		want  error
		cause error
	}{
		{"too many files", ok, []apitest.Doc{{Name: "a.pdf", Content: "1"}, {Name: "b.pdf", Content: "2"}, {Name: "c.pdf", Content: "3"}}, submit.ErrTooManyFiles, nil},
		{"too large", ok, []apitest.Doc{{Name: "a.pdf", Content: "123456"}, {Name: "b.pdf", Content: "123456"}}, submit.ErrMessageTooLarge, nil},
		{"duplicate name", ok, []apitest.Doc{{Name: "a.pdf", Content: "1"}, {Name: "A.pdf", Content: "2"}}, submit.ErrDuplicateFileName, nil},
		{"bad name", ok, []apitest.Doc{{Name: "a b.pdf", Content: "1"}}, submit.ErrBadFileName, nil},
		// A device name can never be written into an intake folder on
		// Windows, and CON.pdf beside con.pdf would be retried for ever.
		{"device name", ok, []apitest.Doc{{Name: "Akte.pdf", Content: "1"}, {Name: "CON.pdf", Content: "2"}}, submit.ErrBadFileName, mailbox.ErrFileName},
		{"device name lower case", ok, []apitest.Doc{{Name: "con.pdf", Content: "1"}}, submit.ErrBadFileName, mailbox.ErrFileName},
		{"names that differ in case only", ok, []apitest.Doc{{Name: "Klage.pdf", Content: "1"}, {Name: "klage.PDF", Content: "2"}}, submit.ErrDuplicateFileName, nil},
		{"no documents", ok, nil, submit.ErrNoDocuments, nil},
		{"unknown recipient", with(func(m *submit.MessageRequest) { m.To = "DE.Justiz.none.1" }), []apitest.Doc{{Name: "a.pdf", Content: "1"}}, submit.ErrUnknownRecipient, nil},
		{"unknown mailbox", with(func(m *submit.MessageRequest) { m.Mailbox = "x" }), []apitest.Doc{{Name: "a.pdf", Content: "1"}}, submit.ErrUnknownMailbox, nil},
		{"unusable recipient certificate", with(func(m *submit.MessageRequest) {
			m.To, m.RecipientCert = "DE.Justiz.x.1", apitest.PKIPEM(t, "not-yet-valid.pem")
		}), []apitest.Doc{{Name: "a.pdf", Content: "1"}}, addressbook.ErrBadCertificate, certs.ErrNotYetValid},
		{"no subject", with(func(m *submit.MessageRequest) { m.Subject = "" }), []apitest.Doc{{Name: "a.pdf", Content: "1"}}, field.ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sub.Begin()
			var err error
			for _, doc := range tc.docs {
				if err = d.AddDocument(doc.Name, "", strings.NewReader(doc.Content)); err != nil {
					break
				}
			}
			if err == nil {
				_, err = d.Commit(context.Background(), tc.req, "")
			}
			d.Abort()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want cause %v", err, tc.cause)
			}
			if n := e.MessageCount(t); n != 0 {
				t.Errorf("%d messages stored", n)
			}
			if tmp := e.BlobTemps(t); len(tmp) != 0 {
				t.Errorf("temp files left: %v", tmp)
			}
		})
	}
}

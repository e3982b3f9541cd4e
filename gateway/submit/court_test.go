package submit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// TestSubmitResolvesCourtAndIntermediary: the court code and the
// intermediary are resolved once, at submission, and pinned into the
// outgoing metadata; what cannot be resolved is refused there.
func TestSubmitResolvesCourtAndIntermediary(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithIntermediaries())
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	for _, r := range []addressbook.Recipient{
		{SafeID: "DE.Justiz.lg-berlin.1", Name: "LG Berlin", CourtCode: "F1100", Intermediary: "justiz-nrw"},
		{SafeID: "DE.Justiz.lg-koeln.1", Name: "LG Köln Zivil", CourtCode: "R3300", Intermediary: "justiz-nrw"},
		{SafeID: "DE.Justiz.lg-koeln.2", Name: "LG Köln Straf", CourtCode: "R3300"},
	} {
		r.CipherCert = cipher
		if _, err := e.Book.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	sub := e.Srv.Submitter()
	tests := []struct {
		name      string
		req       submit.MessageRequest
		want      error
		field     string
		reason    string
		to, inter string
	}{
		{"court", submit.MessageRequest{Court: "f1100"}, nil, "", "", "DE.Justiz.lg-berlin.1", "justiz-nrw"},
		{"court and its SAFE-ID", submit.MessageRequest{Court: "F1100", To: "DE.Justiz.lg-berlin.1"}, nil, "", "", "DE.Justiz.lg-berlin.1", "justiz-nrw"},
		{"court and another SAFE-ID", submit.MessageRequest{Court: "F1100", To: "DE.Justiz.lg-koeln.1"}, field.ErrInvalid, "message.to", "DE.Justiz.lg-berlin.1 is", "", ""},
		{"court of two entries", submit.MessageRequest{Court: "R3300"}, submit.ErrAmbiguousRecipient, "message.court", "DE.Justiz.lg-koeln.1 (LG Köln Zivil), DE.Justiz.lg-koeln.2 (LG Köln Straf)", "", ""},
		{"court of no entry", submit.MessageRequest{Court: "R3306"}, submit.ErrUnknownRecipient, "message.court", "R3306 (Amtsgericht Köln)", "", ""},
		{"not a court code", submit.MessageRequest{Court: "X1"}, addressbook.ErrUnknownCourt, "message.court", `"X1"`, "", ""},
		{"court with a certificate", submit.MessageRequest{Court: "F1100", RecipientCert: cipher}, field.ErrInvalid, "message.court", "not both", "", ""},
		{"certificate at a configured intermediary", submit.MessageRequest{To: "DE.Justiz.new.1", RecipientCert: cipher, RecipientIntermediary: "bebpo"}, nil, "", "", "DE.Justiz.new.1", "bebpo"},
		{"certificate at the URL of one", submit.MessageRequest{To: "DE.Justiz.new.1", RecipientCert: cipher, RecipientIntermediaryURL: "https://justiz-nrw.example/osci/"}, nil, "", "", "DE.Justiz.new.1", "justiz-nrw"},
		{"certificate at an unknown intermediary", submit.MessageRequest{To: "DE.Justiz.new.1", RecipientCert: cipher, RecipientIntermediary: "justiz-xy"}, addressbook.ErrUnknownIntermediary, "message.recipientIntermediary", `"justiz-xy"`, "", ""},
		{"entry at the sending mailbox's own", submit.MessageRequest{To: "DE.Justiz.lg-koeln.2"}, nil, "", "", "DE.Justiz.lg-koeln.2", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Subject = "Klage"
			d := sub.Begin()
			defer d.Abort()
			if err := d.AddDocument("Klage.pdf", "", bytes.NewReader(certstest.Document(t, "plain_gs.pdf"))); err != nil {
				t.Fatal(err)
			}
			acc, err := d.Commit(context.Background(), req, "")
			if tc.want != nil {
				var fe *field.Error
				if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
					t.Fatalf("err = %v, want %v on %s saying %q", err, tc.want, tc.field, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var meta submit.OutgoingMeta
			if err := json.Unmarshal(acc.Message.Meta, &meta); err != nil {
				t.Fatal(err)
			}
			if acc.Message.Recipient != tc.to || meta.RecipientIntermediary != tc.inter || meta.RecipientIntermediaryURL != "" || meta.RecipientFingerprint == "" {
				t.Errorf("recipient %q at %q (URL %q), want %q at %q", acc.Message.Recipient, meta.RecipientIntermediary, meta.RecipientIntermediaryURL, tc.to, tc.inter)
			}
		})
	}
}

package eventlog

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Every business event gets one log line, read from the journal: accepted,
// sent, failed with its code, received, quarantined with its code,
// delivered, and operator actions; never a subject or a document name.
func TestEveryBusinessEventGetsOneLogLine(t *testing.T) {
	ctx := context.Background()
	st, blobs := newStore(t)
	log, buf := newLog(t, "info")
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	_, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag.1", Subject: "Vorher", Now: t0},
		[]mailbox.Part{{Name: "Alt.pdf", Body: strings.NewReader("alt")}})
	if err != nil {
		t.Fatal(err)
	}
	var e Follower
	if err := e.Start(ctx, st); err != nil {
		t.Fatal(err)
	}
	m, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag.1", Subject: "Klage Mustermann", Now: t0},
		[]mailbox.Part{{Name: "Klage_Mustermann.pdf", Body: strings.NewReader("x")}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := st.ClaimDue(ctx, mailbox.Out, t0.Add(time.Hour), "w", time.Minute, 10)
	if err != nil || len(ms) != 2 {
		t.Fatal(ms, err)
	}
	for _, c := range ms {
		to, code := mailbox.StateFailed, "9601"
		if c.ID == m.ID {
			to, code = mailbox.StateQueued, ""
		}
		if _, err := st.Apply(ctx, mailbox.Change{ID: c.ID, Owner: "w", Token: c.LeaseToken, Now: t0, To: to, ErrCode: code, ErrText: "Signatur ungültig"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Operate(ctx, mailbox.OperatorAction{ID: m.ID, Op: mailbox.OpHold, Actor: "cli:erika", Reason: "Rückfrage Mustermann", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Round(ctx, st, log); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"msg":"message accepted for sending","messageId":` + strconv.FormatInt(m.ID, 10),
		`"msg":"message failed permanently`, `"code":"9601"`, `"msg":"operator action"`, `"actor":"cli:erika"`, `"mailbox":"stadt"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if strings.Count(out, "message accepted for sending") != 1 {
		t.Errorf("the message accepted before the start was logged again:\n%s", out)
	}
	for _, secret := range []string{"Mustermann", "Klage", "Signatur ungültig", "Rückfrage"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

// A message that needs an operator gets exactly one warning line with its
// id and reason, however it got there: a send refused for good, a send
// whose retries ran out, a delivery that failed verification, and a
// delivery parked unread (whose fetch notice writes no second line).
func TestOperatorCasesLogOneWarningEach(t *testing.T) {
	ctx := context.Background()
	st, blobs := newStore(t)
	log, buf := newLog(t, "debug")
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var e Follower
	if err := e.Start(ctx, st); err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{} // message id -> reason
	for _, c := range []struct{ code, class, reason string }{{"9601", "permanent", "9601"}, {"transport", "temporary", "retries_exhausted"}} {
		m, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag.1", Subject: "Klage Mustermann", Now: t0},
			[]mailbox.Part{{Name: "Klage.pdf", Body: strings.NewReader(c.code)}})
		if err != nil {
			t.Fatal(err)
		}
		ms, err := st.ClaimDue(ctx, mailbox.Out, t0.Add(time.Hour), "w", time.Minute, 1)
		if err != nil || len(ms) != 1 || ms[0].ID != m.ID {
			t.Fatal(ms, err)
		}
		// As mailbox.Sender parks a message.
		if _, err := st.Apply(ctx, mailbox.Change{ID: m.ID, Owner: "w", Token: ms[0].LeaseToken, Now: t0, To: mailbox.StateFailed,
			ErrCode: c.code, ErrText: "Signatur von Erika Mustermann ungültig", Detail: map[string]string{"class": c.class}}); err != nil {
			t.Fatal(err)
		}
		want[m.ID] = c.reason
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Report: mailbox.VerificationReport{Verdict: checkresult.Invalid, Reason: "signature_invalid",
		ReasonText: "Die Signatur von Erika Mustermann ist ungültig."}})
	invalid, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "stadt", OSCIMessageID: "govapp_1", ContentSHA256: strings.Repeat("a", 64),
		Size: 1, Subject: "Beschluss Mustermann", Meta: meta, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	dl := &mailbox.Deliverer{Store: st, Blobs: blobs, Owner: "intake", Now: func() time.Time { return t0 }}
	if n, err := dl.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("deliverer: %d, %v", n, err)
	}
	want[invalid.ID] = "signature_invalid"
	parked, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "stadt", OSCIMessageID: "govapp_2", ContentSHA256: strings.Repeat("b", 64),
		Size: 1, Now: t0, Unreadable: "decrypt: no recipient key", Attempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	FetchNotice(log, mailbox.FetchNotice{Kind: mailbox.NoticeParked, OSCIMessageID: "govapp_2", Message: parked.ID,
		Reason: "decrypt: no recipient key", Attempts: 3})
	want[parked.ID] = mailbox.ReasonUnreadable
	if _, err := e.Round(ctx, st, log); err != nil {
		t.Fatal(err)
	}

	got := map[int64][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if lvl := l["level"]; lvl == "warn" || lvl == "error" || lvl == "dpanic" || lvl == "panic" || lvl == "fatal" {
			id, _ := l[logging.KeyMessageID].(float64)
			got[int64(id)] = append(got[int64(id)], l)
		}
	}
	for id, reason := range want {
		ls := got[id]
		if len(ls) != 1 {
			t.Errorf("message %d: %d warning lines, want 1:\n%s", id, len(ls), buf.String())
			continue
		}
		if ls[0]["level"] != "warn" || ls[0][logging.KeyReason] != reason || ls[0][logging.KeyMailbox] != "stadt" {
			t.Errorf("message %d: %v, want level warn, reason %s, mailbox stadt", id, ls[0], reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("warning lines for %d messages, want %d:\n%s", len(got), len(want), buf.String())
	}
	if strings.Contains(buf.String(), "Mustermann") {
		t.Errorf("the log holds personal data:\n%s", buf.String())
	}
}

// Our certificates near or past their end get one line each per check:
// a warning within 30 days, an error once expired, nothing before; with
// the mailbox, purpose and end, never the subject.
func TestCertificateExpiryLogLine(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		left  time.Duration
		level string
	}{{"far", 31 * 24 * time.Hour, ""}, {"near", 29 * 24 * time.Hour, "warn"}, {"last hour", time.Hour, "warn"}, {"expired", -time.Hour, "error"}} {
		t.Run(tc.name, func(t *testing.T) {
			log, buf := newLog(t, "debug")
			end := now.Add(tc.left)
			CertificateExpiry(log, "stadt", certs.Expiry{Purpose: certs.PurposeCipher, Subject: "CN=Erika Mustermann", NotAfter: end,
				Days: certs.DaysUntilExpiry(&x509.Certificate{NotAfter: end}, now)}, now)
			out := strings.TrimSpace(buf.String())
			if tc.level == "" {
				if out != "" {
					t.Errorf("logged %s", out)
				}
				return
			}
			var l map[string]any
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatalf("%v: %q", err, out)
			}
			if l["level"] != tc.level || l[logging.KeyMailbox] != "stadt" || l["purpose"] != "cipher" || l["notAfter"] != end.Format("2006-01-02T15:04:05.000Z07:00") {
				t.Errorf("line %v, want level %s with mailbox, purpose and notAfter", l, tc.level)
			}
			if strings.Contains(out, "Mustermann") {
				t.Errorf("the subject reached the log: %s", out)
			}
		})
	}
}

// newStore is a real SQLite store with its blob directory.
func newStore(t *testing.T) (mailbox.Store, *mailbox.Blobs) {
	t.Helper()
	return apitest.OpenMail(t, t.TempDir(), nil)
}

// newLog is the gateway's JSON logger at level, writing into the buffer.
func newLog(t *testing.T, level string) (*zap.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	log, err := logging.New(logging.Config{Format: "json", Level: level}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return log, &buf
}

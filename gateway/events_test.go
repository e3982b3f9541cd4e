package gateway

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// Every business event gets one log line, read from the journal: accepted,
// sent, failed with its code, received, quarantined with its code,
// delivered, and operator actions; never a subject or a document name.
func TestEveryBusinessEventGetsOneLogLine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log, err := logging.New(logging.Config{Format: "json", Level: "info"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	_, err = mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag.1", Subject: "Vorher", Now: t0},
		[]mailbox.Part{{Name: "Alt.pdf", Body: strings.NewReader("alt")}})
	if err != nil {
		t.Fatal(err)
	}
	var e eventLog
	if err := e.start(ctx, st); err != nil {
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
	if _, err := e.round(ctx, st, log); err != nil {
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

package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// engine moves the message with the lowest id through the given states,
// as the send engine and the Laufzettel polling do.
func engine(t *testing.T, e *apitest.Env, states ...mailbox.Change) {
	ctx := context.Background()
	for _, c := range states {
		for {
			now := e.Clock.Now()
			ms, err := e.Store.ClaimDue(ctx, mailbox.Out, now.Add(time.Hour), "w", time.Minute, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if len(ms) == 1 {
				c.ID, c.Owner, c.Token, c.Now = ms[0].ID, "w", ms[0].LeaseToken, now
				if c.To != mailbox.StateConfirmed && c.To != mailbox.StateFailed {
					c.Next = now
				}
				if _, err := e.Store.Apply(ctx, c); err != nil {
					t.Error(err)
				}
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSendWait(t *testing.T) {
	waitPoll = 10 * time.Millisecond
	defer func() { waitPoll = 2 * time.Second }()
	env := map[string]string{TokenEnv: apitest.Token}
	reception := apitest.T0.Add(3 * time.Minute)
	big := strings.Repeat("%PDF-1.7 ", 250_000) // 2.25 MB: progress is shown

	t.Run("confirmed", func(t *testing.T) {
		e := apitest.NewEnvWithRecipient(t)
		go engine(t, e, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_1"}, mailbox.Change{To: mailbox.StateSending},
			mailbox.Change{To: mailbox.StateSent, Card: &mailbox.ProcessCard{Creation: apitest.T0}},
			mailbox.Change{To: mailbox.StateConfirmed, Card: &mailbox.ProcessCard{Reception: reception}})
		code, out, errs := runCLI(t, env, "send", "--api", e.TS.URL, "--wait", "--to", apitest.Recipient, "--subject", "Klage",
			cliFiles(t, apitest.Doc{Name: "Klage.pdf", Content: big})[0])
		if code != ExitOK || !strings.Contains(out, "message 1 accepted") || !strings.Contains(out, "message 1: sent (taken by the intermediary") ||
			!strings.Contains(out, "message 1: confirmed (fetched by the recipient 2026-") {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		if !strings.Contains(errs, "uploading: ") || !strings.Contains(errs, "(100%)") {
			t.Fatalf("no upload progress on stderr: %s", errs)
		}
	})
	t.Run("failed", func(t *testing.T) {
		e := apitest.NewEnvWithRecipient(t)
		go engine(t, e, mailbox.Change{To: mailbox.StateFailed, ErrCode: "9802", ErrText: "recipient unknown"})
		code, _, errs := runCLI(t, env, "send", "--api", e.TS.URL, "--wait", "--to", apitest.Recipient, "--subject", "Klage",
			cliFiles(t, apitest.Doc{Name: "Klage.pdf", Content: "%PDF"})[0])
		if code != ExitFail || !strings.Contains(errs, "message 1 failed: 9802 recipient unknown") {
			t.Fatalf("exit %d\n%s", code, errs)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		e := apitest.NewEnvWithRecipient(t)
		code, _, errs := runCLI(t, env, "send", "--api", e.TS.URL, "--wait", "--timeout", "300ms", "--to", apitest.Recipient, "--subject", "Klage",
			cliFiles(t, apitest.Doc{Name: "Klage.pdf", Content: "%PDF"})[0])
		if code != ExitFail || !strings.Contains(errs, "message 1 still queued when --timeout ran out") {
			t.Fatalf("exit %d\n%s", code, errs)
		}
	})
}

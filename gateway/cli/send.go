package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func runSend(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	var m submit.MessageRequest
	fs.StringVar(&m.To, "to", "", "recipient SAFE-ID (required without --court)")
	fs.StringVar(&m.Court, "court", "", "recipient court code (GDS.Gerichte, e.g. F1100) instead of --to")
	fs.StringVar(&m.RecipientIntermediary, "recipient-intermediary", "", "with --recipient-cert: the configured name of the recipient's intermediary")
	fs.StringVar(&m.Subject, "subject", "", "subject (Betreff; required)")
	fs.StringVar(&m.CaseNumberSender, "case-sender", "", "our case number (Aktenzeichen des Absenders)")
	fs.StringVar(&m.CaseNumberRecipient, "case-recipient", "", "the recipient's case number (Aktenzeichen des Empfängers)")
	fs.BoolVar(&m.EEBRequested, "eeb", false, "request an electronic acknowledgement of receipt (eEB)")
	fs.StringVar(&m.Mailbox, "mailbox", "", "our sending mailbox (default: the first configured)")
	fs.StringVar(&m.MessageType, "message-type", "", "OSCI message type (default \""+submit.DefaultMessageType+"\")")
	certFile := fs.String("recipient-cert", "", "PEM file with the recipient's cipher certificate (for a recipient not in the address book)")
	key := fs.String("idempotency-key", "", "key that makes a repeated send return the first message instead of sending twice")
	wait := fs.Bool("wait", false, "wait until the message is confirmed (the recipient fetched it) or failed, within --timeout; show upload progress")
	if err := parseInterspersed(env, fs, args); err != nil {
		return err
	}
	switch {
	case m.To == "" && m.Court == "":
		return usageErrorf(fs, "--to or --court is required")
	case m.Subject == "":
		return usageErrorf(fs, "--subject is required")
	case fs.NArg() == 0:
		return usageErrorf(fs, "give at least one FILE to send")
	}
	if *certFile != "" {
		pem, err := os.ReadFile(*certFile)
		if err != nil {
			return err
		}
		m.RecipientCert = string(pem)
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		if *wait {
			c.Progress = uploadProgress(env.Stderr, time.Now)
		}
		res, err := c.Send(ctx, m, fs.Args(), *key)
		if err == nil && *wait {
			return waitForEnd(ctx, env, af, c, res)
		}
		return answer(env, af, res, err, printAccepted)
	})
}

func printAccepted(w io.Writer, res api.SubmitResponse) error {
	note := ""
	if res.Replayed {
		note = " (already submitted with this idempotency key)"
	}
	_, err := fmt.Fprintf(w, "message %d accepted, state %s%s\n", res.ID, res.State, note)
	return err
}

// waitPoll is how often send --wait asks for the message's state.
var waitPoll = 2 * time.Second

// waitForEnd follows an accepted message until it is confirmed (exit 0)
// or failed (exit 1), printing each state it passes; when --timeout
// runs out first it says where the message stands (exit 1) and the
// gateway goes on with it.
func waitForEnd(ctx context.Context, env *Env, af *apiFlags, c *api.Client, res api.SubmitResponse) error {
	if !af.json {
		if err := printAccepted(env.Stdout, res); err != nil {
			return err
		}
	}
	last := res.State
	for {
		v, err := c.GetMessage(ctx, res.ID)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("message %d still %s when --timeout ran out; the gateway goes on with it ('messages show %d' follows it)", res.ID, last, res.ID)
			}
			return err
		}
		if v.State != last && !af.json {
			fmt.Fprintf(env.Stdout, "message %d: %s%s\n", v.ID, v.State, stateNote(v))
		}
		last = v.State
		switch mailbox.State(v.State) {
		case mailbox.StateConfirmed:
			if af.json {
				return printJSON(env.Stdout, v)
			}
			return nil
		case mailbox.StateFailed, mailbox.StateDeleted:
			if af.json {
				_ = printJSON(env.Stdout, v)
			}
			reason := ""
			if v.LastError != nil {
				reason = ": " + oneLine(v.LastError)
			}
			return fmt.Errorf("message %d %s%s", v.ID, v.State, reason)
		}
		t := time.NewTimer(waitPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("message %d still %s when --timeout ran out; the gateway goes on with it ('messages show %d' follows it)", res.ID, last, res.ID)
		case <-t.C:
		}
	}
}

// stateNote adds the Laufzettel time that belongs to a state.
func stateNote(v api.MessageView) string {
	if v.ProcessCard == nil {
		return ""
	}
	switch mailbox.State(v.State) {
	case mailbox.StateSent:
		if !v.ProcessCard.Creation.IsZero() {
			return " (taken by the intermediary " + cliTime(v.ProcessCard.Creation) + "; waiting for the recipient to fetch it)"
		}
	case mailbox.StateConfirmed:
		if !v.ProcessCard.Reception.IsZero() {
			return " (fetched by the recipient " + cliTime(v.ProcessCard.Reception) + ")"
		}
	}
	return ""
}

// uploadProgress reports the bytes of a large upload sent so far, at most
// once a second and at the end, on w (stderr: stdout stays the result).
func uploadProgress(w io.Writer, now func() time.Time) func(sent, total int64) {
	var last time.Time
	return func(sent, total int64) {
		if total < 1<<20 {
			return
		}
		if t := now(); sent == total || t.Sub(last) >= time.Second {
			last = t
			fmt.Fprintf(w, "uploading: %d of %d bytes (%d%%)\n", sent, total, sent*100/total)
		}
	}
}

package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
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
		res, err := c.Send(ctx, m, fs.Args(), *key)
		return answer(env, af, res, err, func(w io.Writer, res api.SubmitResponse) error {
			note := ""
			if res.Replayed {
				note = " (already submitted with this idempotency key)"
			}
			_, err := fmt.Fprintf(w, "message %d accepted, state %s%s\n", res.ID, res.State, note)
			return err
		})
	})
}

package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

func runSend(env *Env, args []string) error {
	fs := newFlagSet(env, "send [options] (--to SAFEID | --court CODE) --subject S FILE...",
		"Hand documents to a running gateway for sending. The recipient must be in the address book\n"+
			"unless --recipient-cert gives its cipher certificate. --court sends to the one address book\n"+
			"entry with that court code (GDS.Gerichte); it is refused, naming the candidates, when the\n"+
			"address book holds none or more than one. File names must follow the ERVB rules\n"+
			"(letters incl. umlauts and ß, digits, _ and -, one dot before the extension, at most 90 characters).\n"+
			"Prints the message id; the gateway sends it in the background ('messages show ID' follows it).")
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
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, res)
		}
		note := ""
		if res.Replayed {
			note = " (already submitted with this idempotency key)"
		}
		fmt.Fprintf(env.Stdout, "message %d accepted, state %s%s\n", res.ID, res.State, note)
		return nil
	})
}

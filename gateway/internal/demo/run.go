package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Run runs the demo in dir until a signal arrives on sig: demo keys and a
// configuration (reused when run again), an OSCI intermediary simulator
// and the gateway with two mailboxes on loopback; it sends a PDF from one
// mailbox to the other through the admin API and shows it arriving in the
// folder intake.
func Run(out io.Writer, getenv func(string) string, dir string, sig <-chan os.Signal) error {
	return runDemo(out, getenv, Layout{Dir: dir}, sig)
}

func runDemo(out io.Writer, getenv func(string) string, l Layout, sig <-chan os.Signal) error {
	ctx := context.Background()
	fmt.Fprintf(out, "bebpo-gateway demo: everything lives in %s (delete it to start afresh)\n\n", l.Dir)
	if err := os.MkdirAll(l.Data(), 0o700); err != nil {
		return err
	}
	if lock, err := gateway.LockDataDir(l.Data()); err != nil {
		return fmt.Errorf("%w (is another demo running?)", err)
	} else {
		lock.Close()
	}
	simLn, err := listenPreferred("127.0.0.1:18081")
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	apiLn, err := listenPreferred(config.DefaultAPIListen)
	if err != nil {
		simLn.Close()
		return fmt.Errorf("api: %w", err)
	}
	fmt.Fprintln(out, "1. Keys: a demo CA, and RSA-3072 signature and cipher keys for two mailboxes and the intermediary")
	start := time.Now()
	created, err := prepareDemo(ctx, l, simLn.Addr().String(), apiLn.Addr().String(), time.Now, rand.Reader)
	if err != nil {
		simLn.Close()
		apiLn.Close()
		return err
	}
	if created {
		fmt.Fprintf(out, "   issued in %s: %s/*.p12 (PKCS#12, passwords in *.password, mode 0600)\n", time.Since(start).Round(time.Millisecond), l.Keys())
	} else {
		fmt.Fprintf(out, "   reusing %s/*.p12\n", l.Keys())
	}
	sim, err := startDemoSimulator(l, simLn)
	if err != nil {
		apiLn.Close()
		return fmt.Errorf("simulator: %w", err)
	}
	defer sim.Close()
	fmt.Fprintf(out, "2. OSCI intermediary simulator listening on http://%s/osci\n", simLn.Addr())

	logFile, err := os.OpenFile(l.Log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		apiLn.Close()
		return err
	}
	defer logFile.Close()
	opt := gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: logFile, Getenv: getenv, APIListener: apiLn,
		SendInterval: time.Second, DeliverInterval: time.Second, DrainTimeout: 15 * time.Second}
	if err := gateway.Serve(opt, sig, func(d *gateway.Daemon) { walkthrough(out, l, d) }); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nStopped. Run `make run` again to continue where you left off.")
	return nil
}

// walkthrough sends the sample PDF through the API, waits for it in
// the recipient's folder intake and prints where to look next.
func walkthrough(out io.Writer, l Layout, d *gateway.Daemon) {
	apiURL := "http://" + d.APIAddr().String()
	fmt.Fprintf(out, "3. Gateway running with mailboxes %q (%s) and %q (%s); admin API on %s\n",
		Stadt.ID, Stadt.SafeID, Gericht.ID, Gericht.SafeID, apiURL)
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		fmt.Fprintf(out, "   cannot read the API token: %v\n", err)
		return
	}
	client := &api.Client{BaseURL: apiURL, Token: tok}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req := submit.MessageRequest{Mailbox: Stadt.ID, To: Gericht.SafeID, Subject: "Demo: Klageschrift",
		CaseNumberSender: "DEMO-1/2026"}
	resp, err := client.Send(ctx, req, []string{l.PDF()}, fmt.Sprintf("demo-%d", time.Now().UnixNano()))
	if err != nil {
		fmt.Fprintf(out, "   sending failed: %v\n   see %s\n", err, l.Log())
		return
	}
	id := resp.ID
	fmt.Fprintf(out, "4. Sent %s from %q to %q via POST %s/v1/messages: message id %d\n",
		filepath.Base(l.PDF()), Stadt.ID, Gericht.ID, apiURL, id)
	entry, state, err := WaitForIntake(ctx, client, l, id)
	if err != nil {
		fmt.Fprintf(out, "   not arrived yet (outgoing state %q): %v\n   the gateway keeps trying; see %s\n", state, err, l.Log())
	} else {
		fmt.Fprintf(out, "5. Arrived in the folder intake of %q (outgoing message now %q):\n   %s\n",
			Gericht.ID, state, entry)
		if ents, err := os.ReadDir(entry); err == nil {
			for _, e := range ents {
				fmt.Fprintf(out, "     %s\n", e.Name())
			}
		}
	}
	cfg := l.Config()
	fmt.Fprintf(out, `
What happened: the API stored the PDF durably and queued it; the send engine signed and encrypted it
and delivered it to the simulator (OSCI storeDelivery); the fetch engine of %q fetched it, verified
signatures and certificates, decrypted it, stored it, and handed it to the eAkte folder intake.

Try (in another terminal, from this directory):
  ./bin/bebpo-gateway messages list --config %s
  ./bin/bebpo-gateway messages show --config %s %d
  ./bin/bebpo-gateway status --config %s
  ./bin/bebpo-gateway send --config %s --to %s --subject "Noch eine" %s
  ./bin/bebpo-gateway journal verify --data %s
  curl -s %s/metrics          (Prometheus metrics, no token needed)
  curl -s -H "Authorization: Bearer $(cut -d: -f2 %s)" %s/v1/messages
Or drop a folder with a document, message.json ({"to":"%s","subject":"Per Ordner"}) and
an empty file .ready into %s.

  API:       %s   (token file: %s)
  Metrics:   %s/metrics
  Logs:      %s (JSON; secrets are never logged)
  Config:    %s (edit, then kill -HUP %d to reload)

Running until Ctrl-C.
`, Gericht.ID, cfg, cfg, id, cfg, cfg, Gericht.SafeID, l.path("documents", "Antrag.pdf"), l.Data(), apiURL, l.Tokens(), apiURL,
		Gericht.SafeID, l.Outgoing(), apiURL, l.Tokens(), apiURL, l.Log(), cfg, os.Getpid())
}

// WaitForIntake follows the outgoing message until its OSCI MessageId
// is known, then waits for the complete intake entry of that MessageId.
func WaitForIntake(ctx context.Context, c *api.Client, l Layout, id int64) (string, string, error) {
	var state string
	for {
		m, err := c.GetMessage(ctx, id)
		if err == nil {
			state = m.State
			if m.OSCIMessageID != "" {
				entry := filepath.Join(l.Intake(Gericht.ID), mailbox.EntryName(m.OSCIMessageID))
				if _, err := os.Stat(filepath.Join(entry, mailbox.FileManifest)); err == nil {
					return entry, state, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", state, errors.New("no intake entry within 90 s")
		case <-time.After(300 * time.Millisecond):
		}
	}
}

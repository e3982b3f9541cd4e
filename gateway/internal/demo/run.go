package demo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/registersim"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Run runs the demo in dir until a signal arrives on sig: demo keys and a
// configuration (reused when run again), two OSCI intermediary
// simulators and the gateway with three mailboxes on loopback; it sends
// a PDF to a mailbox at the same intermediary and one with an eEB
// request to a court at the other through the admin API, shows both
// arriving in the folder intakes and the court's reception on the
// process card, answers the eEB both ways and shows the proof of filing.
func Run(out io.Writer, getenv func(string) string, dir string, sig <-chan os.Signal) error {
	return RunWith(out, getenv, dir, sig, Options{})
}

// Options change how the demo acts where a person would; the zero value
// is what `make run` does.
type Options struct {
	// Answer answers an eEB task by the command line the demo prints for
	// it (arguments after the program name); nil answers through the API
	// call that command makes.
	Answer func(ctx context.Context, args []string) error
}

// RunWith is Run with opt.
func RunWith(out io.Writer, getenv func(string) string, dir string, sig <-chan os.Signal, opt Options) error {
	return runDemo(out, getenv, Layout{Dir: dir}, sig, opt)
}

// demoSimulatorAddrs are the loopback addresses the demo's simulators
// prefer, in the order of Sites.
var demoSimulatorAddrs = []string{"127.0.0.1:18081", "127.0.0.1:18082"}

// demoWebListen is where the demo's web application prefers to listen.
const demoWebListen = "127.0.0.1:8441"

func runDemo(out io.Writer, getenv func(string) string, l Layout, sig <-chan os.Signal, demoOpt Options) error {
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
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	inst := Installation{Sites: map[string]string{}, Mailboxes: []Mailbox{Stadt, Gericht, Landgericht},
		Recipients: []Mailbox{Stadt, Gericht, Landgericht}}
	for i, site := range Sites {
		ln, err := listenPreferred(demoSimulatorAddrs[i])
		if err != nil {
			closeAll()
			return fmt.Errorf("simulator %s: %w", site.ConfigName, err)
		}
		lns = append(lns, ln)
		inst.Sites[site.ConfigName] = ln.Addr().String()
	}
	apiLn, err := listenPreferred(config.DefaultAPIListen)
	if err != nil {
		closeAll()
		return fmt.Errorf("api: %w", err)
	}
	lns = append(lns, apiLn)
	inst.API = apiLn.Addr().String()
	webLn, err := listenPreferred(demoWebListen)
	if err != nil {
		closeAll()
		return fmt.Errorf("web: %w", err)
	}
	lns = append(lns, webLn)
	inst.Web = webLn.Addr().String()
	fmt.Fprintln(out, "1. Keys: a demo CA, and RSA-3072 signature and cipher keys for three mailboxes and two intermediaries")
	start := time.Now()
	created, err := prepareDemo(ctx, l, inst, time.Now, rand.Reader)
	if err != nil {
		closeAll()
		return err
	}
	if created {
		fmt.Fprintf(out, "   issued in %s: %s/*.p12 (PKCS#12, passwords in *.password, mode 0600)\n", time.Since(start).Round(time.Millisecond), l.Keys())
	} else {
		fmt.Fprintf(out, "   reusing %s/*.p12\n", l.Keys())
	}
	for i, site := range Sites {
		sim, err := startDemoSimulator(l, site, lns[i])
		if err != nil {
			closeAll()
			return fmt.Errorf("simulator %s: %w", site.ConfigName, err)
		}
		defer sim.Close()
	}
	fmt.Fprintf(out, "2. Two OSCI intermediary simulators, each with its own keys:\n")
	for _, site := range Sites {
		fmt.Fprintf(out, "   %-11s %s (%s; log %s)\n", site.ConfigName, siteURL(inst.Sites[site.ConfigName]), site.Name, l.SimulatorLog(site.ConfigName))
	}

	logFile, err := os.OpenFile(l.Log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		apiLn.Close()
		return err
	}
	defer logFile.Close()
	opt := gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: logFile, Getenv: getenv, APIListener: apiLn, WebListener: webLn,
		SendInterval: time.Second, DeliverInterval: time.Second, DrainTimeout: 15 * time.Second}
	if err := gateway.Serve(opt, sig, func(d *gateway.Daemon) { walkthrough(out, l, d, demoOpt) }); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nStopped. Run `make run` again to continue where you left off.")
	return nil
}

// walkthrough sends the sample PDF through the API to a mailbox at the
// same intermediary and to the court at the other, waits for both in the
// recipients' folder intakes and for the court's reception on the
// process card, and prints where to look next.
func walkthrough(out io.Writer, l Layout, d *gateway.Daemon, opt Options) {
	apiURL := "http://" + d.APIAddr().String()
	fmt.Fprintf(out, "3. Gateway running with mailboxes %q (%s) and %q (%s) at %s, and %q (%s) at %s; admin API on %s\n",
		Stadt.ID, Stadt.SafeID, Gericht.ID, Gericht.SafeID, Intermediary.ConfigName, Landgericht.ID, Landgericht.SafeID,
		JustizIntermediary.ConfigName, apiURL)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	webLine := webSignIn(ctx, out, l, d)
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		fmt.Fprintf(out, "   cannot read the API token: %v\n", err)
		return
	}
	client := &api.Client{BaseURL: apiURL, Token: tok}
	ids := map[string]int64{}
	for _, to := range []Mailbox{Gericht, Landgericht} {
		req := submit.MessageRequest{Mailbox: Stadt.ID, To: to.SafeID, Subject: "Demo: Klageschrift an " + to.Organisation,
			CaseNumberSender: CaseCity}
		if to.CourtCode != "" { // the record the gateway builds asks the court for an eEB
			req.CaseNumberRecipient, req.EEBRequested = CaseCourt, true
		}
		resp, err := client.Send(ctx, req, []string{l.PDF()}, fmt.Sprintf("demo-%s-%d", to.ID, time.Now().UnixNano()))
		if err != nil {
			fmt.Fprintf(out, "   sending to %q failed: %v\n   see %s\n", to.ID, err, l.Log())
			return
		}
		ids[to.ID] = resp.ID
	}
	fmt.Fprintf(out, "4. Sent %s from %q via POST %s/v1/messages\n   to %q at %s (message id %d)\n   and, asking for an eEB, to %q, %s (court code %s), at %s (message id %d)\n",
		filepath.Base(l.PDF()), Stadt.ID, apiURL, Gericht.ID, Intermediary.ConfigName, ids[Gericht.ID],
		Landgericht.ID, Landgericht.Organisation, Landgericht.CourtCode, JustizIntermediary.ConfigName, ids[Landgericht.ID])
	arrived := true
	for i, to := range []Mailbox{Gericht, Landgericht} {
		entry, state, err := waitIntake(ctx, client, l, to, ids[to.ID])
		if err != nil {
			fmt.Fprintf(out, "   not arrived at %q yet (outgoing state %q): %v\n   the gateway keeps trying; see %s\n", to.ID, state, err, l.Log())
			arrived = false
			continue
		}
		fmt.Fprintf(out, "%d. Arrived in the folder intake of %q (outgoing message now %q):\n   %s\n", 5+i, to.ID, state, entry)
		if ents, err := os.ReadDir(entry); err == nil {
			for _, e := range ents {
				fmt.Fprintf(out, "     %s\n", e.Name())
			}
		}
		if v, err := readVerdict(entry); err == nil {
			fmt.Fprintf(out, "   verification report (pruefprotokoll): %s\n", v)
		}
	}
	if arrived && printCourtCard(ctx, out, client, ids[Landgericht.ID], l) {
		legalOffice(out, l, client, ids[Landgericht.ID], opt)
	}
	registerDemo(ctx, out, l)
	cfg := l.Config()
	fmt.Fprintf(out, `
What happened: the API stored the PDF durably and queued it twice; the send engine signed and
encrypted each message and delivered it to its recipient's intermediary (OSCI storeDelivery), %s
for %q and %s for the court, encrypted to that intermediary's certificate. The fetch engines of
%q and %q fetched them from their own intermediaries, verified signatures and certificates,
decrypted them, stored them and handed them to the eAkte folder intakes. The court's process card
came from %s, signed with its own key, which the gateway checked against the certificate pinned
for %s. The XJustiz record the gateway built for the court asked for an eEB; the
court's mailbox (played by this gateway) answered it with a 2200007, which the gateway matched to
our message, and the city answered the court's own request in the same way.

Try (in another terminal, from this directory):
  ./bin/bebpo-gateway messages list --config %s
  ./bin/bebpo-gateway messages show --config %s %d
  ./bin/bebpo-gateway messages evidence --config %s %d   (proof of filing)
  ./bin/bebpo-gateway eeb list --state all --config %s   (eEB tasks, both ways)
  ./bin/bebpo-gateway messages requeue --config %s ID   (asks a sent message's process card at once)
  ./bin/bebpo-gateway status --config %s --json   (each intermediary's health)
  ./bin/bebpo-gateway send --config %s --to %s --subject "Noch eine" %s
  ./bin/bebpo-gateway journal verify --data %s
  curl -s %s/metrics          (Prometheus metrics, no token needed)
  curl -s -H "Authorization: Bearer $(cut -d: -f2 %s)" %s/v1/messages
  curl -s -H "Authorization: Bearer $(cut -d: -f2 %s)" %s/v1/intermediaries
Or drop a folder with a document, message.json ({"to":"%s","subject":"Per Ordner"}) and
an empty file .ready into %s.

%s
  API:       %s   (token file: %s)
  Metrics:   %s/metrics
  Logs:      %s (JSON; secrets are never logged)
  Config:    %s (edit, then kill -HUP %d to reload)

Running until Ctrl-C.
`, Intermediary.ConfigName, Gericht.ID, JustizIntermediary.ConfigName, Gericht.ID, Landgericht.ID,
		JustizIntermediary.ConfigName, JustizIntermediary.ConfigName,
		cfg, cfg, ids[Landgericht.ID], cfg, ids[Landgericht.ID], cfg, cfg, cfg, cfg, Landgericht.SafeID, l.path("documents", "Antrag.pdf"), l.Data(), apiURL,
		l.Tokens(), apiURL, l.Tokens(), apiURL, Gericht.SafeID, l.Outgoing(), webLine, apiURL, l.Tokens(), apiURL, l.Log(), cfg, os.Getpid())
}

// webSignIn puts the demo user into the web application, prints where to
// sign in and how a clerk sends to the court there, and returns the line
// for the summary.
func webSignIn(ctx context.Context, out io.Writer, l Layout, d *gateway.Daemon) string {
	if d.WebUsers() == nil {
		return "  Web:       (not configured)"
	}
	name, pw, err := web.DemoUsers(ctx, d.WebUsers(), nil)
	if err != nil {
		fmt.Fprintf(out, "   the demo user of the web application: %v\n", err)
		return "  Web:       " + d.WebURL()
	}
	fmt.Fprintf(out, `   Web application (German, for the clerks): %s
   sign in as %q with password %q, then, to send a document to the court:
     Senden -> Empfänger "%s" (or "Landgericht") -> Betreff -> choose a PDF (e.g. %s)
     -> "Prüfen und senden"; the message page follows it until "Abgeholt (zugestellt)"
`, d.WebURL(), name, pw, Landgericht.CourtCode, l.path("documents", "Antrag.pdf"))
	return fmt.Sprintf("  Web:       %s   (sign in: %s / %s)", d.WebURL(), name, pw)
}

// registerDemo shows the procurement office's duty before an award: a
// two-member consortium queried at the Wettbewerbsregister (its
// simulator), one answer with an entry, the gate blocked until that entry
// is assessed, then open; answers and query sheets go into the city's
// intake folder.
func registerDemo(ctx context.Context, out io.Writer, l Layout) {
	fmt.Fprintf(out, "11. Wettbewerbsregister (Vergabestelle), against the register's simulator:\n")
	dir := l.path("register-demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(out, "   %v\n", err)
		return
	}
	sink, err := mailbox.NewFolderIntake(l.Intake(Stadt.ID), nil, nil)
	if err == nil {
		_, err = registersim.Demo(ctx, dir, sink, Stadt.ID, indent{out})
	}
	if err != nil {
		fmt.Fprintf(out, "   the register demo stopped: %v\n", err)
	}
}

// indent writes every line three spaces in, as the walkthrough's steps.
type indent struct{ w io.Writer }

func (i indent) Write(p []byte) (int, error) {
	s := strings.ReplaceAll(strings.TrimRight(string(p), "\n"), "\n", "\n   ")
	if _, err := io.WriteString(i.w, "   "+s+"\n"); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printCourtCard waits until the court's message is confirmed (the
// gateway asks its process card at sending.confirm_first) and prints the
// card's times and the checks the intermediary recorded.
func printCourtCard(ctx context.Context, out io.Writer, c *api.Client, id int64, l Layout) bool {
	m, err := WaitForState(ctx, c, id, string(mailbox.StateConfirmed))
	if err != nil || m.ProcessCard == nil {
		fmt.Fprintf(out, "   the court's process card shows no reception yet (state %q): %v\n   see %s\n", m.State, err, l.Log())
		return false
	}
	pc := m.ProcessCard
	fmt.Fprintf(out, "7. The court fetched it: process card (Laufzettel) of %s from %s, message now %q:\n", pc.OSCIMessageID, JustizIntermediary.ConfigName, m.State)
	for _, row := range []struct {
		what string
		at   time.Time
	}{{"received by the intermediary (creation)", pc.Creation}, {"handed to the court (forwarding)", pc.Forwarding}, {"received by the court (reception)", pc.Reception}} {
		fmt.Fprintf(out, "   %-40s %s\n", row.what, row.at.Local().Format(time.RFC3339))
	}
	for _, in := range pc.Inspections {
		fmt.Fprintf(out, "   certificate checked by the intermediary: %s (%s, %s)\n", in.Subject, in.MathResult, in.OfflineResult)
	}
	return true
}

// legalOffice runs the eEB steps (8-10) on the message to the court.
func legalOffice(out io.Writer, l Layout, c *api.Client, ours int64, opt Options) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	codec, err := newCodec()
	if err != nil {
		fmt.Fprintf(out, "   XJustiz: %v\n", err)
		return
	}
	e := &eebDemo{out: out, l: l, c: c, apiURL: c.BaseURL, opt: opt, codec: codec}
	e.run(ctx, 8, ours)
}

// WaitForIntake follows the outgoing message until its OSCI MessageId
// is known, then waits for the complete intake entry of that MessageId
// at Gericht.
func WaitForIntake(ctx context.Context, c *api.Client, l Layout, id int64) (string, string, error) {
	return waitIntake(ctx, c, l, Gericht, id)
}

// waitIntake follows the outgoing message until its OSCI MessageId is
// known, then waits for the complete intake entry of that MessageId in
// the folder intake of to.
func waitIntake(ctx context.Context, c *api.Client, l Layout, to Mailbox, id int64) (string, string, error) {
	var state string
	for {
		m, err := c.GetMessage(ctx, id)
		if err == nil {
			state = m.State
			if m.OSCIMessageID != "" {
				entry := filepath.Join(l.Intake(to.ID), mailbox.EntryName(m.OSCIMessageID))
				if _, err := os.Stat(filepath.Join(entry, mailbox.FileManifest)); err == nil {
					return entry, state, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", state, errors.New("no intake entry in time")
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// WaitForState follows a message until it is in state or ctx ends.
func WaitForState(ctx context.Context, c *api.Client, id int64, state string) (api.MessageView, error) {
	var m api.MessageView
	for {
		var err error
		if m, err = c.GetMessage(ctx, id); err == nil && m.State == state {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("message %d not %s in time (now %q)", id, state, m.State)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// readVerdict returns the verdict of an intake entry's verification
// report (valid, invalid, indeterminate) as metadata.json holds it.
func readVerdict(entry string) (string, error) {
	b, err := os.ReadFile(filepath.Join(entry, mailbox.FileMetadataJSON))
	if err != nil {
		return "", err
	}
	var meta mailbox.IntakeMetadata
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", err
	}
	return meta.VerificationStatus, nil
}

package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

func init() {
	register(&Command{Name: "demo", Summary: "run a self-contained demo: simulator, two mailboxes, one message", Run: runDemo})
}

func runDemo(env *Env, args []string) int {
	fs := NewFlagSet(env, "demo [options]",
		"Create demo keys and a configuration under --dir (reused when run again), start an OSCI\n"+
			"intermediary simulator and the gateway with two mailboxes on loopback, send a PDF from one\n"+
			"mailbox to the other through the admin API and show it arriving in the folder intake.\n"+
			"Then keep running until Ctrl-C so you can try the API and the CLI.")
	dir := fs.String("dir", filepath.Join("var", "demo"), "demo directory")
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	return demoMain(env, demoLayout{Dir: *dir}, sig)
}

// demoMain runs the demo until a signal arrives on sig.
func demoMain(env *Env, l demoLayout, sig <-chan os.Signal) int {
	out := env.Stdout
	ctx := context.Background()
	fmt.Fprintf(out, "bebpo-gateway demo: everything lives in %s (delete it to start afresh)\n\n", l.Dir)
	if err := os.MkdirAll(l.Data(), 0o700); err != nil {
		return Failf(env, "demo", "%v", err)
	}
	if lock, err := lockDataDir(l.Data()); err != nil {
		return Failf(env, "demo", "%v (is another demo running?)", err)
	} else {
		lock.Close()
	}
	simLn, err := listenPreferred("127.0.0.1:18081")
	if err != nil {
		return Failf(env, "demo", "simulator: %v", err)
	}
	apiLn, err := listenPreferred(DefaultAPIListen)
	if err != nil {
		simLn.Close()
		return Failf(env, "demo", "api: %v", err)
	}
	fmt.Fprintln(out, "1. Keys: a demo CA, and RSA-3072 signature and cipher keys for two mailboxes and the intermediary")
	start := time.Now()
	created, err := prepareDemo(ctx, l, simLn.Addr().String(), apiLn.Addr().String(), time.Now, rand.Reader)
	if err != nil {
		simLn.Close()
		apiLn.Close()
		return Failf(env, "demo", "%v", err)
	}
	if created {
		fmt.Fprintf(out, "   issued in %s: %s/*.p12 (PKCS#12, passwords in *.password, mode 0600)\n", time.Since(start).Round(time.Millisecond), l.Keys())
	} else {
		fmt.Fprintf(out, "   reusing %s/*.p12\n", l.Keys())
	}
	sim, err := startDemoSimulator(l, simLn)
	if err != nil {
		apiLn.Close()
		return Failf(env, "demo", "simulator: %v", err)
	}
	defer sim.Close()
	fmt.Fprintf(out, "2. OSCI intermediary simulator listening on http://%s/osci\n", simLn.Addr())

	logFile, err := os.OpenFile(l.Log(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		apiLn.Close()
		return Failf(env, "demo", "%v", err)
	}
	defer logFile.Close()
	opt := DaemonOptions{ConfigPath: l.Config(), LogOutput: logFile, Getenv: env.Getenv, APIListener: apiLn,
		SendInterval: time.Second, DeliverInterval: time.Second, DrainTimeout: 15 * time.Second}
	code := serveDaemon(env, opt, sig, func(d *Daemon) { demoWalkthrough(env, l, d) })
	if code == ExitOK {
		fmt.Fprintln(out, "\nStopped. Run `make run` again to continue where you left off.")
	}
	return code
}

// startDemoSimulator serves the in-process intermediary simulator.
func startDemoSimulator(l demoLayout, ln net.Listener) (*http.Server, error) {
	pki := demoPKI{dir: l.Keys()}
	cipher, err := pki.load(demoIntermediary.ID, certs.PurposeCipher)
	if err != nil {
		return nil, err
	}
	sig, err := pki.load(demoIntermediary.ID, certs.PurposeSignature)
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(l.Dir, "simulator.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	sim, err := intermediary.New(intermediary.Config{Cipher: cipher, Signature: sig, DataDir: l.Simulator(),
		Now: time.Now, Rand: rand.Reader,
		Log: func(format string, a ...any) {
			fmt.Fprintf(logFile, time.Now().UTC().Format(time.RFC3339)+" "+format+"\n", a...)
		}})
	if err != nil {
		logFile.Close()
		return nil, err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second}
	srv.RegisterOnShutdown(func() { logFile.Close() })
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// demoWalkthrough sends the sample PDF through the API, waits for it in
// the recipient's folder intake and prints where to look next.
func demoWalkthrough(env *Env, l demoLayout, d *Daemon) {
	out := env.Stdout
	api := "http://" + d.APIAddr().String()
	fmt.Fprintf(out, "3. Gateway running with mailboxes %q (%s) and %q (%s); admin API on %s\n",
		demoStadt.ID, demoStadt.SafeID, demoGericht.ID, demoGericht.SafeID, api)
	tok, err := demoToken(l.Tokens())
	if err != nil {
		fmt.Fprintf(out, "   cannot read the API token: %v\n", err)
		return
	}
	client := &APIClient{BaseURL: api, Token: tok}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req := MessageRequest{Mailbox: demoStadt.ID, To: demoGericht.SafeID, Subject: "Demo: Klageschrift",
		CaseNumberSender: "DEMO-1/2026"}
	resp, err := client.Send(ctx, req, []string{l.PDF()}, fmt.Sprintf("demo-%d", time.Now().UnixNano()))
	if err != nil {
		fmt.Fprintf(out, "   sending failed: %v\n   see %s\n", err, l.Log())
		return
	}
	id := resp.ID
	fmt.Fprintf(out, "4. Sent %s from %q to %q via POST %s/v1/messages: message id %d\n",
		filepath.Base(l.PDF()), demoStadt.ID, demoGericht.ID, api, id)
	entry, state, err := waitForDemoIntake(ctx, client, l, id)
	if err != nil {
		fmt.Fprintf(out, "   not arrived yet (outgoing state %q): %v\n   the gateway keeps trying; see %s\n", state, err, l.Log())
	} else {
		fmt.Fprintf(out, "5. Arrived in the folder intake of %q (outgoing message now %q):\n   %s\n",
			demoGericht.ID, state, entry)
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
`, demoGericht.ID, cfg, cfg, id, cfg, cfg, demoGericht.SafeID, l.path("documents", "Antrag.pdf"), l.Data(), api, l.Tokens(), api,
		demoGericht.SafeID, l.Outgoing(), api, l.Tokens(), api, l.Log(), cfg, os.Getpid())
}

// waitForDemoIntake follows the outgoing message until its OSCI MessageId
// is known, then waits for the complete intake entry of that MessageId.
func waitForDemoIntake(ctx context.Context, c *APIClient, l demoLayout, id int64) (string, string, error) {
	var state string
	for {
		m, err := c.GetMessage(ctx, id)
		if err == nil {
			state = m.State
			if m.OSCIMessageID != "" {
				entry := filepath.Join(l.Intake(demoGericht.ID), mailbox.EntryName(m.OSCIMessageID))
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

package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/registersim"
	rsqlite "github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web/notifypage"
)

// chromiumPath is where `make test` installs Chromium (Debian's package).
const chromiumPath = "/usr/bin/chromium"

// needTool returns the path of a tool the browser tests need: they are
// skipped without it on a developer's machine and fail under CI, where
// `make test` installed it.
func needTool(t *testing.T, path string) string {
	t.Helper()
	p, err := exec.LookPath(path)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (make test installs it): %v", path, err)
	}
	t.Skipf("%s is missing; make test installs it", path)
	return ""
}

// browserEnv is the daemon with the simulators of both demo
// intermediaries, its web application and a simulated
// Wettbewerbsregister: stadt and the court "landgericht" (court code
// R1500) as in the demo, and "gericht", whose XML limits are so low that
// a message with a document is parked in quarantine.
type browserEnv struct {
	l      demo.Layout
	d      *gateway.Daemon
	base   string
	client *api.Client
	// browser is the running Chromium; its first run had no timeout, so
	// it lives until the test ends.
	browser context.Context
}

// browserQuarantineLimit is gericht's xml_limits.max_elements: above what
// an empty fetch needs, below a delivery with a document.
const browserQuarantineLimit = 120

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	chrome := needTool(t, chromiumPath)
	simA, simB, apiLn, webLn := listen(t), listen(t), listen(t), listen(t)
	l := demo.NewTestInstallation(t, demo.Installation{API: apiLn.Addr().String(),
		Sites:     map[string]string{demo.Intermediary.ConfigName: simA.Addr().String(), demo.JustizIntermediary.ConfigName: simB.Addr().String()},
		Mailboxes: []demo.Mailbox{demo.Stadt, demo.Gericht, demo.Landgericht}, Recipients: []demo.Mailbox{demo.Stadt, demo.Gericht, demo.Landgericht}})
	serveDemoSimulator(t, l, demo.Intermediary, simA, t.TempDir())
	serveDemoSimulator(t, l, demo.JustizIntermediary, simB, t.TempDir())
	regLn := listen(t)
	sim := &registersim.Server{}
	sim.SetOutcome("DE811111111", registersim.Outcome{})
	hs := &http.Server{Handler: sim, ReadHeaderTimeout: time.Second}
	go func() { _ = hs.Serve(regLn) }()
	t.Cleanup(func() { hs.Close() })
	setConfig(t, l, func(s string) string {
		s = strings.Replace(s, "  - name: "+demo.Gericht.ID+"\n", fmt.Sprintf("  - name: %s\n    xml_limits: {max_elements: %d}\n", demo.Gericht.ID, browserQuarantineLimit), 1)
		return s + "\nweb:\n  listen: " + webLn.Addr().String() + "\nregister:\n  mailbox: " + demo.Stadt.ID +
			"\n  interface:\n    url: http://" + regLn.Addr().String() + "/\n    poll_interval: 1s\n" +
			"notify:\n  base_url: http://" + webLn.Addr().String() + "/\n  webhooks:\n    allowed_hosts: [hooks.example]\n"
	})
	d := startInProcess(t, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: io.Discard, APIListener: apiLn, WebListener: webLn,
		SendInterval: 500 * time.Millisecond, DeliverInterval: 500 * time.Millisecond}).d
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900))...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	return &browserEnv{l: l, d: d, base: strings.TrimSuffix(d.WebURL(), "/"), client: &api.Client{BaseURL: "http://" + apiLn.Addr().String(), Token: tok}, browser: browser}
}

// tab is one browser context (its own cookies) of the shared browser.
type tab struct {
	t    *testing.T
	e    *browserEnv
	ctx  context.Context
	stop context.CancelFunc
}

func (e *browserEnv) tab(t *testing.T) *tab {
	t.Helper()
	// Each tab is a browser context of its own: a second user's cookies
	// are not the first one's.
	ctx, cancel := chromedp.NewContext(e.browser, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, e: e, ctx: ctx, stop: cancel}
	t.Cleanup(tb.stop)
	// A context's target lives as long as the context of its first run:
	// the first run gets no timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return tb
}

// do runs steps within a minute and fails the test on an error.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, b.text("body"))
	}
}

// open navigates to path and returns the answer's HTTP status.
func (b *tab) open(path string) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.e.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	return int(resp.Status)
}

// submit runs steps that submit a form and returns the status of the
// page the browser loads.
func (b *tab) submit(what string, steps ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return int(resp.Status)
}

// text is the visible text of the first element matching the CSS
// selector, "" when there is none.
func (b *tab) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.innerText:""})()`, sel)))
	if err != nil {
		return ""
	}
	return s
}

// waitFor reloads path until cond holds on the page, for at most within.
func (b *tab) waitFor(path, what string, within time.Duration, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if b.open(path); cond() {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %s; the page says:\n%s", what, within, b.text("main"))
		}
		time.Sleep(time.Second)
	}
}

// login signs name in through the form.
func (b *tab) login(name, password string) {
	b.t.Helper()
	b.open("/anmeldung")
	b.do("sign in as "+name, chromedp.SendKeys(chromedp.ID("name"), name), chromedp.SendKeys(chromedp.ID("passwort"), password),
		chromedp.Click(chromedp.ID("anmelden")), chromedp.WaitVisible(chromedp.ID("navigation")))
}

// TestBrowserClerkWorkflows drives headless Chromium through the clerks'
// daily work against the daemon and the simulators: sign in, send a PDF
// to a court until the court confirms it, a .docx refused with the ERVB
// finding in German, a user without the mailboxes in scope sees nothing
// of them and gets 403/404 on their URLs, a form without its CSRF token
// is refused, a quarantined message released, an eEB task answered, a
// register query run to the gate, and axe-core finds no serious or
// critical accessibility violation on the inbox, message, send and eEB
// pages.
func TestBrowserClerkWorkflows(t *testing.T) {
	if testing.Short() {
		t.Skip("browser end-to-end test")
	}
	e := newBrowserEnv(t)
	axe := axeSource(t)
	ctx := context.Background()
	users := e.d.WebUsers()
	demoName, demoPW, err := web.DemoUsers(ctx, users, nil)
	if err != nil {
		t.Fatal(err)
	}
	const outsider, outsiderPW = "ausserhalb", "ein-langes-passwort-2026"
	if err := users.Put(ctx, web.User{Name: outsider, Roles: web.Roles, Mailboxes: []string{demo.Stadt.ID}, Source: web.SourceLocal}); err != nil {
		t.Fatal(err)
	}
	if err := users.SetPassword(ctx, outsider, outsiderPW); err != nil {
		t.Fatal(err)
	}
	// A message to gericht, parked there in quarantine; a procedure with
	// one bidder in the register database beside the daemon (as the CLI).
	_, err = e.client.Send(ctx, submit.MessageRequest{Mailbox: demo.Stadt.ID, To: demo.Gericht.SafeID, Subject: "Zurückgehalten"},
		[]string{writeFile(t, "Anlage.pdf", certstest.Document(t, "plain_gs.pdf"))}, "browser-held")
	if err != nil {
		t.Fatal(err)
	}
	createProcedure(t, e.l, "VG-B-1")

	clerk := e.tab(t)
	var sent string // the path of the message to the court
	t.Run("clerk sends a PDF to a court until confirmed", func(t *testing.T) {
		clerk.t = t
		start := time.Now()
		clerk.login(demoName, demoPW)
		pdf := writeFile(t, "Klageschrift.pdf", certstest.Document(t, "plain_gs.pdf"))
		clerk.do("fill the send form", chromedp.Click(chromedp.CSS(`nav a[href="/senden"]`)), chromedp.WaitVisible(chromedp.ID("senden")),
			chromedp.SetValue(chromedp.ID("postfach"), demo.Stadt.ID), chromedp.SendKeys(chromedp.ID("empfaenger"), demo.Landgericht.CourtCode),
			chromedp.SendKeys(chromedp.ID("betreff"), "Klage wegen Gebühren"), chromedp.SendKeys(chromedp.ID("az_eigen"), "32-4711"),
			chromedp.SendKeys(chromedp.ID("az_gericht"), "1 O 23/26"), chromedp.Click(chromedp.ID("eeb")),
			chromedp.SetUploadFiles(chromedp.ID("dokumente"), []string{pdf}))
		if code := clerk.submit("send", chromedp.Click(chromedp.ID("absenden"))); code != http.StatusOK {
			t.Fatalf("after sending: %d\n%s", code, clerk.text("main"))
		}
		loc, _ := chromedp.Run(clerk.ctx, chromedp.Location())
		u := strings.TrimPrefix(loc, e.base)
		sent = strings.SplitN(u, "?", 2)[0]
		if !strings.HasPrefix(sent, "/nachricht/") {
			t.Fatalf("after sending the browser shows %s\n%s", loc, clerk.text("main"))
		}
		// The page follows the state by itself (app.js) and reloads when final.
		deadline := time.Now().Add(2 * time.Minute)
		for !strings.Contains(clerk.attr("#zustand", "class"), "zustand-confirmed") {
			if time.Now().After(deadline) {
				t.Fatalf("not confirmed in time; the page says:\n%s", clerk.text("main"))
			}
			time.Sleep(250 * time.Millisecond)
		}
		took := time.Since(start)
		clerk.do("the confirmed page", chromedp.WaitVisible(chromedp.ID("laufzettel")), chromedp.WaitVisible(chromedp.ID("nachweis")))
		if s := clerk.text("#zustand"); s == "" {
			t.Fatal("no state shown")
		}
		t.Logf("clerk path (sign in, send to the court %s, confirmed): %s", demo.Landgericht.CourtCode, took.Round(100*time.Millisecond))
	})
	if sent == "" {
		t.FailNow()
	}

	t.Run("a .docx to a court is refused with the ERVB finding in German", func(t *testing.T) {
		clerk.t = t
		clerk.open("/senden")
		docx := writeFile(t, "Klage.docx", []byte("PK\x03\x04 kein PDF"))
		clerk.do("fill the send form", chromedp.SendKeys(chromedp.ID("empfaenger"), demo.Landgericht.CourtCode),
			chromedp.SendKeys(chromedp.ID("betreff"), "Klage als Word-Datei"), chromedp.SetUploadFiles(chromedp.ID("dokumente"), []string{docx}))
		code := clerk.submit("send", chromedp.Click(chromedp.ID("absenden")))
		findings := clerk.text("#befunde")
		if code != http.StatusUnprocessableEntity || !strings.Contains(findings, "Klage.docx") || !strings.Contains(findings, "nicht zulässig") {
			t.Fatalf("status %d, findings %q\n%s", code, findings, clerk.text("main"))
		}
	})

	// What the outsider must not see exists by now: the court's eEB task
	// for the message sent above, and the quarantined message at gericht.
	var taskID string
	clerk.waitFor("/eeb", "the court's eEB task", time.Minute, func() bool {
		taskID = strings.TrimPrefix(clerk.attr("article.aufgabe", "id"), "aufgabe-")
		return taskID != ""
	})
	var heldID string // the message as gericht received it
	clerk.waitFor("/quarantaene", "the message to gericht in quarantine", time.Minute, func() bool {
		heldID = strings.TrimPrefix(clerk.attr("#quarantaene-liste a", "id"), "nachricht-")
		return heldID != ""
	})
	heldPath := "/nachricht/" + heldID

	t.Run("a user without the mailbox in scope sees nothing of it", func(t *testing.T) {
		out := e.tab(t)
		out.login(outsider, outsiderPW)
		for p, secret := range map[string]string{"/quarantaene": "Zurückgehalten", "/eeb": "Klage wegen Gebühren",
			"/postfach/" + demo.Stadt.ID + "/eingang": "Zurückgehalten"} {
			if code := out.open(p); code != http.StatusOK {
				t.Fatalf("%s: %d", p, code)
			}
			if body := out.text("main"); strings.Contains(body, secret) {
				t.Errorf("%s shows a message of a mailbox out of scope:\n%s", p, body)
			}
		}
		if out.attr("#quarantaene-liste a", "id") != "" || out.attr("article.aufgabe", "id") != "" {
			t.Error("the outsider sees a held message or an eEB task")
		}
		for _, p := range []string{heldPath, heldPath + "/dokument/0", heldPath + "/pruefprotokoll", heldPath + "/zustand",
			"/postfach/" + demo.Gericht.ID + "/eingang", "/postfach/" + demo.Landgericht.ID + "/eingang"} {
			if code := out.open(p); code != http.StatusNotFound && code != http.StatusForbidden {
				t.Errorf("%s: %d, want 403 or 404", p, code)
			}
		}
		// A valid form (its CSRF token) pointed at the out-of-scope message and task.
		for _, action := range []string{heldPath + "/freigeben", "/eeb/" + taskID + "/bestaetigen"} {
			out.open("/")
			code := out.submit("post to "+action, script(fmt.Sprintf(`(function(){var f=document.querySelector("form.abmelden");
				f.action=%q;for (const [n,v] of [["grund","Test"],["datum",new Date().toISOString().slice(0,10)]]){var i=document.createElement("input");
				i.type="hidden";i.name=n;i.value=v;f.appendChild(i)}f.submit();return null})()`, action)))
			if code != http.StatusNotFound {
				t.Errorf("POST %s with a valid token: %d, want 404", action, code)
			}
		}
	})

	t.Run("a form without its CSRF token is refused", func(t *testing.T) {
		clerk.t = t
		clerk.open(heldPath)
		code := clerk.submit("release without token", script(`document.querySelectorAll('input[name="csrf"]').forEach(function(i){i.remove()})`),
			chromedp.SendKeys(chromedp.ID("grund-frei"), "ohne Token"), chromedp.Click(chromedp.ID("freigeben")))
		if code != http.StatusForbidden {
			t.Fatalf("release without the CSRF token: %d\n%s", code, clerk.text("main"))
		}
		clerk.open(heldPath)
		if !strings.Contains(clerk.attr("#zustand", "class"), "zustand-quarantined") {
			t.Fatal("the refused form changed the message")
		}
	})

	t.Run("accessibility: no serious or critical violation", func(t *testing.T) {
		clerk.t = t
		// The check can fail: a field without a label is a critical violation.
		clerk.open("/senden")
		clerk.do("add a field without a label", script(`document.getElementById("senden").appendChild(document.createElement("input"))`))
		if vs := clerk.axe(axe); len(vs) == 0 || !strings.Contains(strings.Join(vs, "\n"), "label") {
			t.Fatalf("axe-core missed a field without a label: %q", vs)
		}
		for _, p := range []string{"/postfach/" + demo.Stadt.ID + "/eingang", "/postfach/" + demo.Stadt.ID + "/ausgang", sent, heldPath, "/senden", "/eeb", "/quarantaene"} {
			clerk.open(p)
			for _, v := range clerk.axe(axe) {
				t.Errorf("%s: %s", p, v)
			}
		}
	})

	t.Run("each user chooses notifications", func(t *testing.T) {
		clerk.t = t
		clerk.open(notifypage.Path)
		for _, v := range clerk.axe(axe) {
			t.Errorf("%s: %s", notifypage.Path, v)
		}
		clerk.do("choose", chromedp.Click(chromedp.ID("quarantine_email")), chromedp.Click(chromedp.ID("new_mail_webhook")),
			chromedp.SendKeys(chromedp.ID("webhook_url"), "https://evil.example/hook"))
		clerk.submit("save a refused webhook", chromedp.Click(chromedp.ID("speichern")))
		if msg := clerk.text("#einstellungen-fehler"); !strings.Contains(msg, "nicht zugelassen") {
			t.Fatalf("a webhook to a host not allowed: %q", msg)
		}
		clerk.do("correct the address", chromedp.Clear(chromedp.ID("webhook_url")), chromedp.SendKeys(chromedp.ID("webhook_url"), "https://hooks.example/teams"))
		clerk.submit("save", chromedp.Click(chromedp.ID("speichern")))
		if clerk.text("#gespeichert") == "" {
			t.Fatalf("not saved:\n%s", clerk.text("main"))
		}
		if !clerk.checked("quarantine_email") || !clerk.checked("new_mail_webhook") || clerk.checked("new_mail_email") {
			t.Fatalf("the saved choices are not shown:\n%s", clerk.text("main"))
		}
	})

	t.Run("records releases a quarantined message", func(t *testing.T) {
		clerk.t = t
		clerk.open("/quarantaene")
		clerk.do("open the held message", chromedp.Click(chromedp.ID("nachricht-"+heldID)), chromedp.WaitVisible(chromedp.ID("freigeben")),
			chromedp.SendKeys(chromedp.ID("grund-frei"), "Absender telefonisch bestätigt"))
		if code := clerk.submit("release", chromedp.Click(chromedp.ID("freigeben"))); code != http.StatusOK {
			t.Fatalf("release: %d\n%s", code, clerk.text("main"))
		}
		if cls := clerk.attr("#zustand", "class"); strings.Contains(cls, "zustand-quarantined") {
			t.Fatalf("still in quarantine after the release: %s", clerk.text("main"))
		}
		if !strings.Contains(clerk.text("#journal"), "Absender telefonisch bestätigt") {
			t.Errorf("the release and its reason are not in the history:\n%s", clerk.text("#journal"))
		}
	})

	t.Run("legal answers the court's eEB task", func(t *testing.T) {
		clerk.t = t
		clerk.open("/eeb")
		if code := clerk.submit("acknowledge", chromedp.Click(chromedp.ID("bestaetigen-"+taskID))); code != http.StatusOK {
			t.Fatalf("acknowledge: %d\n%s", code, clerk.text("main"))
		}
		clerk.waitFor(sent, "the court's eEB answer on our message", time.Minute, func() bool {
			return strings.Contains(clerk.text(`section[aria-labelledby="eeb"]`), "Antwort des Gerichts eingegangen")
		})
	})

	t.Run("procurement queries the register up to the gate", func(t *testing.T) {
		clerk.t = t
		path := web.ProcedurePath("VG-B-1")
		clerk.open(path)
		clerk.do("confirm the conditions", chromedp.Click(chromedp.ID("voraussetzungen")), chromedp.Click(chromedp.ID("beschaeftigte")))
		if code := clerk.submit("query", chromedp.Click(chromedp.ID("abfragen"))); code != http.StatusOK {
			t.Fatalf("query: %d\n%s", code, clerk.text("main"))
		}
		clerk.waitFor(path, "the register's answer", time.Minute, func() bool { return strings.Contains(clerk.text("#mitglieder"), "keine Eintragungen") })
		if code := clerk.submit("gate", chromedp.Click(chromedp.ID("pruefen"))); code != http.StatusOK {
			t.Fatalf("gate: %d", code)
		}
		if got := clerk.text("#ergebnis"); !strings.Contains(got, "Zuschlag möglich") || strings.Contains(got, "nicht möglich") {
			t.Fatalf("gate: %q", got)
		}
	})
}

// attr is an attribute of the first element matching the CSS selector,
// "" when there is none.
func (b *tab) attr(sel, name string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?(e.getAttribute(%q)||""):""})()`, sel, name)))
	if err != nil {
		return ""
	}
	return s
}

// checked reports whether the checkbox with the id is ticked.
func (b *tab) checked(id string) bool {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(function(){var e=document.getElementById(%q);return !!(e&&e.checked)})()`, id)))
	return ok
}

// script runs JavaScript in the page through the DevTools protocol.
func script(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](js)(ctx, t)
		return err
	})
}

// writeFile writes b to a file name in a new temporary directory.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// createProcedure creates a procedure with one bidder in the register
// database of the running daemon.
func createProcedure(t *testing.T, l demo.Layout, number string) {
	t.Helper()
	ctx := context.Background()
	st, err := rsqlite.Open(ctx, filepath.Join(l.Data(), rsqlite.FileName), rsqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := register.New(st, nil, nil, register.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateProcedure(ctx, register.NewProcedure{Number: number, Description: "Neubau Feuerwache", Value: 50_000_00, Kind: register.KindPublic}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetBidder(ctx, number, "", []register.Company{{Name: "Hochbau Rur GmbH", Address: "Kölner Str. 1, 41812 Erkelenz", VATID: "DE811111111"}}, "test"); err != nil {
		t.Fatal(err)
	}
}

// axeVersion is the axe-core release the accessibility check runs
// (npm package axe-core, MPL-2.0), installed with npm when the test
// runs: third-party code is not kept in the repository.
const axeVersion = "4.14.1"

// axeSource installs axe-core into a temporary directory and returns
// axe.min.js.
func axeSource(t *testing.T) string {
	t.Helper()
	npm := needTool(t, "npm")
	dir := t.TempDir()
	cmd := exec.Command(npm, "install", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", dir, "axe-core@"+axeVersion)
	cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(dir, ".npm"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install axe-core: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axe runs axe-core on the loaded page, injected through the DevTools
// protocol (the page's Content-Security-Policy admits no foreign script),
// and returns its serious and critical violations, one line each.
func (b *tab) axe(src string) []string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
		return r.violations.filter(function (v) { return v.impact === "serious" || v.impact === "critical"; }).map(function (v) {
			return v.impact + " " + v.id + " (" + v.help + "): " + v.nodes.map(function (n) { return n.target.join(" ") + " – " + n.failureSummary; }).join("; ");
		});
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core: %v", err)
	}
	return res
}

package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func id(m mailbox.Message) string { return strconv.FormatInt(m.ID, 10) }

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	e.addUser("anna", []web.Role{web.RoleRecords}, "stadt")
	b := e.browser()

	if p := b.get("/postfach/stadt/eingang"); p.Code != http.StatusSeeOther || !strings.HasPrefix(p.H.Get("Location"), "/anmeldung?weiter=") {
		t.Fatalf("without a session: %d %q, want 303 to the sign-in page", p.Code, p.H.Get("Location"))
	}
	tok := b.csrf("/anmeldung")
	p := b.post("/anmeldung", url.Values{"csrf": {tok}, "name": {"anna"}, "passwort": {"falsch-falsch-falsch"}})
	if p.Code != http.StatusUnauthorized || !strings.Contains(p.Body, "Benutzername oder Passwort ist falsch.") {
		t.Fatalf("wrong password: %d", p.Code)
	}
	tok = b.csrf("/anmeldung")
	p = b.post("/anmeldung", url.Values{"csrf": {tok}, "name": {"Anna"}, "passwort": {password}, "weiter": {"//evil.example/"}})
	if p.Code != http.StatusSeeOther || p.H.Get("Location") != "/" {
		t.Fatalf("sign-in: %d to %q, want 303 to / (a foreign return address is dropped)", p.Code, p.H.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: p.H}).Cookies() {
		if c.Name == "bebpo_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Strict, Path=/", session)
	}
	if p := b.get("/postfach/stadt/eingang"); p.Code != 200 || !strings.Contains(p.Body, "Angemeldet als anna") {
		t.Fatalf("inbox after sign-in: %d", p.Code)
	}
	if n := len(e.journal("web_login")); n != 1 {
		t.Fatalf("%d web_login entries, want 1", n)
	}
	tok = b.csrf("/postfach/stadt/eingang")
	if p := b.post("/abmeldung", url.Values{"csrf": {tok}}); p.Code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.Code)
	}
	if p := b.get("/postfach/stadt/eingang"); p.Code != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d, want 303 to the sign-in page", p.Code)
	}
	out := e.journal("web_logout")
	if len(out) != 1 || !strings.Contains(out[0].Detail, `"actor":"user:anna"`) {
		t.Fatalf("web_logout entries %+v", out)
	}
}

func TestSignInWithoutTheFormTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	e.addUser("anna", []web.Role{web.RoleRecords}, "stadt")
	b := e.browser()
	b.csrf("/anmeldung") // the cookie is set, the form field is missing
	if p := b.post("/anmeldung", url.Values{"name": {"anna"}, "passwort": {password}}); p.Code != http.StatusForbidden {
		t.Fatalf("sign-in without the token: %d, want 403", p.Code)
	}
	if n := len(e.journal("web_login")); n != 0 {
		t.Fatalf("%d sign-ins journaled", n)
	}
}

func TestFormPostedWithoutCSRFTokenIsRefused(t *testing.T) {
	e := newEnv(t)
	e.addUser("anna", []web.Role{web.RoleRecords}, "stadt")
	m := e.incoming("stadt", "Geparkt", true)
	b := e.browser()
	b.login("anna")
	for _, form := range []url.Values{{"grund": {"geprüft"}}, {"grund": {"geprüft"}, "csrf": {"erfunden"}}} {
		if p := b.post("/nachricht/"+id(m)+"/freigeben", form); p.Code != http.StatusForbidden {
			t.Fatalf("release without a valid token: %d, want 403", p.Code)
		}
	}
	got, _ := e.Store.Get(context.Background(), m.ID)
	if got.State != mailbox.StateQuarantined {
		t.Fatalf("state %s after refused posts, want quarantined", got.State)
	}
	// A token from another origin's page: the browser names the origin.
	tok := b.csrf("/quarantaene")
	req, _ := http.NewRequest("POST", e.TS.URL+"/nachricht/"+id(m)+"/freigeben", strings.NewReader(url.Values{"csrf": {tok}, "grund": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := b.do(req); p.Code != http.StatusForbidden {
		t.Fatalf("cross-origin post: %d, want 403", p.Code)
	}
	// A multipart form without the token as first part.
	p := b.multipart("/senden", [][2]string{{"empfaenger", "x"}}, map[string]string{"a.pdf": "%PDF"})
	if p.Code != http.StatusForbidden {
		t.Fatalf("multipart without token: %d, want 403", p.Code)
	}
}

func TestQuarantineReleaseAndRejectAreJournaledWithTheUser(t *testing.T) {
	e := newEnv(t)
	e.addUser("anna", []web.Role{web.RoleRecords}, "stadt")
	a, r := e.incoming("stadt", "Freigeben", true), e.incoming("stadt", "Zurueckweisen", true)
	b := e.browser()
	b.login("anna")
	q := b.get("/quarantaene")
	if !strings.Contains(q.Body, "Freigeben") || !strings.Contains(q.Body, "konnte nicht gelesen") {
		t.Fatalf("quarantine page lacks the messages or the reason:\n%s", q.Body)
	}
	tok := b.csrf("/nachricht/" + id(a))
	if p := b.post("/nachricht/"+id(a)+"/freigeben", url.Values{"csrf": {tok}}); p.Code != http.StatusBadRequest {
		t.Fatalf("release without a reason: %d, want 400", p.Code)
	}
	if p := b.post("/nachricht/"+id(a)+"/freigeben", url.Values{"csrf": {tok}, "grund": {"Original geprüft"}}); p.Code != http.StatusSeeOther {
		t.Fatalf("release: %d %s", p.Code, p.Body)
	}
	if p := b.post("/nachricht/"+id(r)+"/zurueckweisen", url.Values{"csrf": {tok}, "grund": {"Irrläufer"}}); p.Code != http.StatusSeeOther {
		t.Fatalf("reject: %d", p.Code)
	}
	ctx := context.Background()
	if m, _ := e.Store.Get(ctx, a.ID); m.State != mailbox.StateIntakePending {
		t.Errorf("released message in %s, want intake_pending", m.State)
	}
	if m, _ := e.Store.Get(ctx, r.ID); m.State != mailbox.StateDeleted {
		t.Errorf("rejected message in %s, want deleted", m.State)
	}
	evs, _ := e.Store.MessageEvents(ctx, a.ID)
	found := false
	for _, ev := range evs {
		found = found || (strings.Contains(ev.Detail, `"actor":"user:anna"`) && strings.Contains(ev.Detail, "Original geprüft"))
	}
	if !found {
		t.Fatalf("release not journaled with the user and reason: %+v", evs)
	}
	if p := b.get("/nachricht/" + id(a)); !strings.Contains(p.Body, "Erneut eingereiht") || !strings.Contains(p.Body, "von anna – Grund: Original geprüft") {
		t.Fatal("the message page does not show who released it and why")
	}
	if n := len(e.journal("web")); n < 3 {
		t.Fatalf("%d web action entries, want one per post (3)", n)
	}
}

func TestMailboxOutOfScopeIsInvisible(t *testing.T) {
	e := newEnv(t)
	e.addUser("olaf", []web.Role{web.RoleRecords, web.RoleLegal}, "ordnungsamt")
	secret := e.incoming("stadt", "Geheim-Stadt", true)
	own := e.incoming("ordnungsamt", "Eigene-Nachricht", false)
	b := e.browser()
	b.login("olaf")
	for _, path := range []string{"/postfach/stadt/eingang", "/postfach/stadt/ausgang", "/nachricht/" + id(secret),
		"/nachricht/" + id(secret) + "/dokument/0", "/nachricht/" + id(secret) + "/pruefprotokoll",
		"/nachricht/" + id(secret) + "/zustand", "/nachricht/" + id(secret) + "/nachweis", "/postfach/nirgends/eingang"} {
		if p := b.get(path); p.Code != http.StatusNotFound || strings.Contains(p.Body, "Geheim-Stadt") {
			t.Errorf("GET %s: %d, want 404 without the message", path, p.Code)
		}
	}
	tok := b.csrf("/quarantaene")
	if p := b.post("/nachricht/"+id(secret)+"/freigeben", url.Values{"csrf": {tok}, "grund": {"x"}}); p.Code != http.StatusNotFound {
		t.Errorf("release of another mailbox's message: %d, want 404", p.Code)
	}
	if m, _ := e.Store.Get(context.Background(), secret.ID); m.State != mailbox.StateQuarantined {
		t.Errorf("state %s, want quarantined", m.State)
	}
	for _, path := range []string{"/postfach/ordnungsamt/eingang", "/quarantaene", "/senden", "/eeb", "/postfach/ordnungsamt/eingang?suche=Geheim"} {
		p := b.get(path)
		if p.Code != 200 || strings.Contains(p.Body, "Geheim-Stadt") || strings.Contains(p.Body, "Posteingang stadt") || strings.Contains(p.Body, `value="stadt"`) {
			t.Errorf("GET %s: %d or shows the other mailbox", path, p.Code)
		}
	}
	if p := b.get("/postfach/ordnungsamt/eingang"); !strings.Contains(p.Body, "Eigene-Nachricht") {
		t.Error("own inbox does not list its message")
	}
	if p := b.get("/nachricht/" + id(own)); p.Code != 200 || !strings.Contains(p.Body, "Beschluss.pdf") {
		t.Errorf("own message: %d", p.Code)
	}
	if p := b.get("/nachricht/" + id(own) + "/dokument/0"); p.Code != 200 || p.Body != "%PDF-1.4 Eigene-Nachricht" {
		t.Errorf("own document: %d %q", p.Code, p.Body)
	}
}

func TestRolesGuardPages(t *testing.T) {
	e := newEnv(t)
	e.addUser("rita", []web.Role{web.RoleRecords}, "*")
	e.addUser("vera", []web.Role{web.RoleProcurement}, "*")
	rita := e.browser()
	rita.login("rita")
	for _, path := range []string{"/senden", "/eeb", "/register", "/betrieb"} {
		if p := rita.get(path); p.Code != http.StatusForbidden {
			t.Errorf("records user GET %s: %d, want 403", path, p.Code)
		}
	}
	home := rita.get("/postfach/stadt/eingang").Body
	for _, link := range []string{`href="/senden"`, `href="/register"`, `href="/betrieb"`} {
		if strings.Contains(home, link) {
			t.Errorf("navigation of a records user offers %s", link)
		}
	}
	vera := e.browser()
	vera.login("vera")
	for _, path := range []string{"/postfach/stadt/eingang", "/quarantaene", "/senden"} {
		if p := vera.get(path); p.Code != http.StatusForbidden {
			t.Errorf("procurement user GET %s: %d, want 403", path, p.Code)
		}
	}
	if p := vera.get("/"); p.Code != http.StatusSeeOther || p.H.Get("Location") != "/register" {
		t.Errorf("start page of a procurement user: %d %q", p.Code, p.H.Get("Location"))
	}
}

func TestEveryPageCarriesTheContentSecurityPolicy(t *testing.T) {
	e := newEnv(t)
	e.addUser("admin", web.Roles, "*")
	m := e.incoming("stadt", "CSP", false)
	b := e.browser()
	for _, path := range []string{"/anmeldung", "/nichts"} {
		if got := b.get(path).H.Get("Content-Security-Policy"); got != wantCSP {
			t.Errorf("%s: CSP %q", path, got)
		}
	}
	b.login("admin")
	for _, path := range []string{"/postfach/stadt/eingang", "/postfach/stadt/ausgang", "/nachricht/" + id(m), "/senden", "/eeb",
		"/quarantaene", "/betrieb"} {
		p := b.get(path)
		if p.Code != 200 {
			t.Errorf("%s: %d", path, p.Code)
		}
		if got := p.H.Get("Content-Security-Policy"); got != wantCSP {
			t.Errorf("%s: CSP %q", path, got)
		}
		if strings.Contains(p.Body, "<script>") || strings.Contains(p.Body, "style=") || strings.Contains(p.Body, "<style") {
			t.Errorf("%s carries inline script or style", path)
		}
		if p.H.Get("X-Frame-Options") != "DENY" || p.H.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v", path, p.H)
		}
	}
	if p := b.get("/nachricht/" + id(m) + "/pruefprotokoll"); p.Code != 200 || !strings.Contains(p.H.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("Prüfprotokoll: %d, CSP %q", p.Code, p.H.Get("Content-Security-Policy"))
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("anna", []web.Role{web.RoleRecords}, "stadt")
	e.Clock.Add(59 * time.Minute)
	if p := b.get("/postfach/stadt/eingang"); p.Code != 200 {
		t.Fatalf("within the idle time: %d", p.Code)
	}
	e.Clock.Add(61 * time.Minute)
	if p := b.get("/postfach/stadt/eingang"); p.Code != http.StatusSeeOther {
		t.Fatalf("after the idle time: %d, want 303 to the sign-in page", p.Code)
	}
	b.login("anna")
	for i := 0; i < 9; i++ { // used every 55 minutes, it still ends after 8 hours
		e.Clock.Add(55 * time.Minute)
		p := b.get("/postfach/stadt/eingang")
		if ended := p.Code == http.StatusSeeOther; ended != (i == 8) {
			t.Fatalf("after %d minutes: %d", (i+1)*55, p.Code)
		}
	}
}

func TestDeletedUserIsSignedOut(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("anna", []web.Role{web.RoleRecords, web.RoleLegal}, "stadt")
	if err := e.Users.Put(context.Background(), web.User{Name: "anna", Roles: []web.Role{web.RoleRecords}, Mailboxes: []string{"stadt"}, Source: web.SourceLocal}); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/senden"); p.Code != http.StatusForbidden {
		t.Fatalf("after the legal role was taken: %d, want 403", p.Code)
	}
	if err := e.Users.Delete(context.Background(), "anna"); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/postfach/stadt/eingang"); p.Code != http.StatusSeeOther {
		t.Fatalf("after deletion: %d, want 303 to the sign-in page", p.Code)
	}
}

func TestStaticAssetsByHashedName(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	login := b.get("/anmeldung").Body
	i := strings.Index(login, `/static/app.`)
	if i < 0 {
		t.Fatal("no asset link")
	}
	href := login[i : i+strings.IndexByte(login[i:], '"')]
	p := b.get(href)
	if p.Code != 200 || !strings.Contains(p.H.Get("Cache-Control"), "immutable") {
		t.Fatalf("%s: %d %q", href, p.Code, p.H.Get("Cache-Control"))
	}
	if p := b.get("/static/app.css"); p.Code != http.StatusNotFound {
		t.Fatalf("unhashed name: %d, want 404", p.Code)
	}
}

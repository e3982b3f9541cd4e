package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var nonceInput = regexp.MustCompile(`name="sendung" value="([^"]+)"`)

func TestSendThroughTheSubmissionPath(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("lena", []web.Role{web.RoleLegal}, "stadt")
	form := b.get("/senden")
	if form.Code != 200 || !strings.Contains(form.Body, "Stadtwerke Erkelenz") || !strings.Contains(form.Body, `enctype="multipart/form-data"`) {
		t.Fatalf("send form: %d", form.Code)
	}
	tok := csrfInput.FindStringSubmatch(form.Body)[1]
	nonce := nonceInput.FindStringSubmatch(form.Body)[1]
	fields := [][2]string{{"csrf", tok}, {"sendung", nonce}, {"postfach", "stadt"}, {"empfaenger", "Stadtwerke"},
		{"betreff", "Widerspruch Az. 4711"}, {"az_eigen", "32-4711"}}
	p := b.multipart("/senden", fields, map[string]string{"Widerspruch.pdf": "%PDF-1.4 Inhalt"})
	if p.Code != http.StatusSeeOther || !strings.HasPrefix(p.H.Get("Location"), "/nachricht/") {
		t.Fatalf("send: %d %s", p.Code, p.Body)
	}
	loc := p.H.Get("Location")
	again := b.multipart("/senden", fields, map[string]string{"Widerspruch.pdf": "%PDF-1.4 Inhalt"})
	if again.Code != http.StatusSeeOther || strings.Split(again.H.Get("Location"), "?")[0] != strings.Split(loc, "?")[0] {
		t.Fatalf("the same form sent twice: %d %q, want the first message %q", again.Code, again.H.Get("Location"), loc)
	}
	ms, err := e.Store.List(context.Background(), mailbox.Filter{Direction: mailbox.Out, Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].Mailbox != "stadt" || ms[0].Recipient != apitest.Recipient || ms[0].Subject != "Widerspruch Az. 4711" {
		t.Fatalf("outgoing messages %+v, %v", ms, err)
	}
	page := b.get(strings.Split(loc, "?")[0])
	if page.Code != 200 || !strings.Contains(page.Body, "data-poll=") || !strings.Contains(page.Body, "Nachweis der Einreichung") {
		t.Fatalf("message page after sending: %d", page.Code)
	}
	if out := b.get("/postfach/stadt/ausgang?aktenzeichen=4711"); !strings.Contains(out.Body, "Widerspruch Az. 4711") {
		t.Fatal("outbox filtered by case number does not list the message")
	}
	if out := b.get("/postfach/stadt/ausgang?aktenzeichen=9999"); strings.Contains(out.Body, "Widerspruch Az. 4711") {
		t.Fatal("outbox filtered by another case number lists the message")
	}
	if p := b.multipart("/senden", [][2]string{{"csrf", tok}, {"postfach", "ordnungsamt"}, {"empfaenger", apitest.Recipient}, {"betreff", "x"}},
		map[string]string{"a.pdf": "%PDF"}); p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "Aus diesem Postfach dürfen Sie nicht senden.") {
		t.Fatalf("send from a mailbox out of scope: %d", p.Code)
	}
	found := false
	for _, ev := range e.journal("web") {
		found = found || (strings.Contains(ev.Detail, `"actor":"user:lena"`) && strings.Contains(ev.Detail, `"path":"/senden"`))
	}
	if !found {
		t.Fatal("sending not journaled with the user")
	}
}

func TestSendShowsTheERVBFindingsInGerman(t *testing.T) {
	e := newEnv(t)
	if _, err := e.Book.Add(context.Background(), addressbook.Recipient{SafeID: "DE.Justiz.ag-koeln.1", Name: "Amtsgericht Köln", CourtCode: "F1100",
		CipherCert: apitest.PKIPEM(t, "intermediary-cipher.pem")}); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn("lena", []web.Role{web.RoleLegal}, "stadt")
	tok := b.csrf("/senden")
	p := b.multipart("/senden", [][2]string{{"csrf", tok}, {"postfach", "stadt"}, {"empfaenger", "F1100"}, {"betreff", "Klage"}},
		map[string]string{"Klage.docx": "PK\x03\x04 not a pdf"})
	if p.Code != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `id="befunde"`) || !strings.Contains(p.Body, "nicht zulässig") || !strings.Contains(p.Body, ".docx") {
		t.Fatalf("a .docx to a court: %d\n%s", p.Code, p.Body)
	}
	if ms, _ := e.Store.List(context.Background(), mailbox.Filter{Direction: mailbox.Out, Limit: 10}); len(ms) != 0 {
		t.Fatalf("%d messages queued after a refusal", len(ms))
	}
}

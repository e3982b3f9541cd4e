package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// courtRequest receives in mb a court's message whose record asks for
// an eEB, and lets the eEB service make its task.
func (e *env) courtRequest(mb, osciID string) eeb.Task {
	t := e.t
	t.Helper()
	ctx := context.Background()
	b, err := e.codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		CaseSender: "3 C 17/26", CaseRecipient: "32-12/26", Documents: []xjustiz.Document{{Name: "Ladung.pdf", Class: "012"}}, EEB: true})
	if err != nil {
		t.Fatal(err)
	}
	// Built as our filing; sender and recipient swapped, the court sends it.
	from := regexp.MustCompile(`(?s)<tns:auswahl_absender>.*?</tns:auswahl_absender>`).Find(b.Record)
	to := regexp.MustCompile(`(?s)<tns:auswahl_empfaenger>.*?</tns:auswahl_empfaenger>`).Find(b.Record)
	swap := strings.NewReplacer("auswahl_empfaenger", "auswahl_absender", "empfaenger.gericht", "absender.gericht")
	back := strings.NewReplacer("auswahl_absender", "auswahl_empfaenger", "absender.sonstige", "empfaenger.sonstige")
	rec := bytes.Replace(b.Record, from, []byte("\x00"), 1)
	rec = bytes.Replace(rec, to, []byte(back.Replace(string(from))), 1)
	rec = bytes.Replace(rec, []byte("\x00"), []byte(swap.Replace(string(to))), 1)
	var docs []mailbox.Document
	for name, content := range map[string][]byte{"Ladung.pdf": []byte("%PDF-1.7 " + osciID), "xjustiz_nachricht.xml": rec} {
		ref, err := e.Blobs.Put(bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, mailbox.Document{Role: mailbox.RoleDocument, Name: name, SHA256: ref.SHA256, Size: ref.Size})
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Report: mailbox.VerificationReport{Verdict: mailbox.ResultValid}})
	m, err := e.Store.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: mb, OSCIMessageID: osciID, ContentSHA256: mailbox.IncomingDigest(docs),
		Sender: apitest.Recipient, Meta: meta, Documents: docs, Now: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := e.Store.ClaimDue(ctx, mailbox.In, e.Clock.Now().Add(time.Hour), "test", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claimed {
		if _, err := e.Store.Apply(ctx, mailbox.Change{ID: c.ID, Owner: "test", Token: c.LeaseToken, To: mailbox.StateIntakePending, Now: e.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for more := true; more; {
		if more, err = e.EEB.Follow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	task, err := e.EEB.Tasks().TaskForMessage(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestEEBTasksOfTheScopeAnsweredWithTheUsersName(t *testing.T) {
	e := newEnv(t)
	e.addUser("olaf", []web.Role{web.RoleLegal}, "ordnungsamt")
	own := e.courtRequest("ordnungsamt", "eeb-own")
	other := e.courtRequest("stadt", "eeb-other")
	e.Clock.Add(50 * time.Hour) // past half of the three days: the deadline is near
	b := e.browser()
	b.login("olaf")
	p := b.get("/eeb")
	if p.Code != 200 || !strings.Contains(p.Body, `id="aufgabe-`+strconv.FormatInt(own.ID, 10)+`"`) || !strings.Contains(p.Body, "frist-nah") {
		t.Fatalf("eEB page: %d, own task with a near deadline missing:\n%s", p.Code, p.Body)
	}
	if strings.Contains(p.Body, `id="aufgabe-`+strconv.FormatInt(other.ID, 10)+`"`) {
		t.Fatal("the eEB page shows a task of a mailbox out of scope")
	}
	tok := csrfInput.FindStringSubmatch(p.Body)[1]
	day := e.Clock.Now().In(time.FixedZone("", 3600)).Format("2006-01-02")
	if r := b.post("/eeb/"+strconv.FormatInt(other.ID, 10)+"/bestaetigen", url.Values{"csrf": {tok}, "datum": {day}}); r.Code != http.StatusNotFound {
		t.Fatalf("answering a task out of scope: %d, want 404", r.Code)
	}
	if r := b.post("/eeb/"+strconv.FormatInt(own.ID, 10)+"/bestaetigen", url.Values{"csrf": {tok}, "datum": {"2020-01-01"}}); r.Code != http.StatusBadRequest {
		t.Fatalf("a day before the request arrived: %d, want 400", r.Code)
	}
	if r := b.post("/eeb/"+strconv.FormatInt(own.ID, 10)+"/bestaetigen", url.Values{"csrf": {tok}, "datum": {day}}); r.Code != http.StatusSeeOther {
		t.Fatalf("acknowledge: %d %s", r.Code, r.Body)
	}
	got, err := e.EEB.Tasks().Task(context.Background(), own.ID)
	if err != nil || got.State != eeb.StateAnswered || got.Answer == nil || got.Answer.By != "user:olaf" {
		t.Fatalf("answered task %+v, %v", got, err)
	}
	if st, _ := e.EEB.Tasks().Task(context.Background(), other.ID); st.State != eeb.StateOpen {
		t.Fatalf("the other mailbox's task is %s", st.State)
	}
	if r := b.post("/eeb/"+strconv.FormatInt(own.ID, 10)+"/ablehnen", url.Values{"csrf": {tok}, "code": {"2"}}); r.Code != http.StatusConflict {
		t.Fatalf("answering twice: %d, want 409", r.Code)
	}
	if p := b.get("/eeb"); strings.Contains(p.Body, `id="aufgabe-`+strconv.FormatInt(own.ID, 10)+`"`) {
		t.Fatal("an answered task is still listed")
	}
}

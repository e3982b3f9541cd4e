package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

// courtRequest receives in mb a court's message whose record asks for
// an eEB, and lets the eEB service make its task.
func (e *env) courtRequest(mb, osciID string) eeb.Task {
	t := e.t
	t.Helper()
	m := apitest.DeliverFromCourt(t, e.Store, e.Blobs, e.Clock.Now(), mb, osciID, apitest.CourtRecord(t, e.codec).Record)
	apitest.FollowEEB(t, e.EEB)
	task, err := e.EEB.Tasks().TaskForMessage(context.Background(), m.ID)
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

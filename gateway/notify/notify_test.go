package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// decode returns the header and the quoted-printable body of a mail.
func decode(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	hdr, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no header/body split:\n%s", raw)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return string(hdr), string(b)
}

func TestNewMailByEmailOverSTARTTLSWithoutPersonalData(t *testing.T) {
	e, ms, s := newMailEnv(t, true)
	m := e.receive(t, "rechtsamt", "osci-1", mailbox.StateIntakePending)
	e.receive(t, "vergabe", "osci-2", mailbox.StateIntakePending) // nobody subscribed
	follow(t, s)
	if _, err := s.Send(context.Background()); err != nil {
		t.Fatal(err)
	}
	mails := ms.received()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	hdr, body := decode(t, mails[0])
	assertNoPersonalData(t, "the mail", mails[0])
	assertNoPersonalData(t, "the decoded body", []byte(body))
	id := strconv.FormatInt(m.ID, 10)
	for _, want := range []string{"Neue Nachricht im Postfach rechtsamt", "https://gateway.stadt.example/nachricht/" + id, "Nachrichten-Nr. " + id} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	for _, want := range []string{"To: " + userEmail, "Auto-Submitted: auto-generated", "Subject: Neue Nachricht im Postfach rechtsamt"} {
		if !strings.Contains(hdr, want) {
			t.Errorf("header lacks %q:\n%s", want, hdr)
		}
	}
	sent := jobs(t, e.queue, notify.StateSent)
	if len(sent) != 1 || sent[0].Address != "" || sent[0].Notice.Ref != m.ID {
		t.Fatalf("sent jobs %+v: want one, its address cleared", sent)
	}
	for _, l := range e.logs.All() {
		for _, f := range l.Context {
			if strings.Contains(f.String, userEmail) {
				t.Errorf("log line %q names the address: %+v", l.Message, f)
			}
		}
	}
}

func TestSTARTTLSRequired(t *testing.T) {
	e, ms, s := newMailEnv(t, false) // offers no STARTTLS
	e.receive(t, "rechtsamt", "osci-1", mailbox.StateIntakePending)
	follow(t, s)
	if _, err := s.Send(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(ms.received()); n != 0 || ms.plain != 0 {
		t.Fatalf("%d mails, %d MAIL commands in the clear; want none", n, ms.plain)
	}
	js := jobs(t, e.queue, notify.StatePending)
	if len(js) != 1 || js[0].Reason != "starttls_missing" || !js[0].NextAt.After(t0) {
		t.Fatalf("jobs %+v: want one pending for later, starttls_missing", js)
	}
}

func TestSMTP421RetriedAnd550GivenUpOnce(t *testing.T) {
	e, ms, s := newMailEnv(t, true)
	e.receive(t, "rechtsamt", "osci-1", mailbox.StateIntakePending)
	e.receive(t, "rechtsamt", "osci-2", mailbox.StateQuarantined)
	follow(t, s)
	ms.script(&gosmtp.SMTPError{Code: 421, EnhancedCode: gosmtp.EnhancedCode{4, 7, 0}, Message: "<" + userEmail + "> try again later"},
		&gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "<" + userEmail + "> user unknown"})
	ctx := context.Background()
	if _, err := s.Send(ctx); err != nil {
		t.Fatal(err)
	}
	// The first (new mail) got 421 and waits; the second (quarantine) 550, given up.
	pend, failed := jobs(t, e.queue, notify.StatePending), jobs(t, e.queue, notify.StateFailed)
	if len(pend) != 1 || pend[0].Attempts != 1 || pend[0].Reason != "smtp_rcpt_421_4.7.0" || pend[0].Notice.Kind != notify.KindNewMail {
		t.Fatalf("pending %+v: want the new-mail job after one 421", pend)
	}
	if len(failed) != 1 || failed[0].Reason != "smtp_rcpt_550_5.1.1" || failed[0].Notice.Kind != notify.KindQuarantine || failed[0].Address != "" {
		t.Fatalf("failed %+v: want the quarantine job after a 550", failed)
	}
	// Before its time nothing is tried; after it, the 421 job goes out and the 550 one never again.
	if _, err := s.Send(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(ms.received()); n != 0 {
		t.Fatalf("%d mails before the retry is due", n)
	}
	e.clock.Set(pend[0].NextAt)
	for range 3 {
		if _, err := s.Send(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(ms.received()); n != 1 {
		t.Fatalf("%d mails after the retry, want 1", n)
	}
	if sent := jobs(t, e.queue, notify.StateSent); len(sent) != 1 || sent[0].Attempts != 2 {
		t.Fatalf("sent %+v: want the retried job", sent)
	}
	given := linesWith(e.logs, "failed permanently")
	if len(given) != 1 {
		t.Fatalf("%d lines for the permanent failure, want 1", len(given))
	}
	if f := given[0].ContextMap(); f["reason"] != "smtp_rcpt_550_5.1.1" || f["to"] != "m…@stadt.example" {
		t.Fatalf("line %v: want reason and a masked address", f)
	}
	if n := len(linesWith(e.logs, "retried later")); n != 1 {
		t.Fatalf("%d lines for the temporary failure, want 1", n)
	}
}

func TestRetriesEndAtTheLifetime(t *testing.T) {
	e, ms, s := newMailEnv(t, true)
	e.receive(t, "rechtsamt", "osci-1", mailbox.StateIntakePending)
	follow(t, s)
	ctx := context.Background()
	for i := 0; ; i++ {
		ms.script(&gosmtp.SMTPError{Code: 451, Message: "later"})
		if _, err := s.Send(ctx); err != nil {
			t.Fatal(err)
		}
		if len(jobs(t, e.queue, notify.StateFailed)) == 1 {
			break
		}
		if i > 100 {
			t.Fatal("a temporary failure is retried past the lifetime")
		}
		e.clock.Add(time.Hour)
	}
	if n := len(linesWith(e.logs, "retries exhausted")); n != 1 {
		t.Fatalf("%d give-up lines, want 1", n)
	}
}

func TestExactlyOnceAcrossRestart(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, notify.Config{})
	follow(t, s)
	e.receive(t, "rechtsamt", "osci-1", mailbox.StateIntakePending)
	follow(t, s)
	if n := len(jobs(t, e.queue, "")); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	// Restart: the queue reopened from disk, a new service.
	e.queue.Close()
	e.openQueue(t)
	s = e.service(t, notify.Config{})
	follow(t, s)
	if n := len(jobs(t, e.queue, "")); n != 1 {
		t.Fatalf("%d jobs after a restart, want still 1", n)
	}
	// What happens while stopped is told after the start, once.
	e.queue.Close()
	q := e.receive(t, "rechtsamt", "osci-2", mailbox.StateQuarantined)
	e.openQueue(t)
	s = e.service(t, notify.Config{})
	follow(t, s)
	follow(t, s)
	js := jobs(t, e.queue, "")
	if len(js) != 2 || js[1].Notice != (notify.Notice{Kind: notify.KindQuarantine, Mailbox: "rechtsamt", Ref: q.ID}) {
		t.Fatalf("jobs %+v: want the quarantine told once after the restart", js)
	}
	// A round replayed after a crash before its commit records nothing twice.
	r := notify.Resolved{Notice: js[1].Notice, Jobs: []notify.Job{{User: "mmuster", Channel: notify.ChannelEmail, Address: userEmail}}}
	if n, err := e.queue.Record(context.Background(), notify.Batch{Notices: []notify.Resolved{r}}, e.clock.Now()); err != nil || n != 0 {
		t.Fatalf("replay queued %d (%v), want 0", n, err)
	}
	// A message retried by the intake (intake_pending again) is not new mail again.
	if n := len(jobs(t, e.queue, "")); n != 2 {
		t.Fatalf("%d jobs, want 2", n)
	}
}

// webhookServer is an httptest TLS server that records what it gets.
type webhookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	status []int
}

func startWebhook(t *testing.T) *webhookServer {
	w := &webhookServer{}
	w.Server = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			rw.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		w.bodies = append(w.bodies, b)
		if len(w.status) > 0 {
			rw.WriteHeader(w.status[0])
			w.status = w.status[1:]
		}
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webhookServer) hooks() *notify.Webhooks {
	return &notify.Webhooks{AllowedHosts: []string{"127.0.0.1"}, TLS: w.Client().Transport.(*http.Transport).TLSClientConfig.Clone(),
		Retries: -1, Timeout: 5 * time.Second}
}

func TestWebhookTeamsAndJSON(t *testing.T) {
	e := newEnv(t)
	wh := startWebhook(t)
	e.subs = []notify.Subscriber{
		{User: "teams", Webhook: &notify.Webhook{URL: wh.URL + "/workflows/abc?sig=SECRET", Format: notify.FormatTeams}},
		{User: "json", Webhook: &notify.Webhook{URL: wh.URL + "/hook", Format: notify.FormatJSON}},
		{User: "elsewhere", Webhook: &notify.Webhook{URL: "https://hooks.example.net/x", Format: notify.FormatJSON}},
		{User: "cleartext", Webhook: &notify.Webhook{URL: "http://hooks.stadt.example/x", Format: notify.FormatJSON}},
	}
	hooks := wh.hooks()
	hooks.AllowedHosts = append(hooks.AllowedHosts, "hooks.stadt.example")
	s := e.service(t, notify.Config{Webhooks: hooks})
	follow(t, s)
	m := e.receive(t, "rechtsamt", "osci-1", mailbox.StateIntakePending)
	follow(t, s)
	if _, err := s.Send(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(wh.bodies) != 2 {
		t.Fatalf("%d webhook posts, want 2", len(wh.bodies))
	}
	for _, b := range wh.bodies {
		assertNoPersonalData(t, "a webhook", b)
	}
	var teams struct {
		Type        string `json:"type"`
		Attachments []struct {
			ContentType string `json:"contentType"`
			Content     struct {
				Type    string `json:"type"`
				Body    []struct{ Text string }
				Actions []struct{ Type, URL string }
			} `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(wh.bodies[0], &teams); err != nil {
		t.Fatal(err)
	}
	link := "https://gateway.stadt.example/nachricht/" + strconv.FormatInt(m.ID, 10)
	if teams.Type != "message" || len(teams.Attachments) != 1 || teams.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" ||
		teams.Attachments[0].Content.Type != "AdaptiveCard" || teams.Attachments[0].Content.Body[0].Text != "Neue Nachricht im Postfach rechtsamt" ||
		teams.Attachments[0].Content.Actions[0].URL != link {
		t.Fatalf("teams body: %s", wh.bodies[0])
	}
	var p notify.Payload
	if err := json.Unmarshal(wh.bodies[1], &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != notify.KindNewMail || p.Mailbox != "rechtsamt" || p.Ref != m.ID || p.URL != link {
		t.Fatalf("json body: %s", wh.bodies[1])
	}
	failed := jobs(t, e.queue, notify.StateFailed)
	if len(failed) != 2 || failed[0].Reason != "webhook_host_refused" || failed[1].Reason != "webhook_host_refused" {
		t.Fatalf("failed %+v: want the host not allowed and plain http refused", failed)
	}
	for _, l := range e.logs.All() {
		for _, f := range l.Context {
			if strings.Contains(f.String, "SECRET") {
				t.Errorf("log line %q carries the webhook's secret", l.Message)
			}
		}
	}
}

func TestWebhookStatusClassified(t *testing.T) {
	for _, tc := range []struct {
		status int
		state  string
	}{{503, notify.StatePending}, {429, notify.StatePending}, {404, notify.StateFailed}, {302, notify.StateFailed}, {204, notify.StateSent}} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			e := newEnv(t)
			wh := startWebhook(t)
			wh.status = []int{tc.status}
			e.subs = []notify.Subscriber{{User: "json", Webhook: &notify.Webhook{URL: wh.URL + "/hook"}}}
			s := e.service(t, notify.Config{Webhooks: wh.hooks()})
			follow(t, s)
			e.receive(t, "rechtsamt", "osci-1", mailbox.StateQuarantined)
			follow(t, s)
			if _, err := s.Send(context.Background()); err != nil {
				t.Fatal(err)
			}
			js := jobs(t, e.queue, "")
			if len(js) != 1 || js[0].State != tc.state {
				t.Fatalf("jobs %+v: want %s", js, tc.state)
			}
		})
	}
}

func TestEEBDeadlineToldOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tasks, err := eeb.OpenSQLite(ctx, e.dir+"/"+eeb.FileName, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tasks.Close()
	task := func(msg int64, received time.Time) eeb.Task {
		return eeb.Task{MessageID: msg, Mailbox: "rechtsamt", CourtSafeID: "DE.Justiz.x", CourtMessageID: "m" + strconv.FormatInt(msg, 10),
			CaseCourt: caseNumber, Subject: subject, ReceivedAt: received, CreatedAt: received, State: eeb.StateOpen}
	}
	if err := tasks.Record(ctx, eeb.Batch{Cursor: 1, Tasks: []eeb.Task{task(1, t0.Add(-50*time.Hour)), task(2, t0.Add(-10*time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	s := e.service(t, notify.Config{Tasks: tasks, OverdueAfter: 72 * time.Hour, WarnBefore: 24 * time.Hour})
	for range 2 {
		if err := s.Deadlines(ctx); err != nil {
			t.Fatal(err)
		}
	}
	js := jobs(t, e.queue, "")
	if len(js) != 1 || js[0].Notice.Kind != notify.KindEEBDue || js[0].Notice.Mailbox != "rechtsamt" {
		t.Fatalf("jobs %+v: want the task open for 50 of 72 hours, once", js)
	}
	e.clock.Add(40 * time.Hour)
	if err := s.Deadlines(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(jobs(t, e.queue, "")); n != 2 {
		t.Fatalf("%d jobs, want the second task told when it came close", n)
	}
}

func TestMaskAddress(t *testing.T) {
	for in, want := range map[string]string{
		userEmail: "m…@stadt.example",
		"https://prod.westeurope.logic.azure.com/workflows/x?sig=abc": "https://prod.westeurope.logic.azure.com/…",
		"": "",
	} {
		if got := notify.MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

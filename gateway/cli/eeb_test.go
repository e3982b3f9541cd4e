package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// eebEnv is an API with the eEB service on real stores.
type eebEnv struct {
	*apitest.Env
	url   string
	codec *xjustiz.Codec
	svc   *eeb.Service
}

func newEEBEnv(t *testing.T) *eebEnv {
	t.Helper()
	e := apitest.NewEnvWithRecipient(t)
	ctx := context.Background()
	codec, err := xjustiz.New(xjustiz.Options{Now: e.Clock.Now, Rand: certstest.DetRand("cli-eeb")})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := eeb.OpenSQLite(ctx, filepath.Join(e.Dir, eeb.FileName), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tasks.Close() })
	svc, err := eeb.New(eeb.Config{Tasks: tasks, Mail: e.Store, Blobs: e.Blobs, Codec: codec, Submitter: e.Srv.Submitter(),
		Sender: func(string) string { return "Stadt Erkelenz" }, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := api.LoadTokens(filepath.Join(e.Dir, "tokens"), false)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Deps{Store: e.Store, Blobs: e.Blobs, AddressBook: e.Book, DataDir: e.Dir,
		Mailboxes: []api.Mailbox{{Name: apitest.Mailbox, PollInterval: time.Minute}}, Tokens: toks, Poll: e.Poll, Now: e.Clock.Now, EEB: svc})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &eebEnv{Env: e, url: ts.URL, codec: codec, svc: svc}
}

// receive stores a verified delivery from the court with record.
func (e *eebEnv) receive(t *testing.T, osciID string, record []byte) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	var docs []mailbox.Document
	for name, content := range map[string][]byte{"Ladung.pdf": []byte("%PDF-1.7 " + osciID), "xjustiz_nachricht.xml": record} {
		ref, err := e.Blobs.Put(bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, mailbox.Document{Role: mailbox.RoleDocument, Name: name, SHA256: ref.SHA256, Size: ref.Size})
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Report: mailbox.VerificationReport{Verdict: mailbox.ResultValid}})
	m, err := e.Store.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: apitest.Mailbox, OSCIMessageID: osciID, ContentSHA256: mailbox.IncomingDigest(docs),
		Sender: apitest.Recipient, Meta: meta, Documents: docs, Now: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := e.Store.ClaimDue(ctx, mailbox.In, e.Clock.Now().Add(time.Hour), "test", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claimed {
		if c.ID == m.ID {
			if m, err = e.Store.Apply(ctx, mailbox.Change{ID: m.ID, Owner: "test", Token: c.LeaseToken, To: mailbox.StateIntakePending, Now: e.Clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for more := true; more; {
		if more, err = e.svc.Follow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// courtRequest is a court's record asking for an eEB: built as a filing,
// with sender and recipient swapped so the court (R1502) sends it.
func (e *eebEnv) courtRequest(t *testing.T) *xjustiz.Built {
	t.Helper()
	b, err := e.codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		CaseSender: "3 C 17/26", CaseRecipient: "32-12/26", Documents: []xjustiz.Document{{Name: "Ladung.pdf", Class: "012"}}, EEB: true})
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?s)<tns:auswahl_absender>.*?</tns:auswahl_absender>`).Find(b.Record)
	to := regexp.MustCompile(`(?s)<tns:auswahl_empfaenger>.*?</tns:auswahl_empfaenger>`).Find(b.Record)
	swap := strings.NewReplacer("auswahl_empfaenger", "auswahl_absender", "empfaenger.gericht", "absender.gericht")
	back := strings.NewReplacer("auswahl_absender", "auswahl_empfaenger", "absender.sonstige", "empfaenger.sonstige")
	rec := bytes.Replace(b.Record, from, []byte("\x00"), 1)
	rec = bytes.Replace(rec, to, []byte(back.Replace(string(from))), 1)
	b.Record = bytes.Replace(rec, []byte("\x00"), []byte(swap.Replace(string(to))), 1)
	if err := e.codec.Validate(b.Record); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCLIEEBAcknowledge is the acceptance on the CLI: a court's
// eEB request is listed, acknowledged by `eeb acknowledge`, refused a
// second time, and shown on the message; the answer queued to the court
// is schema-valid and names the court's message.
func TestCLIEEBAcknowledge(t *testing.T) {
	e := newEEBEnv(t)
	req := e.courtRequest(t)
	in := e.receive(t, "court-1", req.Record)
	env := map[string]string{TokenEnv: apitest.Token}
	a := func(args ...string) []string { return append(args, "--api", e.url) }
	today := e.Clock.Now().In(berlin).Format(time.DateOnly)
	runCLICases(t, env, []cliCase{
		{"list", a("eeb", "list"), ExitOK, "R1502 Amtsgericht Erkelenz", ""},
		{"status counts the open task", a("status", "--json"), ExitFail, `"open": 1`, "not ready"},
		{"show", a("eeb", "show", "1"), ExitOK, "3 C 17/26", ""},
		{"acknowledge without date", a("eeb", "acknowledge", "1"), ExitUsage, "", "--date"},
		{"acknowledge", a("eeb", "acknowledge", "--date", today, "1"), ExitOK, "task 1: acknowledged, received on " + today + "; sent to the court as message", ""},
		{"acknowledge again", a("eeb", "acknowledge", "--date", today, "1"), ExitFail, "", "409"},
		{"reject answered", a("eeb", "reject", "--code", "2", "1"), ExitFail, "", "already answered"},
		{"reject bad code", a("eeb", "reject", "--code", "7", "1"), ExitUsage, "", "--code 1, 2 or 3"},
		{"list answered", a("eeb", "list", "--state", "answered"), ExitOK, "answered", ""},
		{"message shows the task", a("messages", "show", "1"), ExitOK, "eEB requested: task 1, acknowledged, received on " + today + " by token:ops", ""},
		{"on the data directory", []string{"eeb", "show", "--data", e.Dir, "1"}, ExitOK, "answered by", ""},
	})
	task, err := e.svc.Tasks().Task(context.Background(), 1)
	if err != nil || task.Answer == nil || task.Answer.By != "token:ops" || task.MessageID != in.ID {
		t.Fatalf("task = %+v, %v", task, err)
	}
	sent, err := e.Store.Get(context.Background(), task.Answer.SentMessageID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Blobs.Open(sent.Documents[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var rec bytes.Buffer
	rec.ReadFrom(r)
	r.Close()
	got, err := e.codec.ReadEEB(rec.Bytes())
	if err != nil || got.Validation != nil || got.EEB.ForeignMessageID != req.MessageID || sent.Recipient != apitest.Recipient {
		t.Fatalf("queued answer: %+v %v (to %s)", got, err, sent.Recipient)
	}
}

// TestCLIEvidenceAndCourtAnswer: our --eeb filing, the court's answer
// recorded on it (messages show), and its proof of filing with the
// reception time from the process card (messages evidence, through the
// API and on the data directory).
func TestCLIEvidenceAndCourtAnswer(t *testing.T) {
	e := newEEBEnv(t)
	ctx := context.Background()
	ours, err := e.codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		Documents: []xjustiz.Document{{Name: "Klage.pdf", Class: "003"}}, EEB: true})
	if err != nil {
		t.Fatal(err)
	}
	d := e.Srv.Submitter().Begin()
	defer d.Abort()
	for name, content := range map[string][]byte{"xjustiz_nachricht.xml": ours.Record, ours.Documents[0].FileName: certstest.Document(t, "plain_gs.pdf")} {
		if err := d.AddDocument(name, "", bytes.NewReader(content)); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := d.Commit(ctx, apitest.OKMessage(), "")
	if err != nil {
		t.Fatal(err)
	}
	reception := time.Date(2026, 6, 1, 7, 5, 9, 0, time.UTC) // 09:05:09 MESZ
	if err := e.Store.UpdateProcessCard(ctx, acc.Message.ID, mailbox.ProcessCard{OSCIMessageID: "osci-ours", Creation: reception, Reception: reception}, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	answer, err := e.codec.BuildEEB(xjustiz.EEBAnswer{Court: xjustiz.Court{Name: "Stadt Erkelenz"}, Sender: "Amtsgericht Erkelenz",
		ForeignMessageID: ours.MessageID, Rejection: &xjustiz.Rejection{Code: xjustiz.RejectUnclear, Reason: "Anlage fehlt"}})
	if err != nil {
		t.Fatal(err)
	}
	e.receive(t, "court-eeb", answer.Record)

	env := map[string]string{TokenEnv: apitest.Token}
	page := filepath.Join(t.TempDir(), "nachweis.html")
	id := "1"
	runCLICases(t, env, []cliCase{
		{"show records the answer", []string{"messages", "show", "--api", e.url, id}, ExitOK, "eEB of the court: rejected, 2 Inhalt der Sendung unklar oder unvollständig – Anlage fehlt", ""},
		{"evidence", []string{"messages", "evidence", "--api", e.url, id}, ExitOK, "2026-06-01T09:05:09+02:00 (process card)", ""},
		{"evidence html", []string{"messages", "evidence", "--api", e.url, "--html", page, id}, ExitOK, "reception", "wrote"},
		{"evidence html again", []string{"messages", "evidence", "--api", e.url, "--html", page, id}, ExitFail, "", "not overwritten"},
		{"evidence json on the data directory", []string{"messages", "evidence", "--data", e.Dir, "--json", id}, ExitOK, `"receptionAt": "2026-06-01T07:05:09Z"`, ""},
		{"evidence of a received message", []string{"messages", "evidence", "--api", e.url, "2"}, ExitFail, "", "409"},
		{"unmatched none", []string{"eeb", "list", "--api", e.url, "--json"}, ExitOK, `"unmatchedReplies": []`, ""},
	})
	html, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(html, []byte("01.06.2026, 09:05:09 Uhr (MESZ)")) || !bytes.Contains(html, []byte("abgelehnt")) {
		t.Errorf("page: %v\n%.2000s", err, html)
	}
	code, out, _ := runCLI(t, env, "messages", "evidence", "--api", e.url, "--json", id)
	var b evidence.Bundle
	if code != ExitOK || json.Unmarshal([]byte(out), &b) != nil || len(b.EEB) != 1 || b.EEB[0].RejectCode != "2" || b.Record == nil || !b.Record.EEBRequested {
		t.Errorf("bundle (exit %d): %+v", code, b)
	}
}

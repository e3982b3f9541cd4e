package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// eebEnv is an API with the eEB service on real stores.
type eebEnv struct {
	*apitest.Env
	url string
}

func newEEBEnv(t *testing.T) *eebEnv {
	t.Helper()
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithEEB())
	e.AddRecipient(t)
	return &eebEnv{Env: e, url: e.TS.URL}
}

// TestCLIEEBAcknowledge is the acceptance on the CLI: a court's
// eEB request is listed, acknowledged by `eeb acknowledge`, refused a
// second time, and shown on the message; the answer queued to the court
// is schema-valid and names the court's message.
func TestCLIEEBAcknowledge(t *testing.T) {
	e := newEEBEnv(t)
	req := e.CourtRequest(t)
	in := e.ReceiveFromCourt(t, "court-1", req.Record)
	env := map[string]string{TokenEnv: apitest.Token}
	a := func(args ...string) []string { return append(args, "--api", e.url) }
	today := e.Clock.Now().In(api.Berlin).Format(time.DateOnly)
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
	task, err := e.EEB.Tasks().Task(context.Background(), 1)
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
	got, err := e.Codec.ReadEEB(rec.Bytes())
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
	ours, acc := e.FileWithEEB(t)
	reception := time.Date(2026, 6, 1, 7, 5, 9, 0, time.UTC) // 09:05:09 MESZ
	if err := e.Store.UpdateProcessCard(ctx, acc.Message.ID, mailbox.ProcessCard{OSCIMessageID: "osci-ours", Creation: reception, Reception: reception}, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	answer, err := e.Codec.BuildEEB(xjustiz.EEBAnswer{Court: xjustiz.Court{Name: "Stadt Erkelenz"}, Sender: "Amtsgericht Erkelenz",
		ForeignMessageID: ours.MessageID, Rejection: &xjustiz.Rejection{Code: xjustiz.RejectUnclear, Reason: "Anlage fehlt"}})
	if err != nil {
		t.Fatal(err)
	}
	e.ReceiveFromCourt(t, "court-eeb", answer.Record)

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

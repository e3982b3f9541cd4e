package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// TestDemoEEBAnsweredByCLIAndProofOfFiling runs the demo with every eEB
// answered by the real CLI, by the very command the demo prints:
//   - our message to the court asks for an eEB; the court's mailbox
//     acknowledges it and the court's 2200007 is recorded on our message
//     (messages show says so);
//   - the court's summons asking for an eEB opens a task for the city;
//     acknowledged by `eeb acknowledge`, the 2200007 arrives in the court's
//     intake valid against the shared XJustiz 3.5.1 schema (xmllint) and
//     naming the summons' record in fremdeNachrichtenID;
//   - `messages evidence` of our message gives the bundle with the
//     reception time of the process card.
func TestDemoEEBAnsweredByCLIAndProofOfFiling(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole demo; skipped with -short")
	}
	xmllint := certstest.NeedTool(t, "xmllint")
	l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:2") // keys from the shared fixture
	today := time.Now().In(berlin).Format(time.DateOnly)

	var mu sync.Mutex
	var out bytes.Buffer
	var answers [][]string
	var answerOut []string
	opt := demo.Options{Answer: func(ctx context.Context, args []string) error {
		text, code := runCLI(args...)
		mu.Lock()
		answers, answerOut = append(answers, args), append(answerOut, text)
		mu.Unlock()
		if code != cli.ExitOK {
			return fmt.Errorf("bebpo-gateway %s: exit %d: %s", strings.Join(args, " "), code, text)
		}
		return nil
	}}
	sig := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.RunWith(apitest.LockedWriter{W: &out, Mu: &mu}, func(string) string { return "" }, l.Dir, sig, opt)
	}()
	text := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	deadline := time.Now().Add(5 * time.Minute)
	for !strings.Contains(text(), "Running until Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("demo ended: %v\n%s", err, text())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no walkthrough within 5 minutes:\n%s", text())
		}
	}
	defer func() {
		sig <- syscall.SIGTERM
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo did not stop on SIGTERM")
		}
	}()
	got := text()
	if strings.Contains(got, "stopped:") {
		t.Fatalf("the eEB walkthrough stopped:\n%s", got)
	}

	// Both eEB were answered by `eeb acknowledge`, the command printed.
	mu.Lock()
	if len(answers) != 2 {
		mu.Unlock()
		t.Fatalf("%d answers by the CLI, want 2 (ours at the court, the court's at the city):\n%s", len(answers), got)
	}
	var tasks []int64
	for i, args := range answers {
		if !strings.Contains(got, "\n     ./bin/bebpo-gateway "+strings.Join(args, " ")+"\n") {
			t.Errorf("answer %d: the CLI ran %q, which the demo did not print", i+1, args)
		}
		if args[0] != "eeb" || args[1] != "acknowledge" {
			t.Errorf("answer %d: %q is not eeb acknowledge", i+1, args)
		}
		m := regexp.MustCompile(`^task (\d+): acknowledged, received on (\S+); sent to the court as message \d+\n$`).FindStringSubmatch(answerOut[i])
		if m == nil || m[2] != today {
			t.Errorf("answer %d: eeb acknowledge printed %q, want the task acknowledged on %s", i+1, answerOut[i], today)
			continue
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		tasks = append(tasks, id)
	}
	mu.Unlock()
	if len(tasks) != 2 {
		t.FailNow()
	}
	ctx := context.Background()
	c := apiClient(t, l)

	// 1. Our --eeb message: the court's mailbox answered, the answer is
	// recorded on it.
	m := regexp.MustCompile(`and, asking for an eEB, to "landgericht".* \(message id (\d+)\)\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no message to the court reported:\n%s", got)
	}
	ours, _ := strconv.ParseInt(m[1], 10, 64)
	courtTask := task(t, c, tasks[0])
	if courtTask.Mailbox != demo.Landgericht.ID || courtTask.State != eeb.StateAnswered || courtTask.CourtSafeID != demo.Stadt.SafeID {
		t.Errorf("first task: %+v, want the court's, answered, to the city", courtTask)
	}
	ourView, err := c.GetMessage(ctx, ours)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		XJustizMessageID string `json:"xjustizMessageId"`
		EEBRequested     bool   `json:"eebRequested"`
	}
	if err := json.Unmarshal(ourView.Meta, &meta); err != nil || !meta.EEBRequested || !strings.EqualFold(courtTask.CourtMessageID, meta.XJustizMessageID) {
		t.Errorf("our message's record %+v (%v); the court's task names %s", meta, err, courtTask.CourtMessageID)
	}
	if ourView.EEB == nil || len(ourView.EEB.Replies) != 1 {
		t.Fatalf("our message %d: eEB %+v, want the court's one answer recorded", ours, ourView.EEB)
	}
	if r := ourView.EEB.Replies[0]; r.OurMessageID != ours || r.Result() != "acknowledged" ||
		r.Acknowledged.In(berlin).Format(time.DateOnly) != today || r.ForeignMessageID != meta.XJustizMessageID {
		t.Errorf("the recorded answer %+v, want acknowledged on %s naming record %s", r, today, meta.XJustizMessageID)
	}
	show, code := runCLI("messages", "show", "--config", l.Config(), strconv.FormatInt(ours, 10))
	if want := "eEB of the court: acknowledged, received on " + today; code != 0 || !strings.Contains(show, want) {
		t.Errorf("messages show %d: exit %d, want %q in:\n%s", ours, code, want, show)
	}

	// 2. The court's request: the city's answer arrives at the court's
	// mailbox schema-valid, naming the court's message.
	cityTask := task(t, c, tasks[1])
	if cityTask.Mailbox != demo.Stadt.ID || cityTask.Court != demo.Landgericht.CourtCode || cityTask.CourtSafeID != demo.Landgericht.SafeID ||
		cityTask.Answer == nil {
		t.Fatalf("second task: %+v, want the city's, from court %s, answered", cityTask, demo.Landgericht.CourtCode)
	}
	request := intakeRecord(t, c, l, demo.Stadt, cityTask.MessageID)
	courtID := element(t, request, "eigeneNachrichtenID")
	if element(t, request, "ruecksendungEEB.erforderlich") != "true" || !strings.Contains(string(request), "absender.gericht>") {
		t.Errorf("the court's request as the city received it does not ask for an eEB from the court:\n%s", request)
	}
	if courtID != cityTask.CourtMessageID {
		t.Errorf("task names the court's message %s, its record says %s", cityTask.CourtMessageID, courtID)
	}
	sent, err := c.GetMessage(ctx, cityTask.Answer.SentMessageID)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Recipient != demo.Landgericht.SafeID || sent.Mailbox != demo.Stadt.ID {
		t.Errorf("the answer went from %s to %s, want from %s to the court %s", sent.Mailbox, sent.Recipient, demo.Stadt.ID, demo.Landgericht.SafeID)
	}
	answer := intakeRecord(t, c, l, demo.Landgericht, sent.ID)
	if !bytes.Contains(answer, []byte(":nachricht.eeb.zuruecklaufend.2200007 ")) {
		t.Errorf("the court received no 2200007:\n%s", answer)
	}
	if got := element(t, answer, "fremdeNachrichtenID"); got != courtID {
		t.Errorf("fremdeNachrichtenID %q, want the court's message id %q", got, courtID)
	}
	if got := element(t, answer, "empfangsbestaetigung"); got != today {
		t.Errorf("empfangsbestaetigung %q, want %s", got, today)
	}
	xsd := filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1", "xsd", "xjustiz_2200_eeb_3_1.xsd")
	p := filepath.Join(t.TempDir(), egvp.FileXJustiz)
	if err := os.WriteFile(p, answer, 0o644); err != nil {
		t.Fatal(err)
	}
	if lint, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", xsd, p).CombinedOutput(); err != nil {
		t.Errorf("xmllint --schema %s: %v\n%s", filepath.Base(xsd), err, lint)
	}
	codec, err := xjustiz.New(xjustiz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.Validate(answer); err != nil {
		t.Errorf("xjustiz Validate: %v", err)
	}

	// 3. The proof of filing of our message: the reception time of the
	// process card, by `messages evidence` as JSON and as the page.
	if ourView.ProcessCard == nil || ourView.ProcessCard.Reception.IsZero() {
		t.Fatalf("our message has no process card with a reception: %+v", ourView.ProcessCard)
	}
	reception := ourView.ProcessCard.Reception
	js, code := runCLI("messages", "evidence", "--config", l.Config(), "--json", strconv.FormatInt(ours, 10))
	var b evidence.Bundle
	if code != 0 {
		t.Fatalf("messages evidence: exit %d: %s", code, js)
	}
	if err := json.Unmarshal([]byte(js), &b); err != nil {
		t.Fatalf("messages evidence --json: %v\n%s", err, js)
	}
	if !b.ReceptionAt.Equal(reception) || b.ProcessCard == nil || !b.ProcessCard.Reception.Equal(reception) {
		t.Errorf("evidence reception %s (card %+v), want the process card's %s", b.ReceptionAt, b.ProcessCard, reception)
	}
	if b.MessageID != ours || b.Recipient != demo.Landgericht.SafeID || b.Record == nil || b.Record.MessageID != meta.XJustizMessageID ||
		len(b.EEB) != 1 || b.EEB[0].AcknowledgedOn != today || len(b.Documents) != 2 || len(b.Journal) == 0 {
		t.Errorf("evidence bundle %+v: want our message to the court with its record, the eEB of %s, two documents and the journal", b, today)
	}
	page := filepath.Join(t.TempDir(), "nachweis.html")
	if msg, code := runCLI("messages", "evidence", "--config", l.Config(), "--html", page, strconv.FormatInt(ours, 10)); code != 0 {
		t.Fatalf("messages evidence --html: exit %d: %s", code, msg)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if want := mailbox.LocalTime(reception); !bytes.Contains(html, []byte(want)) {
		t.Errorf("the page does not show the reception %q", want)
	}
	m = regexp.MustCompile(`received by the court \(reception, process card\) (\S+)\n   .*\n   page for the case file: (\S+)\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no proof of filing printed:\n%s", got)
	}
	if at, err := time.Parse(time.RFC3339, m[1]); err != nil || !at.Equal(reception.Truncate(time.Second)) {
		t.Errorf("the demo printed the reception %s, the process card says %s", m[1], reception)
	}
	if printed, err := os.ReadFile(m[2]); err != nil || !bytes.Contains(printed, []byte(mailbox.LocalTime(reception))) {
		t.Errorf("the page the demo wrote (%s): %v", m[2], err)
	}
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// runCLI runs the real command line in this process.
func runCLI(args ...string) (string, int) {
	var out bytes.Buffer
	code := cli.Run(&cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}, args)
	return out.String(), code
}

// apiClient talks to the demo's gateway as its configuration says.
func apiClient(t *testing.T, l demo.Layout) *api.Client {
	t.Helper()
	cfg, err := config.Load(l.Config())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		t.Fatal(err)
	}
	return &api.Client{BaseURL: "http://" + cfg.API.Listen, Token: tok}
}

func task(t *testing.T, c *api.Client, id int64) eeb.Task {
	t.Helper()
	tk, err := c.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// intakeRecord returns the XJustiz record of outgoing message id as the
// recipient mb's folder intake holds it.
func intakeRecord(t *testing.T, c *api.Client, l demo.Layout, mb demo.Mailbox, id int64) []byte {
	t.Helper()
	m, err := c.GetMessage(context.Background(), id)
	if err != nil || m.OSCIMessageID == "" {
		t.Fatalf("message %d: %v (OSCI MessageId %q)", id, err, m.OSCIMessageID)
	}
	b, err := os.ReadFile(filepath.Join(l.Intake(mb.ID), mailbox.EntryName(m.OSCIMessageID), mailbox.DocumentsDir, egvp.FileXJustiz))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// element returns the text of the one element of that local name.
func element(t *testing.T, record []byte, name string) string {
	t.Helper()
	ms := regexp.MustCompile(`<(?:\w+:)?`+regexp.QuoteMeta(name)+`>([^<]*)</`).FindAllSubmatch(record, -1)
	if len(ms) != 1 {
		t.Errorf("%d elements %s, want 1", len(ms), name)
		return ""
	}
	return string(ms[0][1])
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

func TestCLIMessages(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	e.AddRecipient(t)
	e.SubmitN(t, 3)
	env := map[string]string{TokenEnv: apitest.Token}
	dl := t.TempDir()
	msgs := func(args ...string) []string {
		return append([]string{"messages", args[0], "--api", e.TS.URL}, args[1:]...)
	}
	runCLICases(t, env, []cliCase{
		{"list", msgs("list"), ExitOK, "1   out  stadt    queued", ""},
		{"list one page", msgs("list", "--limit", "2"), ExitOK, "more: --after 2", ""},
		{"list all pages", msgs("list", "--limit", "1", "--all", "--json"), ExitOK, `"id": 3`, ""},
		{"list filter", msgs("list", "--state", "failed"), ExitOK, "ID", ""},
		{"list bad filter", msgs("list", "--direction", "up"), ExitFail, "", "(field direction)"},
		{"show", msgs("show", "2"), ExitOK, "Dok_1.pdf", ""},
		{"show with options after the id", []string{"messages", "show", "2", "--api", e.TS.URL, "--json"}, ExitOK, `"name": "Dok_1.pdf"`, ""},
		{"show with an argument after --", []string{"messages", "show", "--api", e.TS.URL, "--", "2"}, ExitOK, "Dok_1.pdf", ""},
		{"show events", msgs("show", "2"), ExitOK, "enqueued", ""},
		{"show unknown", msgs("show", "99"), ExitFail, "", "404"},
		{"show bad id", msgs("show", "x"), ExitUsage, "", "not a message ID"},
		{"download", msgs("download", "--dir", dl, "1"), ExitOK, filepath.Join(dl, "Dok_0.pdf"), ""},
		{"download again", msgs("download", "--dir", dl, "1", "0"), ExitFail, "", "exists; not overwritten"},
		{"download unknown document", msgs("download", "--dir", dl, "1", "5"), ExitFail, "", "(field n)"},
		{"hold", msgs("hold", "--reason", "Rückfrage", "1"), ExitOK, "message 1: held", ""},
		{"hold again", msgs("hold", "1"), ExitFail, "", "from held to held"},
		{"release", msgs("release", "1"), ExitOK, "message 1: queued", ""},
		{"requeue", msgs("requeue", "1"), ExitOK, "message 1: queued", ""},
		{"requeue without id", msgs("requeue"), ExitUsage, "", "give one message ID"},
	})
	got, err := os.ReadFile(filepath.Join(dl, "Dok_0.pdf"))
	if err != nil || string(got) != "content 0" {
		t.Errorf("downloaded %q, %v", got, err)
	}
	ents, _ := os.ReadDir(dl)
	if len(ents) != 1 {
		t.Errorf("download directory holds %d entries (temporary files left?)", len(ents))
	}
}

// TestCLIReprocess: `messages reprocess ID` reads a parked delivery again,
// through the API and on a data directory (keys from --config), and
// `messages clear-fetch` lets a skipped delivery be read again.
func TestCLIReprocess(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithReprocessor(apitest.ReferenceReprocessor(t)))
	p := apitest.ParkReference(t, e.Store, e.Blobs, apitest.Mailbox, "signed-encrypted")
	env := map[string]string{TokenEnv: apitest.Token}
	id := fmt.Sprint(p.ID)
	runCLICases(t, env, []cliCase{
		{"reprocess", []string{"messages", "reprocess", "--api", e.TS.URL, id}, ExitOK, "message " + id + ": received", ""},
		{"reprocess again", []string{"messages", "reprocess", "--api", e.TS.URL, id}, ExitFail, "", "reprocess is not allowed"},
		{"reprocess without id", []string{"messages", "reprocess", "--api", e.TS.URL}, ExitUsage, "", "give one message ID"},
		{"reprocess --data without --config", []string{"messages", "reprocess", "--data", e.Dir, id}, ExitUsage, "", "--config"},
		{"clear-fetch", []string{"messages", "clear-fetch", "--api", e.TS.URL, apitest.Mailbox, "govapp_1"}, ExitOK, "read again at the next poll", ""},
		{"clear-fetch unknown mailbox", []string{"messages", "clear-fetch", "--api", e.TS.URL, "nobody", "govapp_1"}, ExitFail, "", "mailbox"},
		{"clear-fetch without message id", []string{"messages", "clear-fetch", "--api", e.TS.URL, apitest.Mailbox}, ExitUsage, "", "MAILBOX and MESSAGEID"},
	})
}

// TestCLIReprocessOnDataDirectory: with --data the store is worked on
// directly and the mailbox's keys come from the configuration.
func TestCLIReprocessOnDataDirectory(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := apitest.ReferenceConfig(t, dir, "http://127.0.0.1:1/osci", data, filepath.Join(dir, "intake"), "127.0.0.1:1")
	ctx := context.Background()
	st, blobs := newDataDir(t, data)
	p := apitest.ParkReference(t, st, blobs, "bob", "unsigned")
	code, out, errs := runCLI(t, map[string]string{"USER": "erika"}, "messages", "reprocess", "--data", data, "--config", cfg, "--json", fmt.Sprint(p.ID))
	if code != ExitOK || !strings.Contains(out, `"state": "received"`) {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	m, err := st.Get(ctx, p.ID)
	if err != nil || m.State != mailbox.StateReceived || len(m.Documents) != 5 {
		t.Fatalf("%+v %v", m, err)
	}
	evs, err := st.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || (ev.Kind == "reread" && strings.Contains(string(ev.Detail), "cli:erika"))
	}
	if !found {
		t.Fatal("reprocess not journaled with the user")
	}
}

var queueT0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// newDataDir opens the store and blobs of a gateway data directory in
// dir as the running daemon would, closed when the test ends.
func newDataDir(t *testing.T, dir string) (*sqlite.Store, *mailbox.Blobs) {
	t.Helper()
	return apitest.OpenMail(t, dir, nil)
}

// queueFixture makes a data directory holding a queued, a failed and a
// received message, and returns the store the "daemon" keeps open.
func queueFixture(t *testing.T) (string, *sqlite.Store, map[string]int64) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, blobs := newDataDir(t, dir)
	ids := map[string]int64{}
	for _, name := range []string{"queued", "failed"} {
		m, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "DE.BeBPo.erkelenz", Recipient: "DE.Justiz.ag", Subject: "Antrag " + name, Now: queueT0}, []mailbox.Part{{Name: name + ".pdf", ContentType: "application/pdf", Body: strings.NewReader(name)}})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = m.ID
	}
	ms, err := st.ClaimDue(ctx, mailbox.Out, queueT0, "daemon", time.Minute, 10)
	if err != nil || len(ms) != 2 {
		t.Fatal(ms, err)
	}
	for _, m := range ms {
		c := mailbox.Change{ID: m.ID, Owner: "daemon", Token: m.LeaseToken, Now: queueT0, To: mailbox.StateQueued, Next: queueT0.Add(time.Minute)}
		if m.ID == ids["failed"] {
			c.To, c.Next, c.ErrCode, c.ErrText = mailbox.StateFailed, time.Time{}, "9601", "signature invalid"
		}
		if _, err := st.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	in, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "DE.BeBPo.erkelenz", OSCIMessageID: "govapp_1", ContentSHA256: strings.Repeat("a", 64),
		Size: 5, Sender: "DE.Justiz.ag", Now: queueT0})
	if err != nil {
		t.Fatal(err)
	}
	ids["received"] = in.ID
	return dir, st, ids
}

// erika is the environment of the operator the data-directory tests act as.
var erika = map[string]string{"USER": "erika"}

// The messages commands work on a data directory too (--data), with the
// same output as through the API, also while the gateway is stopped.
func TestMessagesOnDataDirectory(t *testing.T) {
	dir, _, ids := queueFixture(t)
	dl := t.TempDir()
	id := func(n string) string { return strconv.FormatInt(ids[n], 10) }
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"list all", []string{"messages", "list", "--data", dir}, ExitOK, []string{"queued", "failed", "received", "9601 signature invalid", "govapp_1"}, ""},
		{"list by state", []string{"messages", "list", "--data", dir, "--state", "failed", "--json"}, ExitOK, []string{`"state": "failed"`, `"code": "9601"`}, ""},
		{"show", []string{"messages", "show", "--data", dir, id("failed")}, ExitOK, []string{"failed", "failed.pdf", "enqueued", "Events:"}, ""},
		{"show missing", []string{"messages", "show", "--data", dir, "999"}, ExitFail, nil, "not found"},
		{"hold queued", []string{"messages", "hold", "--data", dir, "--reason", "Rückfrage", id("queued")}, ExitOK, []string{"held(queued)"}, ""},
		{"hold twice refused", []string{"messages", "hold", "--data", dir, id("queued")}, ExitFail, nil, "invalid state transition"},
		{"release", []string{"messages", "release", "--data", dir, id("queued")}, ExitOK, []string{"queued"}, ""},
		{"requeue failed", []string{"messages", "requeue", "--data", dir, id("failed")}, ExitOK, []string{"message " + id("failed") + ": queued"}, ""},
		{"delete received refused", []string{"messages", "delete", "--data", dir, id("received")}, ExitFail, nil, "invalid state transition"},
		{"delete queued", []string{"messages", "delete", "--data", dir, id("failed")}, ExitOK, []string{"deleted"}, ""},
		{"download", []string{"messages", "download", "--data", dir, "--dir", dl, id("queued")}, ExitOK, []string{"queued.pdf"}, ""},
		{"bad id", []string{"messages", "hold", "--data", dir, "x"}, ExitUsage, nil, "not a message ID"},
		{"missing store", []string{"messages", "list", "--data", t.TempDir()}, ExitFail, nil, "no database"},
		{"bad direction", []string{"messages", "list", "--data", dir, "--direction", "up"}, ExitFail, nil, "in or out"},
		{"journal intact", []string{"journal", "verify", "--data", dir}, ExitOK, []string{"journal intact: 9 entries"}, ""},
		{"journal without data", []string{"journal", "verify"}, ExitUsage, nil, "--data is required"},
	}
	for _, tc := range tests {
		code, out, errs := runCLI(t, erika, tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstdout %s\nstderr %s", tc.name, code, tc.code, out, errs)
			continue
		}
		for _, w := range tc.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", tc.name, w, out)
			}
		}
		if tc.stderr != "" && !strings.Contains(errs, tc.stderr) {
			t.Errorf("%s: stderr lacks %q: %s", tc.name, tc.stderr, errs)
		}
	}
	// The operator's actions are journaled with who and why.
	_, out, _ := runCLI(t, erika, "messages", "show", "--json", "--data", dir, id("queued"))
	var shown api.MessageView
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range shown.Events {
		var d map[string]string
		if e.Kind == "operator" && json.Unmarshal(e.Detail, &d) == nil && d["actor"] == "cli:erika" && d["reason"] == "Rückfrage" {
			found = true
		}
	}
	if !found {
		t.Fatalf("hold not journaled with actor and reason: %+v", shown.Events)
	}
}

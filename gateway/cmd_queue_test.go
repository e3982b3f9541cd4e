package gateway

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

var queueT0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// queueFixture makes a data directory holding a queued, a failed and a
// received message, and returns the store the "daemon" keeps open.
func queueFixture(t *testing.T) (string, *sqlite.Store, map[string]int64) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
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

func runQueueCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := RunCLI(&Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "USER" {
			return "erika"
		}
		return ""
	}}, args)
	return code, out.String(), errb.String()
}

func TestQueueCommands(t *testing.T) {
	dir, _, ids := queueFixture(t)
	id := func(n string) string { return queueItoa(ids[n]) }
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"list all", []string{"queue", "list", "--data", dir}, ExitOK, []string{"queued", "failed", "received", "9601 signature invalid", "govapp_1"}, ""},
		{"list by state", []string{"queue", "list", "--data", dir, "--state", "failed", "--json"}, ExitOK, []string{`"state":"failed"`, `"lastErrorCode":"9601"`}, ""},
		{"show", []string{"queue", "show", "--data", dir, id("failed")}, ExitOK, []string{"state:        failed", "failed.pdf", "enqueued", "journal:"}, ""},
		{"show missing", []string{"queue", "show", "--data", dir, "999"}, ExitFail, nil, "not found"},
		{"hold queued", []string{"queue", "hold", "--data", dir, "--reason", "Rückfrage", id("queued")}, ExitOK, []string{"held(queued)"}, ""},
		{"hold twice refused", []string{"queue", "hold", "--data", dir, id("queued")}, ExitFail, nil, "invalid state transition"},
		{"release", []string{"queue", "release", "--data", dir, id("queued")}, ExitOK, []string{"queued"}, ""},
		{"requeue failed", []string{"queue", "requeue", "--data", dir, id("failed")}, ExitOK, []string{"message " + id("failed") + ": queued"}, ""},
		{"delete received refused", []string{"queue", "delete", "--data", dir, id("received")}, ExitFail, nil, "invalid state transition"},
		{"delete queued", []string{"queue", "delete", "--data", dir, id("failed")}, ExitOK, []string{"deleted"}, ""},
		{"bad id", []string{"queue", "hold", "--data", dir, "x"}, ExitUsage, nil, "not a positive number"},
		{"no data dir", []string{"queue", "list"}, ExitFail, nil, "--data is required"},
		{"missing store", []string{"queue", "list", "--data", t.TempDir()}, ExitFail, nil, "no database"},
		{"bad direction", []string{"queue", "list", "--data", dir, "--direction", "up"}, ExitUsage, nil, "in or out"},
		{"journal intact", []string{"journal", "verify", "--data", dir}, ExitOK, []string{"journal intact: 9 entries"}, ""},
	}
	for _, tc := range tests {
		code, out, errs := runQueueCLI(tc.args...)
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
	_, out, _ := runQueueCLI("queue", "show", "--json", "--data", dir, id("queued"))
	var shown struct{ Journal []mailbox.Event }
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range shown.Journal {
		if e.Kind == "operator" && strings.Contains(e.Detail, `"actor":"cli:erika"`) && strings.Contains(e.Detail, "Rückfrage") {
			found = true
		}
	}
	if !found {
		t.Fatalf("hold not journaled with actor and reason: %+v", shown.Journal)
	}
}

func TestJournalVerifyDetectsTampering(t *testing.T) {
	dir, st, _ := queueFixture(t)
	st.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE journal SET detail = '{}' WHERE seq = 3`); err == nil {
		t.Fatal("journal accepted an update")
	}
	for _, q := range []string{`DROP TRIGGER journal_no_update`, `UPDATE journal SET detail = '{"forged":"1"}' WHERE seq = 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := runQueueCLI("journal", "verify", "--data", dir)
	if code != ExitFail || !strings.Contains(errs, "journal broken at entry 3") || out != "" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
	}
}

func queueItoa(n int64) string { return strconv.FormatInt(n, 10) }

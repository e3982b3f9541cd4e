package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
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
	code := Run(&Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "USER" {
			return "erika"
		}
		return ""
	}}, args)
	return code, out.String(), errb.String()
}

// The messages commands work on a data directory too (--data), with the
// same output as through the API, also while the gateway is stopped.
func TestMessagesOnDataDirectory(t *testing.T) {
	dir, _, ids := queueFixture(t)
	dl := t.TempDir()
	id := func(n string) string { return queueItoa(ids[n]) }
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
	_, out, _ := runQueueCLI("messages", "show", "--json", "--data", dir, id("queued"))
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

// A journal cut short at its end fails verification, naming the first
// missing entry.
func TestJournalTruncationDetectedByVerify(t *testing.T) {
	dir, st, _ := queueFixture(t)
	st.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER journal_no_delete`, `DELETE FROM journal WHERE seq > 3`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	code, out, errs := runQueueCLI("journal", "verify", "--data", dir)
	if code != ExitFail || !strings.Contains(errs, "journal broken at entry 4") || !strings.Contains(errs, "truncated") {
		t.Fatalf("truncated journal: exit %d stdout %q stderr %q", code, out, errs)
	}
}

// A lost head file makes verification fail (truncation could no longer be
// ruled out); after checking the journal against the logged heads, an
// operator makes it the reference again.
func TestJournalReanchorAfterLostHead(t *testing.T) {
	dir, st, _ := queueFixture(t)
	head := st.HeadPath()
	st.Close()
	if err := os.Remove(head); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runQueueCLI("journal", "verify", "--data", dir)
	if code != ExitFail || !strings.Contains(errs, "head missing") {
		t.Fatalf("without head: exit %d stderr %q", code, errs)
	}
	if code, _, errs := runQueueCLI("journal", "reanchor", "--data", dir); code != ExitUsage || !strings.Contains(errs, "--reason") {
		t.Fatalf("reanchor without reason: exit %d %q", code, errs)
	}
	code, out, errs := runQueueCLI("journal", "reanchor", "--data", dir, "--reason", "Prüfung gegen Protokoll 2026-12-03")
	if code != ExitOK || !strings.Contains(out, "anchored at #5") {
		t.Fatalf("reanchor: exit %d %q %q", code, out, errs)
	}
	if code, out, errs := runQueueCLI("journal", "verify", "--data", dir); code != ExitOK || !strings.Contains(out, "journal intact: 6 entries") {
		t.Fatalf("after reanchor: exit %d %q %q", code, out, errs)
	}
}

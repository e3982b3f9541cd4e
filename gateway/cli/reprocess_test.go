package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// TestCLIReprocess: `messages reprocess ID` reads a parked delivery again,
// through the API and on a data directory (keys from --config), and
// `messages clear-fetch` lets a skipped delivery be read again.
func TestCLIReprocess(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithReprocessor(apitest.ReferenceReprocessor(t)))
	p := apitest.ParkReference(t, e.Store, e.Blobs, apitest.Mailbox, "signed-encrypted")
	env := map[string]string{TokenEnv: apitest.Token}
	id := fmt.Sprint(p.ID)
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"reprocess", []string{"messages", "reprocess", "--api", e.TS.URL, id}, ExitOK, "message " + id + ": received", ""},
		{"reprocess again", []string{"messages", "reprocess", "--api", e.TS.URL, id}, ExitFail, "", "reprocess is not allowed"},
		{"reprocess without id", []string{"messages", "reprocess", "--api", e.TS.URL}, ExitUsage, "", "give one message ID"},
		{"reprocess --data without --config", []string{"messages", "reprocess", "--data", e.Dir, id}, ExitUsage, "", "--config"},
		{"clear-fetch", []string{"messages", "clear-fetch", "--api", e.TS.URL, apitest.Mailbox, "govapp_1"}, ExitOK, "read again at the next poll", ""},
		{"clear-fetch unknown mailbox", []string{"messages", "clear-fetch", "--api", e.TS.URL, "nobody", "govapp_1"}, ExitFail, "", "mailbox"},
		{"clear-fetch without message id", []string{"messages", "clear-fetch", "--api", e.TS.URL, apitest.Mailbox}, ExitUsage, "", "MAILBOX and MESSAGEID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tc.code, out, tc.out, errs, tc.err)
			}
		})
	}
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
	st, err := sqlite.Open(ctx, filepath.Join(data, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := mailbox.OpenBlobs(filepath.Join(data, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
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

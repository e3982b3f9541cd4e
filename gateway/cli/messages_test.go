package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
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
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Fatalf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tc.code, out, tc.out, errs, tc.err)
			}
		})
	}
	got, err := os.ReadFile(filepath.Join(dl, "Dok_0.pdf"))
	if err != nil || string(got) != "content 0" {
		t.Errorf("downloaded %q, %v", got, err)
	}
	ents, _ := os.ReadDir(dl)
	if len(ents) != 1 {
		t.Errorf("download directory holds %d entries (temporary files left?)", len(ents))
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// cliFiles writes files into a temp directory and returns their paths.
func cliFiles(t *testing.T, files ...apitest.Doc) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(f.Content), 0o640); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// cliConfig writes a gateway configuration whose API is the test server.
func cliConfig(t *testing.T, e *apitest.Env) string {
	t.Helper()
	u, _ := url.Parse(e.TS.URL)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokens"), []byte("# operators\nops:"+apitest.Token+"\n"), 0o600)
	cfg := fmt.Sprintf(`data_dir: var
api:
  listen: %s
  tokens_file: tokens
intakes:
  - {name: eakte, type: folder, path: intake}
mailboxes:
  - name: stadt
    safe_id: DE.BeBPo.erkelenz
    intermediary: {url: "https://egvp.example/osci", cipher_cert: c.pem, signature_certs: [s.pem]}
    signature: {key: k.pem, cert: c.pem}
    cipher: {key: k.pem, cert: c.pem}
    intake: eakte
`, u.Host)
	p := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLISend(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	e.AddRecipient(t)
	files := cliFiles(t, apitest.Doc{Name: "Klage.pdf", Content: "%PDF a"}, apitest.Doc{Name: "Anlage_K1.pdf", Content: "%PDF b"})
	bad := cliFiles(t, apitest.Doc{Name: "Klage 1.pdf", Content: "%PDF"})
	tokenEnv := map[string]string{TokenEnv: apitest.Token}
	api := []string{"--api", e.TS.URL}
	send := func(extra ...string) []string {
		return append(append([]string{"send"}, api...), extra...)
	}
	base := []string{"--to", apitest.Recipient, "--subject", "Klage"}
	tokFile := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(tokFile, []byte(apitest.Token+"\n"), 0o600)
	wrongTok := filepath.Join(t.TempDir(), "tok")
	os.WriteFile(wrongTok, []byte("ops:wrong-token-0123456789\n"), 0o600)
	tests := []struct {
		env map[string]string
		cliCase
	}{
		{tokenEnv, cliCase{"send two files", send(append(base, files...)...), ExitOK, "message 1 accepted, state queued", ""}},
		{tokenEnv, cliCase{"json", send(append(append([]string{"--json"}, base...), files[0])...), ExitOK, `"id": 2`, ""}},
		{tokenEnv, cliCase{"idempotency key", send(append(append([]string{"--idempotency-key", "k-1"}, base...), files[0])...), ExitOK, "message 3 accepted", ""}},
		{tokenEnv, cliCase{"idempotency key repeated", send(append(append([]string{"--idempotency-key", "k-1"}, base...), files[0])...), ExitOK, "message 3 accepted, state queued (already submitted", ""}},
		{nil, cliCase{"token file", send(append(append([]string{"--token-file", tokFile}, base...), files[0])...), ExitOK, "message 4 accepted", ""}},
		{nil, cliCase{"config file", append([]string{"send", "--config", cliConfig(t, e)}, append(base, files[0])...), ExitOK, "message 5 accepted", ""}},
		{tokenEnv, cliCase{"recipient certificate", send("--to", "DE.Justiz.new.1", "--subject", "s", "--recipient-cert", filepath.Join(apitest.RepoRoot(t), "testdata", "pki", "mailbox-cipher.pem"), files[0]), ExitOK, "message 6 accepted", ""}},
		{tokenEnv, cliCase{"unknown recipient", send("--to", "DE.Justiz.unknown.1", "--subject", "s", files[0]), ExitFail, "", "(field message.to)"}},
		{tokenEnv, cliCase{"bad file name", send(append(base, bad...)...), ExitFail, "", "(field document[0].filename)"}},
		{tokenEnv, cliCase{"missing file", send(append(base, "/nonexistent/x.pdf")...), ExitFail, "", "no such file"}},
		{nil, cliCase{"wrong token", send(append(append([]string{"--token-file", wrongTok}, base...), files[0])...), ExitFail, "", "401"}},
		{nil, cliCase{"no token", send(append(base, files[0])...), ExitFail, "", "no API token"}},
		{tokenEnv, cliCase{"no API", append([]string{"send"}, append(base, files[0])...), ExitFail, "", "--config FILE or --api URL"}},
		{tokenEnv, cliCase{"no recipient", send("--subject", "s", files[0]), ExitUsage, "", "--to or --court is required"}},
		{tokenEnv, cliCase{"no subject", send("--to", apitest.Recipient, files[0]), ExitUsage, "", "--subject is required"}},
		{tokenEnv, cliCase{"no files", send(base...), ExitUsage, "", "at least one FILE"}},
		{tokenEnv, cliCase{"options after the files", append(append([]string{"send", files[0]}, api...), base...), ExitOK, "message 7 accepted", ""}},
		{tokenEnv, cliCase{"bad option after the files", append([]string{"send", files[0], "--bogus"}, api...), ExitUsage, "", "flag provided but not defined"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkCLI(t, tc.env, tc.cliCase) })
	}
	if n := e.MessageCount(t); n != 7 {
		t.Errorf("%d messages stored, want 7", n)
	}
}

func TestCLIStatus(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	e.AddRecipient(t)
	e.SubmitN(t, 2)
	env := map[string]string{TokenEnv: apitest.Token}
	code, out, errs := runCLI(t, env, "status", "--api", e.TS.URL)
	if code != ExitFail || !strings.Contains(out, "NOT READY") || !strings.Contains(out, "not polled yet") || !strings.Contains(errs, "not ready") {
		t.Fatalf("not ready: exit %d\n%s\n%s", code, out, errs)
	}
	now := e.Clock.Now()
	e.Poll.Set(apitest.Mailbox, true, now)
	e.Poll.Set("ordnungsamt", true, now)
	code, out, errs = runCLI(t, env, "status", "--api", e.TS.URL)
	if code != ExitOK || !strings.Contains(out, ": ready") || !strings.Contains(out, "queued") || !strings.Contains(out, "queue depth: 2 outgoing") {
		t.Fatalf("ready: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, env, "status", "--api", e.TS.URL, "--json")
	var rep api.StatusReport
	if code != ExitOK || json.Unmarshal([]byte(out), &rep) != nil || !rep.Ready.Ready || rep.Counts.ByState["out"]["queued"] != 2 {
		t.Fatalf("json: exit %d %s", code, out)
	}
	if code, _, errs := runCLI(t, env, "status", "--api", e.TS.URL, "extra"); code != ExitUsage || !strings.Contains(errs, "unexpected argument") {
		t.Errorf("extra argument: %d %s", code, errs)
	}
}

func TestDialAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8440": "127.0.0.1:8440",
		":8440":          "localhost:8440",
		"0.0.0.0:8440":   "localhost:8440",
		"[::]:8440":      "localhost:8440",
		"[::1]:8440":     "[::1]:8440",
	} {
		if got := dialAddress(in); got != want {
			t.Errorf("dialAddress(%q) = %q, want %q", in, got, want)
		}
	}
}

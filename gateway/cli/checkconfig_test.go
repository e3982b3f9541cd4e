package cli

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/configcheck"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// editConfig applies replacements to the demo configuration, each of
// which must match, and returns the 1-based line of each replacement.
func editConfig(t *testing.T, path string, edits [][2]string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range edits {
		if !strings.Contains(s, e[0]) {
			t.Fatalf("%q not in the demo configuration", e[0])
		}
		s = strings.Replace(s, e[0], e[1], 1)
	}
	var lines []int
	for _, e := range edits {
		i := strings.Index(s, e[1])
		lines = append(lines, strings.Count(s[:i], "\n")+1)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return lines
}

// Five different mistakes (an unknown key, a bad value, a missing
// keystore, an intake folder that is a file, a CA file that holds no
// certificate) come out in one run, each with its key and line, and the
// exit status is 2.
func TestCheckConfigFindsEveryProblemAtOnce(t *testing.T) {
	l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:0")
	if err := os.WriteFile(filepath.Join(l.Dir, "not-a-folder"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := editConfig(t, l.Config(), [][2]string{
		{"  level: info", "  levl: info"},
		{"safe_id: " + demo.Stadt.SafeID, "safe_id: /etc/passwd"},
		{"pkcs12: keys/stadt-cipher.p12", "pkcs12: keys/missing.p12"},
		{"path: eakte/stadt", "path: not-a-folder"},
		{"vhn_cas: [keys/ca.pem]", "vhn_cas: [api.tokens]"},
	})
	want := []struct {
		key  string
		line int
	}{
		{"log.levl", lines[0]},
		{"mailboxes[0].safe_id", lines[1]},
		{"mailboxes[0].cipher.pkcs12", lines[2]},
		{"intakes[0].path", lines[3]},
		{"trust.vhn_cas[0]", lines[4]},
	}

	code, out, errs := runCLI(t, nil, "check-config", "--config", l.Config())
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitUsage, out, errs)
	}
	t.Log(out)
	for _, w := range want {
		if prefix := fmt.Sprintf("%s:%d: error: %s: ", l.Config(), w.line, w.key); !strings.Contains(out, prefix) {
			t.Errorf("no line %q in:\n%s", prefix, out)
		}
	}
	if got := strings.Count(out, ": error: "); got != len(want) {
		t.Errorf("%d errors, want %d:\n%s", got, len(want), out)
	}
	if !strings.Contains(out, "5 errors") {
		t.Errorf("no summary:\n%s", out)
	}

	// The same findings as JSON, in file order of the checks.
	code, out, _ = runCLI(t, nil, "check-config", "--config", l.Config(), "--json")
	if code != ExitUsage {
		t.Fatalf("--json: exit %d", code)
	}
	var rep struct {
		Errors   int                   `json:"errors"`
		Findings []configcheck.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	for _, f := range rep.Findings {
		if f.Level == configcheck.LevelError {
			found[f.Key] = f.Line
		}
	}
	for _, w := range want {
		if line, ok := found[w.key]; !ok || line != w.line {
			t.Errorf("JSON: %s at line %d (found %v), want line %d", w.key, line, ok, w.line)
		}
	}
	if rep.Errors != len(want) {
		t.Errorf("JSON errors %d, want %d", rep.Errors, len(want))
	}
}

// A usable configuration: exit 0, every certificate with its days left,
// every folder writable.
func TestCheckConfigUsable(t *testing.T) {
	l := demo.NewTestDir(t, "127.0.0.1:1", "127.0.0.1:0")
	code, out, errs := runCLI(t, nil, "check-config", "--config", l.Config())
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, s := range []string{
		"mailboxes[0].signature: signature certificate ", "mailboxes[1].cipher: cipher certificate ", "days left",
		"data_dir: ", "intakes[1].path: ", "outgoing_folder.path: ", "is writable",
		"trust.vhn_cas[0]: CA certificate", "mailboxes[0].intermediary.signature_certs[0]: signature certificate",
		"0 errors, 0 warnings",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if code, out, _ := runCLI(t, nil, "check-config", "--config", l.Config(), "--quiet"); code != ExitOK || strings.Contains(out, ": ok: ") {
		t.Errorf("--quiet: exit %d, printed ok findings:\n%s", code, out)
	}
	if code, _, errs := runCLI(t, nil, "check-config", "--config", filepath.Join(l.Dir, "nowhere.yaml")); code != ExitUsage || errs != "" {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
}

// --online asks the intermediary (the real simulator) for a message id
// with the mailboxes' keys; an intermediary that is not there fails the
// check with exit 1, not 2: the configuration itself is usable.
func TestCheckConfigOnline(t *testing.T) {
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := demo.NewTestDir(t, simLn.Addr().String(), "127.0.0.1:0")
	ciph, err := l.LoadKey(demo.Intermediary.ID, certs.PurposeCipher)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := l.LoadKey(demo.Intermediary.ID, certs.PurposeSignature)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := intermediary.New(intermediary.Config{Cipher: ciph, Signature: sig, DataDir: t.TempDir(), Now: time.Now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sim)
	srv.Listener.Close()
	srv.Listener = simLn
	srv.Start()

	code, out, errs := runCLI(t, nil, "check-config", "--config", l.Config(), "--online")
	if code != ExitOK || !strings.Contains(out, "answered getMessageId") {
		t.Fatalf("simulator up: exit %d\n%s%s", code, out, errs)
	}
	srv.Close()
	code, out, _ = runCLI(t, nil, "check-config", "--config", l.Config(), "--online", "--quiet")
	if code != ExitFail || !strings.Contains(out, "does not answer") {
		t.Fatalf("simulator down: exit %d, want %d\n%s", code, ExitFail, out)
	}
}

package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// directoryEnv is the test API with an address book that knows the
// configured intermediaries bebpo and justiz-nrw.
func directoryEnv(t *testing.T) *apitest.Env {
	t.Helper()
	return apitest.NewEnv(t, api.Limits{}, apitest.WithIntermediaries())
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "entries.json")
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDirectoryOfEveryCourt imports one entry for every court of
// GDS.Gerichte that still exists, at a configured intermediary, then finds
// them with `addressbook lookup` and sends to them with `send --court`.
func TestDirectoryOfEveryCourt(t *testing.T) {
	e := directoryEnv(t)
	env := map[string]string{TokenEnv: apitest.Token}
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	var entries []addressbook.Recipient
	dissolved := ""
	for _, c := range courts.Default().All() {
		if c.Dissolved {
			dissolved = c.Code
			continue
		}
		entries = append(entries, addressbook.Recipient{SafeID: "DE.Justiz.test." + c.Code, Name: c.Name, CourtCode: c.Code,
			Intermediary: "justiz-nrw", CipherCert: cipher})
	}
	if len(entries) < 2000 || dissolved == "" {
		t.Fatalf("%d courts, dissolved %q", len(entries), dissolved)
	}
	all := writeJSON(t, map[string]any{"entries": entries})
	doc := cliFiles(t, apitest.Doc{Name: "Klage.pdf", Content: string(certstest.Document(t, "plain_gs.pdf"))})[0]
	ab := func(args ...string) []string {
		return append([]string{"addressbook", args[0], "--api", e.TS.URL}, args[1:]...)
	}
	send := func(args ...string) []string {
		return append(append([]string{"send", "--api", e.TS.URL, "--subject", "Klage"}, args...), doc)
	}
	n := len(entries)
	steps := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"dry run", ab("import", "--dry-run", all), ExitOK, fmt.Sprintf("dry run, nothing changed: %d added, 0 updated, 0 unchanged", n), ""},
		{"import", ab("import", all), ExitOK, fmt.Sprintf("imported: %d added, 0 updated, 0 unchanged", n), ""},
		{"import again", ab("import", all), ExitOK, fmt.Sprintf("imported: 0 added, 0 updated, %d unchanged", n), ""},
		{"lookup by court code", ab("lookup", "F1100"), ExitOK, "Landgericht Berlin Strafgerichtsbarkeit DE.Justiz.test.F1100 F1100 Landgericht Berlin Strafgerichtsbarkeit justiz-nrw 01.01.2036", ""},
		{"lookup by SAFE-ID", ab("lookup", "DE.Justiz.test.R3300"), ExitOK, "DE.Justiz.test.R3300", ""},
		{"lookup by part of a name", ab("lookup", "Landgericht Köln"), ExitOK, "Landgericht Köln", ""},
		{"lookup without umlaut", ab("lookup", "landgericht koeln"), ExitOK, "Landgericht Köln", ""},
		{"lookup without umlaut or e", ab("lookup", "LANDGERICHT KOLN"), ExitOK, "Landgericht Köln", ""},
		{"lookup nothing", ab("lookup", "Atlantis"), ExitFail, "", `kein Eintrag gefunden für "Atlantis"`},
		{"send to a court", send("--court", "R3300"), ExitOK, "message 1 accepted", ""},
		{"send to a dissolved court", send("--court", dissolved), ExitFail, "", "dissolved"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errs := runCLI(t, env, s.args...)
			words := strings.Join(strings.Fields(out), " ") // the table's padding aside
			if code != s.code || !strings.Contains(words, s.out) || !strings.Contains(errs, s.err) {
				t.Fatalf("exit %d (want %d)\nstdout %.300q (want %q)\nstderr %q (want %q)", code, s.code, out, s.out, errs, s.err)
			}
		})
	}
	// The three spellings find the same entries.
	var counts []int
	for _, q := range []string{"Köln", "Koeln", "koln"} {
		_, out, _ := runCLI(t, env, ab("lookup", "--json", q)...)
		var l api.AddressList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, len(l.Entries))
	}
	if counts[0] < 5 || counts[0] != counts[1] || counts[1] != counts[2] {
		t.Errorf("Köln, Koeln, koln find %v entries", counts)
	}
	// The message went to the court's entry, at its intermediary.
	m, err := e.Store.Get(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var meta submit.OutgoingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil || m.Recipient != "DE.Justiz.test.R3300" || meta.RecipientIntermediary != "justiz-nrw" {
		t.Fatalf("message to %s at %q (%v)", m.Recipient, meta.RecipientIntermediary, err)
	}

	// A second entry with the same court code: send --court names both.
	code, _, errs := runCLI(t, env, ab("add", "--safe-id", "DE.Justiz.second.R3300", "--name", "LG Köln, Strafkammer", "--court", "R3300",
		"--intermediary", "bebpo", "--cert", certstest.PKIPath(t, "safe-cipher.pem"))...)
	if code != ExitOK {
		t.Fatalf("add: exit %d %s", code, errs)
	}
	code, _, errs = runCLI(t, env, send("--court", "R3300")...)
	if code != ExitFail || !strings.Contains(errs, "DE.Justiz.second.R3300") || !strings.Contains(errs, "DE.Justiz.test.R3300") {
		t.Fatalf("ambiguous court: exit %d %s", code, errs)
	}
	if c := e.MessageCount(t); c != 1 {
		t.Errorf("%d messages, want 1", c)
	}
}

// TestDirectoryRefusals: an entry naming an unknown intermediary or
// carrying an expired cipher certificate is refused at `addressbook add`
// and at `addressbook import`, exit 1, the reason named.
func TestDirectoryRefusals(t *testing.T) {
	e := directoryEnv(t)
	env := map[string]string{TokenEnv: apitest.Token}
	cipher, expired := apitest.PKIPEM(t, "safe-cipher.pem"), apitest.PKIPEM(t, "expired.pem")
	ab := func(args ...string) []string {
		return append([]string{"addressbook", args[0], "--api", e.TS.URL}, args[1:]...)
	}
	unknown := writeJSON(t, []addressbook.Recipient{{SafeID: "DE.Justiz.a.1", Name: "AG", CipherCert: cipher, Intermediary: "justiz-nrw"},
		{SafeID: "DE.Justiz.b.1", Name: "LG", CipherCert: cipher, Intermediary: "justiz-xy"}})
	old := writeJSON(t, []addressbook.Recipient{{SafeID: "DE.Justiz.a.1", Name: "AG", CipherCert: cipher, Intermediary: "justiz-nrw"},
		{SafeID: "DE.Justiz.b.1", Name: "LG", CipherCert: expired, Intermediary: "justiz-nrw"}})
	csvFile := filepath.Join(t.TempDir(), "entries.csv")
	os.WriteFile(csvFile, []byte("safeId;name;intermediary;cipherCert\nDE.Justiz.c.1;AG;justiz-xy;"+derBase64Of(t, cipher)+"\n"), 0o640)
	steps := []struct {
		name string
		args []string
		err  string
	}{
		{"add, unknown intermediary", ab("add", "--safe-id", "DE.Justiz.a.1", "--name", "AG", "--intermediary", "justiz-xy", "--cert", certstest.PKIPath(t, "safe-cipher.pem")),
			`intermediary: "justiz-xy" is not configured (configured: bebpo, justiz-nrw) (field intermediary)`},
		{"add, expired certificate", ab("add", "--safe-id", "DE.Justiz.a.1", "--name", "AG", "--intermediary", "justiz-nrw", "--cert", certstest.PKIPath(t, "expired.pem")),
			"valid until 20"},
		{"add, unknown court", ab("add", "--safe-id", "DE.Justiz.a.1", "--name", "AG", "--court", "Q0000", "--cert", certstest.PKIPath(t, "safe-cipher.pem")),
			`"Q0000" is not a code of GDS.Gerichte`},
		{"import, unknown intermediary", ab("import", unknown), `entries[1].intermediary: "justiz-xy" is not configured`},
		{"import dry run, unknown intermediary", ab("import", "--dry-run", unknown), `"justiz-xy" is not configured`},
		{"import, expired certificate", ab("import", old), "entries[1].cipherCert: certs: expired: valid until 20"},
		{"import CSV, unknown intermediary", ab("import", csvFile), `"justiz-xy" is not configured`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, out, errs := runCLI(t, env, s.args...)
			if code != ExitFail || !strings.Contains(errs, s.err) {
				t.Fatalf("exit %d (want %d)\nstdout %q\nstderr %q (want %q)", code, ExitFail, out, errs, s.err)
			}
		})
	}
	if n := len(e.Book.List()); n != 0 {
		t.Errorf("%d entries stored", n)
	}
}

// derBase64Of is a PEM certificate as directory exports carry it.
func derBase64Of(t *testing.T, pemText string) string {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		t.Fatal("no PEM block")
	}
	return base64.StdEncoding.EncodeToString(b.Bytes)
}

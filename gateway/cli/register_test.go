package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRegisterCheckAtTheEdge(t *testing.T) {
	runCLICases(t, nil, []cliCase{
		{name: "below", args: []string{"register", "check", "--value", "29999.99", "--kind", "public", "--json"}, code: 0, out: `"required": false`},
		{name: "at", args: []string{"register", "check", "--value", "30000.00", "--kind", "public", "--json"}, code: 0, out: `"required": true`},
		{name: "sector works 2026", args: []string{"register", "check", "--value", "5404000", "--kind", "sector", "--contract", "works", "--date", "2026-01-01"}, code: 0, out: "Abfrage erforderlich"},
		{name: "bad kind", args: []string{"register", "check", "--value", "1", "--kind", "city"}, code: 2, err: "--kind"},
		{name: "missing value", args: []string{"register", "check", "--kind", "public"}, code: 2, err: "--value"},
	})
}

func TestRegisterWorkflowOnTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.json")
	if err := os.WriteFile(members, []byte(`[{"name":"Bau A GmbH","address":"Markt 1","registryCourt":"AG Mönchengladbach","registerNumber":"HRB 1"},
		{"name":"Bau B KG","address":"Markt 2","vatId":"DE999999999"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(dir, "auskunft.pdf")
	if err := os.WriteFile(pdf, []byte("%PDF-1.4 Auskunft"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"USER": "vergabe1"}
	d := "--data=" + dir
	runCLICases(t, env, []cliCase{
		{name: "procedure", args: []string{"register", "procedure", d, "VG-7", "--description", "Dach", "--value", "45000", "--kind", "public"}, code: 0, out: "Abfrage erforderlich"},
		{name: "bidder", args: []string{"register", "bidder", d, "VG-7", "--members", members, "--name", "ARGE Dach"}, code: 0, out: "2 Mitglied"},
		{name: "query needs the confirmation", args: []string{"register", "query", d, "VG-7"}, code: 2, err: "--confirm"},
		{name: "query", args: []string{"register", "query", d, "VG-7", "--confirm"}, code: 0, out: "Abfrage 2 für Mitglied 2"},
		{name: "gate blocked", args: []string{"register", "gate", d, "VG-7"}, code: 1, out: "keine Auskunft"},
		{name: "answer 1", args: []string{"register", "answer", d, "--query", "1", pdf}, code: 0, out: "Auskunft 1"},
		{name: "answer 2 with entries", args: []string{"register", "answer", d, "--query", "2", "--entries", pdf}, code: 0, out: "Auskunft 2"},
		{name: "gate needs the assessment", args: []string{"register", "gate", d, "VG-7"}, code: 1, out: "Bewertung"},
		{name: "assess", args: []string{"register", "assess", d, "VG-7", "--answer", "2", "--person", "Frau K.", "--exclusion", "none", "--self-cleaning", "nicht erforderlich"}, code: 0},
		{name: "gate open", args: []string{"register", "gate", d, "VG-7"}, code: 0, out: "award may proceed"},
	})
	code, out, _ := runCLI(t, env, "register", "log", d, "VG-7", "--json")
	var log struct {
		Entries []struct {
			Kind, Actor string
			Detail      map[string]string
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &log) != nil {
		t.Fatalf("log: %d %s", code, out)
	}
	var queries int
	for _, e := range log.Entries {
		if e.Kind == "query_created" {
			queries++
			if e.Actor != "cli:vergabe1" || e.Detail["confirmedBy"] != "cli:vergabe1" || e.Detail["confirmation"] == "" {
				t.Fatalf("query entry %+v", e)
			}
		}
	}
	if queries != 2 {
		t.Fatalf("%d query entries", queries)
	}
	if code, out, _ := runCLI(t, env, "register", "log", d, "--verify"); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %d %s", code, out)
	}
}

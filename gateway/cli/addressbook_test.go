package cli

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

func TestCLIAddressBook(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	env := map[string]string{TokenEnv: apitest.Token}
	pki := func(n string) string { return filepath.Join(apitest.RepoRoot(t), "testdata", "pki", n) }
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "entries.json")
	b, _ := json.Marshal([]addressbook.Recipient{{SafeID: "DE.Justiz.json.1", Name: "AG Heinsberg", CipherCert: apitest.PKIPEM(t, "mailbox-cipher.pem")}})
	os.WriteFile(jsonFile, b, 0o640)
	csvFile := filepath.Join(dir, "entries.csv")
	f, _ := os.Create(csvFile)
	w := csv.NewWriter(f)
	w.Write([]string{"safeId", "name", "organisation", "cipherCert"})
	w.Write([]string{"DE.Justiz.csv.1", "LG Mönchengladbach", "Justiz NRW", apitest.PKIPEM(t, "intermediary-cipher.pem")})
	w.Flush()
	f.Close()
	ab := func(args ...string) []string {
		return append([]string{"addressbook", args[0], "--api", e.TS.URL}, args[1:]...)
	}
	runCLICases(t, env, []cliCase{
		{"add", ab("add", "--safe-id", apitest.Recipient, "--name", "AG Erkelenz", "--cert", pki("intermediary-cipher.pem")), ExitOK, apitest.Recipient + ": AG Erkelenz", ""},
		{"add again", ab("add", "--safe-id", apitest.Recipient, "--name", "AG Erkelenz", "--cert", pki("intermediary-cipher.pem")), ExitFail, "", "(field safeId)"},
		{"add wrong usage", ab("add", "--safe-id", "DE.Justiz.w.1", "--name", "x", "--cert", pki("wrong-usage.pem")), ExitFail, "", "(field cipherCert)"},
		{"add without cert", ab("add", "--safe-id", "DE.Justiz.w.1", "--name", "x"), ExitUsage, "", "--cert is required"},
		{"update", ab("update", "--safe-id", apitest.Recipient, "--name", "Amtsgericht Erkelenz", "--cert", pki("intermediary-cipher.pem")), ExitOK, "Amtsgericht Erkelenz", ""},
		{"update unknown", ab("update", "--safe-id", "DE.Justiz.none.1", "--name", "x", "--cert", pki("intermediary-cipher.pem")), ExitFail, "", "404"},
		{"show", ab("show", apitest.Recipient), ExitOK, "Amtsgericht Erkelenz", ""},
		{"import json", ab("import", jsonFile), ExitOK, "1 added, 0 updated", ""},
		{"import csv", ab("import", csvFile), ExitOK, "1 added, 0 updated", ""},
		{"import unknown format", ab("import", filepath.Join(dir, "x.txt")), ExitUsage, "", "--format"},
		{"list", ab("list"), ExitOK, "LG Mönchengladbach", ""},
		{"list json", ab("list", "--json"), ExitOK, `"safeId": "DE.Justiz.json.1"`, ""},
		{"delete", ab("delete", "DE.Justiz.csv.1"), ExitOK, "DE.Justiz.csv.1 deleted", ""},
		{"delete again", ab("delete", "DE.Justiz.csv.1"), ExitFail, "", "(field safeId)"},
	})
	if n := len(e.Book.List()); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
}

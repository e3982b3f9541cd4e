package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

func TestAddressBookImportDryRunThenApply(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("admin", []web.Role{web.RoleAdmin}, "*")
	p := b.get("/betrieb")
	if p.Code != 200 || !strings.Contains(p.Body, "Warteschlangen") {
		t.Fatalf("Betrieb: %d", p.Code)
	}
	tok := csrfInput.FindStringSubmatch(p.Body)[1]
	file := `[{"safeId":"DE.Justiz.neu.1","name":"Landgericht Köln","cipherCert":` + jsonString(apitest.PKIPEM(t, "intermediary-cipher.pem")) + `}]`
	dry := b.multipartAs("/betrieb/adressbuch", "datei", [][2]string{{"csrf", tok}}, map[string]string{"neu.json": file})
	if dry.Code != 200 || !strings.Contains(dry.Body, "Probelauf") || !strings.Contains(dry.Body, "DE.Justiz.neu.1") {
		t.Fatalf("dry run: %d\n%s", dry.Code, dry.Body)
	}
	if _, err := e.Book.Get("DE.Justiz.neu.1"); err == nil {
		t.Fatal("a dry run changed the address book")
	}
	done := b.multipartAs("/betrieb/adressbuch", "datei", [][2]string{{"csrf", tok}, {"uebernehmen", "ja"}}, map[string]string{"neu.json": file})
	if done.Code != 200 || !strings.Contains(done.Body, "Übernommen") {
		t.Fatalf("import: %d", done.Code)
	}
	if _, err := e.Book.Get("DE.Justiz.neu.1"); err != nil {
		t.Fatalf("import did not add the entry: %v", err)
	}
	if bad := b.multipartAs("/betrieb/adressbuch", "datei", [][2]string{{"csrf", tok}}, map[string]string{"x.json": "{kaputt"}); bad.Code != http.StatusUnprocessableEntity {
		t.Fatalf("broken file: %d", bad.Code)
	}
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func TestRegisterPagesForProcurement(t *testing.T) {
	e := newEnv(t)
	e.addUser("vera", []web.Role{web.RoleProcurement}, "*")
	ctx := context.Background()
	if _, err := e.Register.CreateProcedure(ctx, register.NewProcedure{Number: "V-2026/7", Description: "Reinigung Rathaus",
		Value: 8_000_000, Kind: register.KindPublic, Contract: register.ContractServices}, "user:vera"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Register.SetBidder(ctx, "V-2026/7", "Sauber GmbH", []register.Company{{Name: "Sauber GmbH", Address: "Markt 1, Erkelenz", RegistryCourt: "Amtsgericht Mönchengladbach", RegisterNumber: "HRB 1234"}}, "user:vera"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("vera")
	if p := b.get("/register"); p.Code != 200 || !strings.Contains(p.Body, "Reinigung Rathaus") {
		t.Fatalf("procedures: %d", p.Code)
	}
	path := web.ProcedurePath("V-2026/7")
	p := b.get(path)
	if p.Code != 200 || !strings.Contains(p.Body, "Sauber GmbH") {
		t.Fatalf("procedure %s: %d", path, p.Code)
	}
	tok := csrfInput.FindStringSubmatch(p.Body)[1]
	g := b.post(path+"/pruefung", url.Values{"csrf": {tok}})
	if g.Code != 200 || !strings.Contains(g.Body, "Zuschlag noch nicht möglich") {
		t.Fatalf("gate: %d\n%s", g.Code, g.Body)
	}
	if q := b.post(path+"/abfrage", url.Values{"csrf": {tok}, "voraussetzungen": {"ja"}}); q.Code != http.StatusUnprocessableEntity || !strings.Contains(q.Body, "bestätigen") {
		t.Fatalf("query without both confirmations: %d", q.Code)
	}
	if q := b.post(path+"/abfrage", url.Values{"csrf": {tok}, "voraussetzungen": {"ja"}, "beschaeftigte": {"ja"}}); q.Code != http.StatusSeeOther {
		t.Fatalf("query: %d %s", q.Code, q.Body)
	}
	if p := b.get(path); !strings.Contains(p.Body, "Abfrageprotokoll") || !strings.Contains(p.Body, "user:vera") {
		t.Fatal("the query log does not show the query with the user")
	}
}

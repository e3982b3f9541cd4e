package api_test

import (
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

func TestAPIAddressBookCRUD(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	entry := addressbook.Recipient{SafeID: apitest.Recipient, Name: "Amtsgericht Erkelenz", Organisation: "Justiz NRW",
		CipherCert: apitest.PKIPEM(t, "intermediary-cipher.pem"), IntermediaryURL: "https://egvp.example/osci"}
	steps := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"add", "POST", "/v1/addressbook", entry, 201, ""},
		{"add again", "POST", "/v1/addressbook", entry, 409, "safeId"},
		{"add with bad certificate", "POST", "/v1/addressbook", addressbook.Recipient{SafeID: "DE.Justiz.b.2", Name: "x", CipherCert: apitest.PKIPEM(t, "wrong-usage.pem")}, 422, "cipherCert"},
		{"add with unknown field", "POST", "/v1/addressbook", map[string]string{"safeId": "DE.Justiz.c.3", "fax": "1"}, 400, "body"},
		{"add too large", "POST", "/v1/addressbook", addressbook.Recipient{SafeID: "DE.Justiz.big.1", Name: strings.Repeat("x", 2<<20)}, 413, "body"},
		{"get", "GET", "/v1/addressbook/" + apitest.Recipient, nil, 200, ""},
		{"get unknown", "GET", "/v1/addressbook/DE.Justiz.none.1", nil, 404, "safeId"},
		{"update", "PUT", "/v1/addressbook/" + apitest.Recipient, addressbook.Recipient{Name: "AG Erkelenz", CipherCert: entry.CipherCert}, 200, ""},
		{"update with another SAFE-ID", "PUT", "/v1/addressbook/" + apitest.Recipient, addressbook.Recipient{SafeID: "DE.Justiz.x.9", Name: "x", CipherCert: entry.CipherCert}, 400, "safeId"},
		{"update unknown", "PUT", "/v1/addressbook/DE.Justiz.none.1", addressbook.Recipient{Name: "x", CipherCert: entry.CipherCert}, 404, "safeId"},
		{"delete", "DELETE", "/v1/addressbook/" + apitest.Recipient, nil, 204, ""},
		{"delete again", "DELETE", "/v1/addressbook/" + apitest.Recipient, nil, 404, "safeId"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var got addressbook.Recipient
			r := e.DoJSON(t, s.method, s.path, s.body, &got)
			if r.StatusCode != s.status {
				t.Fatalf("status %d, want %d", r.StatusCode, s.status)
			}
			switch {
			case s.field != "":
				if p := apitest.ProblemOf(t, r); p.Field != s.field {
					t.Errorf("field %q, want %q (%s)", p.Field, s.field, p.Detail)
				}
			case s.status == 201 || (s.status == 200 && s.method == "GET"):
				if got.SafeID != apitest.Recipient || len(got.Fingerprint) != 64 || got.CertExpires.IsZero() {
					t.Errorf("entry %+v", got)
				}
			case s.method == "PUT":
				if got.Name != "AG Erkelenz" {
					t.Errorf("updated entry %+v", got)
				}
			}
		})
	}
}

func TestAPIAddressBookImport(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	cipher, other := apitest.PKIPEM(t, "intermediary-cipher.pem"), apitest.PKIPEM(t, "mailbox-cipher.pem")
	var csvBuf strings.Builder
	w := csv.NewWriter(&csvBuf)
	w.Write([]string{"safeId", "name", "cipherCert"})
	w.Write([]string{"DE.Justiz.csv.1", "LG Mönchengladbach", cipher})
	w.Write([]string{"DE.Justiz.json.1", "AG Erkelenz (neu)", other})
	w.Flush()
	list, _ := json.Marshal([]addressbook.Recipient{{SafeID: "DE.Justiz.json.1", Name: "AG Erkelenz", CipherCert: cipher}, {SafeID: "DE.Justiz.json.2", Name: "AG Heinsberg", CipherCert: other}})
	bad, _ := json.Marshal(api.AddressList{Entries: []addressbook.Recipient{{SafeID: "DE.Justiz.ok.1", Name: "ok", CipherCert: cipher}, {SafeID: "DE.Justiz.bad.1", Name: "bad", CipherCert: apitest.PKIPEM(t, "expired.pem")}}})
	dup, _ := json.Marshal([]addressbook.Recipient{{SafeID: "DE.Justiz.d.1", Name: "a", CipherCert: cipher}, {SafeID: "DE.Justiz.d.1", Name: "b", CipherCert: cipher}})
	tests := []struct {
		name, ctype, body string
		status            int
		want              addressbook.ImportResult
		field             string
		entries           int
	}{
		{"JSON list", "application/json", string(list), 200, addressbook.ImportResult{Added: 2}, "", 2},
		{"CSV adds one, replaces one", "text/csv", csvBuf.String(), 200, addressbook.ImportResult{Added: 1, Updated: 1}, "", 3},
		{"one invalid entry changes nothing", "application/json", string(bad), 422, addressbook.ImportResult{}, "entries[1].cipherCert", 3},
		{"SAFE-ID twice", "application/json", string(dup), 400, addressbook.ImportResult{}, "entries[1].safeId", 3},
		{"CSV without cipherCert column", "text/csv", "safeId,name\nDE.Justiz.x.1,x\n", 400, addressbook.ImportResult{}, "csv.header", 3},
		{"CSV unknown column", "text/csv", "safeId,name,cipherCert,fax\n", 400, addressbook.ImportResult{}, "csv.header", 3},
		{"empty list", "application/json", "[]", 400, addressbook.ImportResult{}, "entries", 3},
		{"unsupported type", "application/xml", "<x/>", 400, addressbook.ImportResult{}, "Content-Type", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(t, "POST", "/v1/addressbook/import", strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ctype})
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.status)
			}
			if tc.field != "" {
				if p := apitest.ProblemOf(t, r); p.Field != tc.field {
					t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
				}
			} else {
				var got addressbook.ImportResult
				json.NewDecoder(r.Body).Decode(&got)
				if got.Added != tc.want.Added || got.Updated != tc.want.Updated || got.Unchanged != tc.want.Unchanged {
					t.Errorf("result %+v, want %+v", got, tc.want)
				}
			}
			if n := len(e.Book.List()); n != tc.entries {
				t.Errorf("%d entries, want %d", n, tc.entries)
			}
		})
	}
	// A dry run reports the change and writes nothing; ?q= finds entries.
	rename, _ := json.Marshal([]addressbook.Recipient{{SafeID: "DE.Justiz.json.2", Name: "Amtsgericht Heinsberg", CipherCert: other}})
	r := e.Do(t, "POST", "/v1/addressbook/import?dryRun=true", strings.NewReader(string(rename)), map[string]string{"Content-Type": "application/json"})
	var dry addressbook.ImportResult
	json.NewDecoder(r.Body).Decode(&dry)
	if r.StatusCode != 200 || !dry.DryRun || dry.Updated != 1 || len(dry.Changes) != 1 || strings.Join(dry.Changes[0].Fields, ",") != "name" {
		t.Fatalf("dry run: %d %+v", r.StatusCode, dry)
	}
	var found api.AddressList
	if r := e.DoJSON(t, "GET", "/v1/addressbook?q=heinsberg", nil, &found); r.StatusCode != 200 || len(found.Entries) != 1 || found.Entries[0].Name != "AG Heinsberg" {
		t.Fatalf("lookup after the dry run: %d %+v", r.StatusCode, found)
	}
	if r := e.DoJSON(t, "GET", "/v1/addressbook?q=Atlantis", nil, &found); r.StatusCode != 200 || found.Entries == nil || len(found.Entries) != 0 {
		t.Fatalf("lookup of nothing: %d %+v", r.StatusCode, found)
	}
	if r := e.Do(t, "GET", "/v1/addressbook?q=", nil, nil); r.StatusCode != 400 || apitest.ProblemOf(t, r).Field != "q" {
		t.Fatalf("empty lookup: %d", r.StatusCode)
	}
	// The book is durable: a fresh open reads what the API wrote.
	again, err := addressbook.Open(filepath.Join(e.Dir, config.AddressBookFile), e.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Get("DE.Justiz.json.1")
	if err != nil || got.Name != "AG Erkelenz (neu)" || len(again.List()) != 3 {
		t.Fatalf("reopened book: %+v %v (%d entries)", got, err, len(again.List()))
	}
}

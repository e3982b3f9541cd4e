package gateway

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAPIAddressBookCRUD(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	entry := Recipient{SafeID: apiRecipient, Name: "Amtsgericht Erkelenz", Organisation: "Justiz NRW",
		CipherCert: pkiPEM(t, "intermediary-cipher.pem"), Intermediary: "https://egvp.example/osci"}
	steps := []struct {
		name, method, path string
		body               any
		status             int
		field              string
	}{
		{"add", "POST", "/v1/addressbook", entry, 201, ""},
		{"add again", "POST", "/v1/addressbook", entry, 409, "safeId"},
		{"add with bad certificate", "POST", "/v1/addressbook", Recipient{SafeID: "DE.Justiz.b.2", Name: "x", CipherCert: pkiPEM(t, "wrong-usage.pem")}, 422, "cipherCert"},
		{"add with unknown field", "POST", "/v1/addressbook", map[string]string{"safeId": "DE.Justiz.c.3", "fax": "1"}, 400, "body"},
		{"add too large", "POST", "/v1/addressbook", Recipient{SafeID: "DE.Justiz.big.1", Name: strings.Repeat("x", 2<<20)}, 413, "body"},
		{"get", "GET", "/v1/addressbook/" + apiRecipient, nil, 200, ""},
		{"get unknown", "GET", "/v1/addressbook/DE.Justiz.none.1", nil, 404, "safeId"},
		{"update", "PUT", "/v1/addressbook/" + apiRecipient, Recipient{Name: "AG Erkelenz", CipherCert: entry.CipherCert}, 200, ""},
		{"update with another SAFE-ID", "PUT", "/v1/addressbook/" + apiRecipient, Recipient{SafeID: "DE.Justiz.x.9", Name: "x", CipherCert: entry.CipherCert}, 400, "safeId"},
		{"update unknown", "PUT", "/v1/addressbook/DE.Justiz.none.1", Recipient{Name: "x", CipherCert: entry.CipherCert}, 404, "safeId"},
		{"delete", "DELETE", "/v1/addressbook/" + apiRecipient, nil, 204, ""},
		{"delete again", "DELETE", "/v1/addressbook/" + apiRecipient, nil, 404, "safeId"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var got Recipient
			r := e.doJSON(t, s.method, s.path, s.body, &got)
			if r.StatusCode != s.status {
				t.Fatalf("status %d, want %d", r.StatusCode, s.status)
			}
			switch {
			case s.field != "":
				if p := problemOf(t, r); p.Field != s.field {
					t.Errorf("field %q, want %q (%s)", p.Field, s.field, p.Detail)
				}
			case s.status == 201 || (s.status == 200 && s.method == "GET"):
				if got.SafeID != apiRecipient || len(got.Fingerprint) != 64 || got.CertExpires.IsZero() {
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
	e := newAPIEnv(t, APILimits{})
	cipher, other := pkiPEM(t, "intermediary-cipher.pem"), pkiPEM(t, "mailbox-cipher.pem")
	var csvBuf strings.Builder
	w := csv.NewWriter(&csvBuf)
	w.Write([]string{"safeId", "name", "cipherCert"})
	w.Write([]string{"DE.Justiz.csv.1", "LG Mönchengladbach", cipher})
	w.Write([]string{"DE.Justiz.json.1", "AG Erkelenz (neu)", other})
	w.Flush()
	list, _ := json.Marshal([]Recipient{{SafeID: "DE.Justiz.json.1", Name: "AG Erkelenz", CipherCert: cipher}, {SafeID: "DE.Justiz.json.2", Name: "AG Heinsberg", CipherCert: other}})
	bad, _ := json.Marshal(AddressList{Entries: []Recipient{{SafeID: "DE.Justiz.ok.1", Name: "ok", CipherCert: cipher}, {SafeID: "DE.Justiz.bad.1", Name: "bad", CipherCert: pkiPEM(t, "expired.pem")}}})
	dup, _ := json.Marshal([]Recipient{{SafeID: "DE.Justiz.d.1", Name: "a", CipherCert: cipher}, {SafeID: "DE.Justiz.d.1", Name: "b", CipherCert: cipher}})
	tests := []struct {
		name, ctype, body string
		status            int
		want              ImportResult
		field             string
		entries           int
	}{
		{"JSON list", "application/json", string(list), 200, ImportResult{Added: 2}, "", 2},
		{"CSV adds one, replaces one", "text/csv", csvBuf.String(), 200, ImportResult{Added: 1, Updated: 1}, "", 3},
		{"one invalid entry changes nothing", "application/json", string(bad), 422, ImportResult{}, "entries[1].cipherCert", 3},
		{"SAFE-ID twice", "application/json", string(dup), 400, ImportResult{}, "entries[1].safeId", 3},
		{"CSV without cipherCert column", "text/csv", "safeId,name\nDE.Justiz.x.1,x\n", 400, ImportResult{}, "csv.header", 3},
		{"CSV unknown column", "text/csv", "safeId,name,cipherCert,fax\n", 400, ImportResult{}, "csv.header", 3},
		{"empty list", "application/json", "[]", 400, ImportResult{}, "entries", 3},
		{"unsupported type", "application/xml", "<x/>", 400, ImportResult{}, "Content-Type", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", "/v1/addressbook/import", strings.NewReader(tc.body), map[string]string{"Content-Type": tc.ctype})
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.status)
			}
			if tc.field != "" {
				if p := problemOf(t, r); p.Field != tc.field {
					t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
				}
			} else {
				var got ImportResult
				json.NewDecoder(r.Body).Decode(&got)
				if got != tc.want {
					t.Errorf("result %+v, want %+v", got, tc.want)
				}
			}
			if n := len(e.book.List()); n != tc.entries {
				t.Errorf("%d entries, want %d", n, tc.entries)
			}
		})
	}
	// The book is durable: a fresh open reads what the API wrote.
	again, err := OpenAddressBook(filepath.Join(e.dir, AddressBookFile), e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.Get("DE.Justiz.json.1")
	if err != nil || got.Name != "AG Erkelenz (neu)" || len(again.List()) != 3 {
		t.Fatalf("reopened book: %+v %v (%d entries)", got, err, len(again.List()))
	}
}

func TestConfigAddressBookPath(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"default in the data directory", Config{DataDir: "/var/lib/bebpo"}, filepath.Join("/var/lib/bebpo", AddressBookFile)},
		{"configured", Config{DataDir: "/var/lib/bebpo", AddressBook: "/etc/bebpo/book.json"}, "/etc/bebpo/book.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.AddressBookPath(); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
}

func TestAddressBookReload(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	e.addRecipient(t)
	path := filepath.Join(e.dir, AddressBookFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		wantErr string
		entries int
	}{
		{"broken JSON keeps the book", "{", "address book", 1},
		{"entry twice keeps the book", `{"version":1,"entries":[{"safeId":"DE.Justiz.a.1"},{"safeId":"DE.Justiz.a.1"}]}`, "listed twice", 1},
		{"bad SAFE-ID keeps the book", `{"version":1,"entries":[{"safeId":"x"}]}`, "not a SAFE-ID", 1},
		{"emptied by hand", `{"version":1,"entries":[]}`, "", 0},
		{"restored", string(good), "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.content), 0o640); err != nil {
				t.Fatal(err)
			}
			err := e.book.Reload()
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if n := len(e.book.List()); n != tc.entries {
				t.Errorf("%d entries, want %d", n, tc.entries)
			}
		})
	}
}

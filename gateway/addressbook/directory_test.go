package addressbook_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

// twoIntermediaries is a configuration with the intermediaries bebpo and
// justiz-nrw, as the daemon hands it to the book.
func twoIntermediaries() *config.Config {
	return &config.Config{Intermediaries: []config.IntermediaryConfig{
		{Name: "bebpo", URL: "https://bebpo.example/osci"},
		{Name: "justiz-nrw", URL: "https://justiz-nrw.example/osci/"},
	}}
}

func openBook(t *testing.T, opts ...addressbook.Option) (*addressbook.Book, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), addressbook.AddressBookFile)
	b, err := addressbook.Open(path, func() time.Time { return apitest.T0 }, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return b, path
}

// derBase64 is a PEM certificate as directory exports carry it: base64 DER.
func derBase64(t *testing.T, pemText string) string {
	b, _ := pem.Decode([]byte(pemText))
	if b == nil {
		t.Fatal("no PEM block")
	}
	return base64.StdEncoding.EncodeToString(b.Bytes)
}

func TestEntryRefusedWhenAdded(t *testing.T) {
	book, _ := openBook(t, addressbook.WithIntermediaries(twoIntermediaries()))
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	good := addressbook.Recipient{SafeID: "DE.Justiz.lg.1", Name: "Landgericht Köln", CipherCert: cipher}
	wantRefusals(t, book, good, []refusal{
		{"unknown intermediary", func(r *addressbook.Recipient) { r.Intermediary = "justiz-xy" }, addressbook.ErrUnknownIntermediary, nil, "intermediary", `"justiz-xy" is not configured (configured: bebpo, justiz-nrw)`},
		{"URL of no configured intermediary", func(r *addressbook.Recipient) { r.IntermediaryURL = "https://other.example/osci" }, addressbook.ErrUnknownIntermediary, nil, "intermediaryUrl", "https://other.example/osci"},
		{"name and another URL", func(r *addressbook.Recipient) {
			r.Intermediary, r.IntermediaryURL = "bebpo", "https://justiz-nrw.example/osci"
		}, field.ErrInvalid, nil, "intermediaryUrl", "not the URL of intermediary"},
		{"certificates of a named intermediary", func(r *addressbook.Recipient) { r.Intermediary, r.IntermediaryCipherCert = "bebpo", cipher }, field.ErrInvalid, nil, "intermediaryCipherCert", "only with intermediaryUrl"},
		{"intermediary certificates without URL", func(r *addressbook.Recipient) { r.IntermediaryCipherCert = cipher }, field.ErrInvalid, nil, "intermediaryUrl", "is required"},
		{"inline cipher certificate for signing only", func(r *addressbook.Recipient) {
			r.IntermediaryURL, r.IntermediaryCipherCert = "https://other.example/osci", apitest.PKIPEM(t, "wrong-usage.pem")
			r.IntermediarySignatureCerts = []string{apitest.PKIPEM(t, "intermediary-signature.pem")}
		}, addressbook.ErrBadCertificate, certs.ErrKeyUsage, "intermediaryCipherCert", ""},
		{"inline without signature certificates", func(r *addressbook.Recipient) {
			r.IntermediaryURL, r.IntermediaryCipherCert = "https://other.example/osci", apitest.PKIPEM(t, "intermediary-cipher.pem")
		}, addressbook.ErrBadCertificate, nil, "intermediarySignatureCerts", "at least one"},
		{"inline signature certificate unreadable", func(r *addressbook.Recipient) {
			r.IntermediaryURL, r.IntermediaryCipherCert = "https://other.example/osci", apitest.PKIPEM(t, "intermediary-cipher.pem")
			r.IntermediarySignatureCerts = []string{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}
		}, addressbook.ErrBadCertificate, nil, "intermediarySignatureCerts[0]", ""},
		{"expired cipher certificate", func(r *addressbook.Recipient) { r.CipherCert = apitest.PKIPEM(t, "expired.pem") }, addressbook.ErrBadCertificate, certs.ErrExpired, "cipherCert", "valid until 20"},
		{"signature certificate as cipher", func(r *addressbook.Recipient) { r.CipherCert = apitest.PKIPEM(t, "wrong-usage.pem") }, addressbook.ErrBadCertificate, certs.ErrKeyUsage, "cipherCert", ""},
		{"SHA-1 below the policy", func(r *addressbook.Recipient) { r.CipherCert = apitest.PKIPEM(t, "sha1.pem") }, addressbook.ErrBadCertificate, nil, "cipherCert", ""},
		{"unknown court", func(r *addressbook.Recipient) { r.CourtCode = "X9999" }, addressbook.ErrUnknownCourt, nil, "courtCode", `"X9999" is not a code of GDS.Gerichte`},
		{"dissolved court", func(r *addressbook.Recipient) { r.CourtCode = dissolvedCourt(t) }, addressbook.ErrUnknownCourt, nil, "courtCode", "dissolved"},
	})
}

func dissolvedCourt(t *testing.T) string {
	for _, c := range courts.Default().All() {
		if c.Dissolved {
			return c.Code
		}
	}
	t.Fatal("no dissolved court in the code list")
	return ""
}

func TestEntryStoredForm(t *testing.T) {
	book, path := openBook(t, addressbook.WithIntermediaries(twoIntermediaries()))
	ctx := context.Background()
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	tests := []struct {
		name      string
		r         addressbook.Recipient
		im, imURL string
		court     string
	}{
		{"configured name", addressbook.Recipient{Intermediary: "justiz-nrw", CourtCode: "r3300"}, "justiz-nrw", "", "Landgericht Köln"},
		{"URL of a configured intermediary becomes its name", addressbook.Recipient{IntermediaryURL: "https://justiz-nrw.example/osci"}, "justiz-nrw", "", ""},
		{"name with its own URL", addressbook.Recipient{Intermediary: "bebpo", IntermediaryURL: "https://bebpo.example/osci/"}, "bebpo", "", ""},
		{"no intermediary: the sending mailbox's own", addressbook.Recipient{}, "", "", ""},
		{"inline intermediary", addressbook.Recipient{IntermediaryURL: "https://other.example/osci",
			IntermediaryCipherCert: apitest.PKIPEM(t, "intermediary-cipher.pem"), IntermediarySignatureCerts: []string{apitest.PKIPEM(t, "intermediary-signature.pem")}},
			"", "https://other.example/osci", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			r.SafeID, r.Name, r.CipherCert = "DE.Justiz.form."+string(rune('a'+i)), "Gericht", cipher
			got, err := book.Add(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if got.Intermediary != tc.im || got.IntermediaryURL != tc.imURL || got.CourtName != tc.court {
				t.Errorf("stored intermediary %q, URL %q, court %q; want %q, %q, %q", got.Intermediary, got.IntermediaryURL, got.CourtName, tc.im, tc.imURL, tc.court)
			}
		})
	}
	// A cipher certificate as base64 DER is stored as PEM.
	got, err := book.Add(ctx, addressbook.Recipient{SafeID: "DE.Justiz.der.1", Name: "AG", CipherCert: derBase64(t, cipher)})
	if err != nil || !strings.HasPrefix(got.CipherCert, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("DER entry: %v %q", err, got.CipherCert)
	}
	again, err := addressbook.Open(path, nil)
	if err != nil || len(again.List()) != len(tests)+1 {
		t.Fatalf("reopened: %v, %d entries", err, len(again.List()))
	}
}

// An entry of an earlier version names only its intermediary's URL: it is
// read as it is and resolves to the configured intermediary at that URL.
func TestEarlierEntryResolves(t *testing.T) {
	path := filepath.Join(t.TempDir(), addressbook.AddressBookFile)
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	old, err := addressbook.Open(path, func() time.Time { return apitest.T0 })
	if err != nil {
		t.Fatal(err)
	}
	// Without configured intermediaries (a tool preparing a data
	// directory) a bare URL is kept, and a name is refused.
	if _, err := old.Add(context.Background(), addressbook.Recipient{SafeID: "DE.Justiz.old.1", Name: "AG", CipherCert: cipher, IntermediaryURL: "https://justiz-nrw.example/osci"}); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Add(context.Background(), addressbook.Recipient{SafeID: "DE.Justiz.old.2", Name: "AG", CipherCert: cipher, Intermediary: "bebpo"}); !errors.Is(err, addressbook.ErrUnknownIntermediary) {
		t.Fatalf("name without configured intermediaries: %v", err)
	}
	e, _ := old.Get("DE.Justiz.old.1")
	if r, err := old.Resolve(e); err != nil || r.IntermediaryURL != "https://justiz-nrw.example/osci" || r.Intermediary != "" {
		t.Fatalf("unresolved without configuration: %+v %v", r, err)
	}
	book, err := addressbook.Open(path, nil, addressbook.WithIntermediaries(twoIntermediaries()))
	if err != nil {
		t.Fatal(err)
	}
	e, _ = book.Get("DE.Justiz.old.1")
	if e.IntermediaryURL == "" || e.Intermediary != "" {
		t.Fatalf("the file was rewritten on reading: %+v", e)
	}
	if r, err := book.Resolve(e); err != nil || r.Intermediary != "justiz-nrw" || r.IntermediaryURL != "" {
		t.Fatalf("Resolve = %+v %v, want justiz-nrw", r, err)
	}
	// A reload whose configuration lost that intermediary: Resolve refuses.
	gone, err := addressbook.Open(path, nil, addressbook.WithIntermediaries(&config.Config{Intermediaries: []config.IntermediaryConfig{{Name: "bebpo", URL: "https://bebpo.example/osci"}}}))
	if err != nil {
		t.Fatal(err)
	}
	book.Replace(gone)
	if _, err := book.Resolve(e); !errors.Is(err, addressbook.ErrUnknownIntermediary) || !strings.Contains(err.Error(), "https://justiz-nrw.example/osci") {
		t.Fatalf("after the reload: %v", err)
	}
	if _, err := book.Add(context.Background(), addressbook.Recipient{SafeID: "DE.Justiz.new.1", Name: "AG", CipherCert: cipher, Intermediary: "justiz-nrw"}); !errors.Is(err, addressbook.ErrUnknownIntermediary) {
		t.Fatalf("add after the reload: %v", err)
	}
}

func TestImportIdempotentAndDryRun(t *testing.T) {
	book, path := openBook(t, addressbook.WithIntermediaries(twoIntermediaries()))
	ctx := context.Background()
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	entries := []addressbook.Recipient{
		{SafeID: "DE.Justiz.a.1", Name: "Amtsgericht Köln", CourtCode: "R3306", Intermediary: "justiz-nrw", CipherCert: cipher},
		{SafeID: "DE.Justiz.b.1", Name: "Landgericht Köln", CourtCode: "R3300", Intermediary: "justiz-nrw", CipherCert: cipher},
	}
	res, err := book.Import(ctx, entries, addressbook.ImportOptions{})
	if err != nil || res.Added != 2 || len(res.Changes) != 2 || res.Changes[0].Action != addressbook.ActionAdd {
		t.Fatalf("first import: %+v %v", res, err)
	}
	before, _ := os.Stat(path)
	first, _ := book.Get("DE.Justiz.a.1")

	// The same entries again, the certificate now as base64 DER: unchanged.
	same := append([]addressbook.Recipient(nil), entries...)
	same[0].CipherCert = derBase64(t, cipher)
	res, err = book.Import(ctx, same, addressbook.ImportOptions{})
	if err != nil || res.Unchanged != 2 || res.Added+res.Updated != 0 || len(res.Changes) != 0 {
		t.Fatalf("repeated import: %+v %v", res, err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
		t.Error("an import without changes rewrote the file")
	}
	if e, _ := book.Get("DE.Justiz.a.1"); !e.UpdatedAt.Equal(first.UpdatedAt) {
		t.Errorf("UpdatedAt %v, want %v kept", e.UpdatedAt, first.UpdatedAt)
	}

	changed := append([]addressbook.Recipient(nil), entries...)
	changed[1].Name, changed[1].Intermediary = "Landgericht Köln (Zivil)", "bebpo"
	changed = append(changed, addressbook.Recipient{SafeID: "DE.Justiz.c.1", Name: "OLG Köln", CourtCode: "R3000", CipherCert: cipher})
	want := []addressbook.Change{{SafeID: "DE.Justiz.b.1", Action: addressbook.ActionUpdate, Fields: []string{"name", "intermediary"}},
		{SafeID: "DE.Justiz.c.1", Action: addressbook.ActionAdd}}
	for _, dry := range []bool{true, false} {
		res, err = book.Import(ctx, changed, addressbook.ImportOptions{DryRun: dry})
		if err != nil || res.Added != 1 || res.Updated != 1 || res.Unchanged != 1 || res.DryRun != dry || !sameChanges(res.Changes, want) {
			t.Fatalf("import (dry run %v): %+v %v", dry, res, err)
		}
		e, _ := book.Get("DE.Justiz.b.1")
		if n := len(book.List()); dry && (n != 2 || e.Name != "Landgericht Köln") || !dry && (n != 3 || e.Name != "Landgericht Köln (Zivil)") {
			t.Fatalf("dry run %v: %d entries, %q", dry, n, e.Name)
		}
	}
	// One refused entry: nothing changes, the refusal names the entry.
	bad := append(changed, addressbook.Recipient{SafeID: "DE.Justiz.d.1", Name: "AG", Intermediary: "justiz-xy", CipherCert: cipher})
	bad[0].Name = "changed"
	if _, err := book.Import(ctx, bad, addressbook.ImportOptions{}); !errors.Is(err, addressbook.ErrUnknownIntermediary) || !strings.Contains(err.Error(), "entries[3].intermediary") || !strings.Contains(err.Error(), "justiz-xy") {
		t.Fatalf("import with an unknown intermediary: %v", err)
	}
	if e, _ := book.Get("DE.Justiz.a.1"); e.Name != "Amtsgericht Köln" {
		t.Errorf("a refused import changed an entry: %q", e.Name)
	}
}

func sameChanges(a, b []addressbook.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].SafeID != b[i].SafeID || a[i].Action != b[i].Action || strings.Join(a[i].Fields, ",") != strings.Join(b[i].Fields, ",") {
			return false
		}
	}
	return true
}

func TestParse(t *testing.T) {
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	quoted := `"` + cipher + `"`
	tests := []struct {
		name, format, data string
		safeIDs            []string
		field              string
	}{
		{"JSON list", addressbook.FormatJSON, `[{"safeId":"DE.Justiz.a.1","name":"A","intermediary":"bebpo","courtCode":"F1100"}]`, []string{"DE.Justiz.a.1"}, ""},
		{"JSON object", addressbook.FormatJSON, "\ufeff" + `{"entries":[{"safeId":"DE.Justiz.a.1"},{"safeId":"DE.Justiz.b.1"}]}`, []string{"DE.Justiz.a.1", "DE.Justiz.b.1"}, ""},
		{"JSON unknown field", addressbook.FormatJSON, `[{"safeId":"x","fax":"1"}]`, nil, "entries"},
		{"JSON two values", addressbook.FormatJSON, `{"entries":[]} {}`, nil, "entries"},
		{"CSV with commas", addressbook.FormatCSV, "safeId,name,courtCode,intermediary,cipherCert\nDE.Justiz.a.1,LG Berlin,F1100,bebpo," + quoted + "\n", []string{"DE.Justiz.a.1"}, ""},
		{"CSV with semicolons, BOM and base64 DER", addressbook.FormatCSV, "\ufeffSAFEID;Name;Organisation;CipherCert\nDE.Justiz.a.1;Amtsgericht Köln, Abteilung 1;Justiz NRW;" + derBase64(t, cipher) + "\n", []string{"DE.Justiz.a.1"}, ""},
		{"CSV unknown column", addressbook.FormatCSV, "safeId,name,cipherCert,fax\n", nil, "csv.header"},
		{"CSV column missing", addressbook.FormatCSV, "safeId,name\nDE.Justiz.a.1,A\n", nil, "csv.header"},
		{"CSV row too short", addressbook.FormatCSV, "safeId,name,cipherCert\nDE.Justiz.a.1,A,x\nDE.Justiz.b.1,B\n", nil, "csv.row[3]"},
		{"other format", "xml", "<x/>", nil, "format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := addressbook.Parse([]byte(tc.data), tc.format)
			var fe *field.Error
			if tc.field != "" {
				if !errors.As(err, &fe) || fe.Field != tc.field {
					t.Fatalf("err = %v, want a refusal of %s", err, tc.field)
				}
				return
			}
			if err != nil || len(rs) != len(tc.safeIDs) {
				t.Fatalf("%d entries, %v", len(rs), err)
			}
			for i, id := range tc.safeIDs {
				if rs[i].SafeID != id {
					t.Errorf("entry %d: %q, want %q", i, rs[i].SafeID, id)
				}
			}
		})
	}
	// The semicolon file keeps the comma inside a name, and its DER
	// certificate passes the check.
	rs, _ := addressbook.Parse([]byte("safeId;name;cipherCert\nDE.Justiz.a.1;AG Köln, Abt. 1;"+derBase64(t, cipher)+"\n"), addressbook.FormatCSV)
	book, _ := openBook(t)
	if r, err := book.Check(context.Background(), rs[0]); err != nil || r.Name != "AG Köln, Abt. 1" {
		t.Fatalf("checked: %+v %v", r, err)
	}
}

func TestLookup(t *testing.T) {
	book, _ := openBook(t, addressbook.WithIntermediaries(twoIntermediaries()))
	cipher := apitest.PKIPEM(t, "safe-cipher.pem")
	for _, r := range []addressbook.Recipient{
		{SafeID: "DE.Justiz.lg.3300", Name: "Landgericht Köln", CourtCode: "R3300"},
		{SafeID: "DE.Justiz.ag.3306", Name: "Amtsgericht", Organisation: "Justiz Köln", CourtCode: "R3306"},
		{SafeID: "DE.Justiz.berlin.1", Name: "LG Berlin, Strafkammer", CourtCode: "F1100", Intermediary: "bebpo"},
		{SafeID: "DE.BeBPo.strasse.1", Name: "Straßenverkehrsamt Düsseldorf"},
	} {
		r.CipherCert = cipher
		if _, err := book.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		q    string
		want []string
	}{
		{"Köln", []string{"DE.Justiz.ag.3306", "DE.Justiz.lg.3300"}},
		{"Koeln", []string{"DE.Justiz.ag.3306", "DE.Justiz.lg.3300"}},
		{"KOLN", []string{"DE.Justiz.ag.3306", "DE.Justiz.lg.3300"}},
		{"landgericht köln", []string{"DE.Justiz.lg.3300"}},
		{"f1100", []string{"DE.Justiz.berlin.1"}},
		{"Strafgerichtsbarkeit", []string{"DE.Justiz.berlin.1"}}, // the court name from the code list
		{"strasse", []string{"DE.BeBPo.strasse.1"}},
		{"Straße", []string{"DE.BeBPo.strasse.1"}},
		{"duesseldorf", []string{"DE.BeBPo.strasse.1"}},
		{"de.justiz.lg.3300", []string{"DE.Justiz.lg.3300"}},
		{"Hamburg", nil},
		{"  ", nil},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			var got []string
			for _, r := range book.Lookup(tc.q) {
				got = append(got, r.SafeID)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Lookup(%q) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
	if got := book.ByCourt("r3300"); len(got) != 1 || got[0].SafeID != "DE.Justiz.lg.3300" {
		t.Errorf("ByCourt = %+v", got)
	}
}

func TestExpiries(t *testing.T) {
	book, _ := openBook(t, addressbook.WithIntermediaries(twoIntermediaries()))
	key, _ := certstest.PKIKey(t, "safe-cipher")
	soon := func(days int) string {
		_, c := certstest.Issue(t, nil, nil, &x509.Certificate{KeyUsage: x509.KeyUsageKeyEncipherment,
			NotBefore: apitest.T0.AddDate(-1, 0, 0), NotAfter: apitest.T0.AddDate(0, 0, days)}, key)
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	for _, r := range []addressbook.Recipient{
		{SafeID: "DE.Justiz.a.1", Intermediary: "justiz-nrw", CipherCert: soon(10)},
		{SafeID: "DE.Justiz.a.2", Intermediary: "justiz-nrw", CipherCert: soon(400)},
		{SafeID: "DE.Justiz.a.3", Intermediary: "justiz-nrw", CipherCert: soon(29)},
		{SafeID: "DE.BeBPo.b.1", CipherCert: soon(30)},
	} {
		r.Name = "Empfänger"
		if _, err := book.Add(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	got := book.Expiries(apitest.T0)
	want := []addressbook.ExpirySummary{
		{Intermediary: addressbook.OwnIntermediary, Entries: 1, EarliestExpiry: apitest.T0.AddDate(0, 0, 30), EarliestDays: 30, EarliestSafeID: "DE.BeBPo.b.1"},
		{Intermediary: "justiz-nrw", Entries: 3, EarliestExpiry: apitest.T0.AddDate(0, 0, 10), EarliestDays: 10, EarliestSafeID: "DE.Justiz.a.1", ExpiringSoon: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("Expiries = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Expiries[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Forty days later two have expired and the third is close.
	if s := book.Expiries(apitest.T0.AddDate(0, 0, 40))[1]; s.EarliestDays != -30 || s.ExpiringSoon != 2 {
		t.Errorf("later: %+v", s)
	}
}

package xjustiz_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

var update = flag.Bool("update", false, "rewrite golden files and the fuzz seed corpus in testdata")

// testNow is the clock of every golden record.
var testNow = time.Date(2026, 3, 5, 9, 15, 30, 250e6, time.UTC)

func newCodec(t testing.TB, seed string) *xjustiz.Codec {
	t.Helper()
	c, err := xjustiz.New(xjustiz.Options{
		Now:     func() time.Time { return testNow },
		Rand:    certstest.DetRand(seed),
		Product: xjustiz.Product{Name: "bebpo-gateway", Vendor: "bebpo-gateway contributors", Version: "1.0.0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	certstest.Golden(t, filepath.Join("testdata", "golden", name), got, *update)
}

func goldenFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden records (%v)", err)
	}
	return files
}

var (
	courtsOnce sync.Once
	courts     map[string]string
)

// court resolves a GDS.Gerichte code from the shared code list, as the
// caller (the court directory) does before building.
func court(t testing.TB, code string) xjustiz.Court {
	t.Helper()
	courtsOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1", "codelists", "GDS.Gerichte.xml"))
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`(?s)<Value ColumnRef="code">\s*<SimpleValue>([^<]*)</SimpleValue>\s*</Value>\s*<Value ColumnRef="wert">\s*<SimpleValue>([^<]*)</SimpleValue>`)
		courts = map[string]string{}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			courts[strings.TrimSpace(m[1])] = strings.TrimSpace(m[2])
		}
	})
	name, ok := courts[code]
	if !ok {
		t.Fatalf("court %s not in GDS.Gerichte (%d courts read)", code, len(courts))
	}
	return xjustiz.Court{Code: code, Name: name}
}

// twoDocuments is the submission of the acceptance test: a
// record with two documents and an eEB request.
func twoDocuments(t testing.TB) xjustiz.Submission {
	return xjustiz.Submission{
		Court:         court(t, "R1502"),
		Sender:        "Stadt Erkelenz",
		CaseSender:    "32.1-2026/0815",
		CaseRecipient: "12 C 345/26",
		Subject:       "Räumung städtischer Obdachlosenunterkunft",
		Parties: []xjustiz.Party{
			{Role: "001", Organisation: "Stadt Erkelenz"},
			{GivenName: "Jörg", FamilyName: "Müller-Lüdenscheidt"},
		},
		Documents: []xjustiz.Document{
			{Name: "Klage.pdf", Class: "003", Signature: true},
			{Name: "Anlage_K1_Mietvertrag.pdf", Class: "001", Title: "Anlage K1 Mietvertrag"},
		},
		EEB: true,
	}
}

// build passes in to a build of the codec (c.BuildSubmission,
// c.BuildEEB); a refusal ends the test.
func build[T any](t testing.TB, buildWith func(T) (*xjustiz.Built, error), in T) *xjustiz.Built {
	t.Helper()
	b, err := buildWith(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refused ends the test unless a build was refused with want and gave no
// record.
func refused(t testing.TB, b *xjustiz.Built, err, want error) {
	t.Helper()
	if !errors.Is(err, want) || b != nil {
		t.Fatalf("got %v, %v; want %v", b, err, want)
	}
}

package xjustiz_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

const seedDir = "testdata/fuzz/FuzzRead"

// fuzzSeeds are the records the fuzzer starts from: our golden records,
// the two real records and a few broken ones.
func fuzzSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{
		"real-eeb-2.4.0":        vector(t, "TestnachrichtEeb_1"),
		"real-submission-3.2.1": vector(t, "Testnachricht_xjustiz321"),
		"doctype":               []byte(`<!DOCTYPE x [<!ENTITY e "e">]><tns:nachricht.eeb.zuruecklaufend.2200007 xmlns:tns="http://www.xjustiz.de">&e;</tns:nachricht.eeb.zuruecklaufend.2200007>`),
		"foreign-root":          []byte(`<nachricht.gds.uebermittlungSchriftgutobjekte.0005005/>`),
		"header-only":           []byte(`<tns:nachricht.eeb.zuruecklaufend.2200007 xmlns:tns="http://www.xjustiz.de"><tns:nachrichtenkopf xjustizVersion="3.5.1"/></tns:nachricht.eeb.zuruecklaufend.2200007>`),
	}
	for _, f := range goldenFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds["golden-"+filepath.Base(f)] = b
	}
	return seeds
}

func seedFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(b)))
}

// TestGoldenFuzzSeeds checks the committed seed corpus against the seeds
// (and rewrites it with -update).
func TestGoldenFuzzSeeds(t *testing.T) {
	for name, b := range fuzzSeeds(t) {
		p := filepath.Join(seedDir, name)
		if *update {
			if err := os.MkdirAll(seedDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, seedFile(b), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if string(got) != string(seedFile(b)) {
			t.Errorf("seed %s is stale (run go test -update)", name)
		}
	}
}

// FuzzRead: Read never panics, fails only with its sentinels, stays
// within the limits, and agrees with Validate.
func FuzzRead(f *testing.F) {
	c := newCodec(f, "fuzz")
	f.Fuzz(func(t *testing.T, rec []byte) {
		r, err := c.Read(rec)
		verr := c.Validate(rec)
		if err != nil {
			if r != nil {
				t.Fatal("record and error")
			}
			if !errors.Is(err, xjustiz.ErrTooLarge) && !errors.Is(err, xjustiz.ErrMalformed) && !errors.Is(err, xjustiz.ErrUnsupported) {
				t.Fatalf("unexpected error %v", err)
			}
			if verr == nil {
				t.Fatalf("Read refused (%v) what Validate accepts", err)
			}
			return
		}
		if len(r.Documents) > xjustiz.DefaultLimits().MaxDocuments {
			t.Fatalf("%d documents", len(r.Documents))
		}
		if (r.Validation == nil) != (verr == nil) {
			t.Fatalf("Read says %v, Validate says %v", r.Validation, verr)
		}
		if r.Validation == nil && r.Generation != xjustiz.DefaultGeneration {
			t.Fatalf("valid without generation: %+v", r)
		}
		if r.EEB != nil && r.EEB.ForeignMessageID != r.ForeignMessageID {
			t.Fatal("answer and header disagree")
		}
	})
}

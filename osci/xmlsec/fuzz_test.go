package xmlsec

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

func fuzzLimits() Limits {
	lim := DefaultLimits()
	lim.AllowProcInst = true
	lim.MaxBytes = 1 << 20
	return lim
}

// FuzzParse: accepted input canonicalizes, and survives Serialize -> Parse
// with the same canonical form.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseBytes(data, fuzzLimits())
		if err != nil {
			return
		}
		c1, err := CanonicalizeDocument(doc, C14NOptions{Method: C14N10})
		if err != nil {
			t.Fatalf("accepted document does not canonicalize: %v", err)
		}
		var buf bytes.Buffer
		if err := Serialize(&buf, doc); err != nil {
			t.Fatal(err)
		}
		again, err := ParseBytes(buf.Bytes(), fuzzLimits())
		if err != nil {
			t.Fatalf("serialized form does not re-parse: %v\n%q", err, buf.Bytes())
		}
		c2, err := CanonicalizeDocument(again, C14NOptions{Method: C14N10})
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("round trip changed the canonical form (%v)\n%q\n%q", err, c1, c2)
		}
	})
}

// FuzzCanonicalize: canonicalization is idempotent for both methods, and
// every element canonicalizes in its context.
func FuzzCanonicalize(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, exclusive bool) {
		doc, err := ParseBytes(data, fuzzLimits())
		if err != nil {
			return
		}
		method := C14N10
		if exclusive {
			method = ExcC14N10
		}
		c1, err := CanonicalizeDocument(doc, C14NOptions{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseBytes(c1, fuzzLimits())
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%q", err, c1)
		}
		c2, err := CanonicalizeDocument(again, C14NOptions{Method: method})
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("not idempotent (%v)\n%q\n%q", err, c1, c2)
		}
		var walk func(el *etree.Element)
		walk = func(el *etree.Element) {
			if _, err := Canonicalize(el, method); err != nil {
				t.Fatalf("element <%s>: %v", el.FullTag(), err)
			}
			for _, c := range el.ChildElements() {
				walk(c)
			}
		}
		walk(doc.Root())
	})
}

var fuzzVerifyOnce struct {
	sync.Once
	originals []*Verified
	policy    VerifyPolicy
}

// FuzzVerify: a mutated signed message either fails, or verifies to
// exactly the SignedInfo and referenced octets that were signed.
func FuzzVerify(f *testing.F) {
	fuzzVerifyOnce.Do(func() {
		fuzzVerifyOnce.policy = signerPolicy(f)
		for _, msg := range fuzzSignedMessages(f) {
			v, err := verifyBytes(f, msg, fuzzVerifyOnce.policy)
			if err != nil {
				f.Fatal(err)
			}
			fuzzVerifyOnce.originals = append(fuzzVerifyOnce.originals, v)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseBytes(data, DefaultLimits())
		if err != nil {
			return
		}
		for _, sig := range signatures(doc) {
			v, err := Verify(context.Background(), doc, sig, fuzzVerifyOnce.policy)
			if err != nil {
				continue
			}
			var orig *Verified
			for _, o := range fuzzVerifyOnce.originals {
				if bytes.Equal(v.SignedInfo, o.SignedInfo) {
					orig = o
				}
			}
			if orig == nil {
				t.Fatalf("verified a SignedInfo that was never signed:\n%q", v.SignedInfo)
			}
			for _, r := range v.References {
				o, ok := orig.Reference(r.URI)
				if !ok || !bytes.Equal(o.Canonical, r.Canonical) || !bytes.Equal(o.Digest, r.Digest) {
					t.Fatalf("verified different content for %s", r.URI)
				}
				if _, err := r.Element(); r.Canonical != nil && err != nil {
					t.Fatalf("signed octets of %s do not re-parse: %v", r.URI, err)
				}
			}
		}
	})
}

// fuzzSignedMessages are signed with a fixed Rand, so the PSS one is
// byte-stable and matches the committed seed.
func fuzzSignedMessages(t testing.TB) [][]byte {
	return [][]byte{
		signedMessage(t, []string{"#controlblock", "#body", "cid:att1"}, SignOptions{}),
		signedMessage(t, []string{"#body"}, SignOptions{Algorithm: SignatureRSAPSSSHA256, Canonicalization: ExcC14N10, Rand: zeroReader{}}),
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestFuzzSeedCorpus checks the committed seed corpora; -update rewrites
// them from the c14n corpus and a signed message.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz")
	if *update {
		files, _ := filepath.Glob("testdata/c14n/*.xml")
		var docs [][]byte
		for _, f := range files {
			docs = append(docs, certstest.ReadFile(t, f))
		}
		docs = append(docs, []byte(`<!DOCTYPE r><r/>`), []byte(`<a:b xmlns:a="urn:a" a:x="1" a:x="2"/>`), []byte("<r>\xff</r>"))
		writeSeeds(t, filepath.Join(dir, "FuzzParse"), docs, nil)
		writeSeeds(t, filepath.Join(dir, "FuzzCanonicalize"), docs, []bool{false, true})
		writeSeeds(t, filepath.Join(dir, "FuzzVerify"), fuzzSignedMessages(t), nil)
		var edge [][]byte
		for _, s := range parseEdgeCases {
			edge = append(edge, []byte(s))
		}
		writeSeeds(t, filepath.Join(dir, "FuzzParseDifferential"), append(docs, edge...), nil)
	}
	for _, name := range []string{"FuzzParse", "FuzzCanonicalize", "FuzzVerify", "FuzzParseDifferential"} {
		entries, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil || len(entries) == 0 {
			t.Errorf("no seed corpus for %s (run with -update): %v", name, err)
		}
	}
}

func writeSeeds(t *testing.T, dir string, docs [][]byte, flags []bool) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(d)) + ")\n"
		if flags != nil {
			content += "bool(" + strconv.FormatBool(flags[i%len(flags)]) + ")\n"
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

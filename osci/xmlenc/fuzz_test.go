package xmlenc

import (
	"bytes"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

var update = flag.Bool("update", false, "rewrite the committed fuzz seed corpus in testdata")

const seedDir = "testdata/fuzz/FuzzDecrypt"

// fuzzSeed is one committed seed: the EncryptedData document, the bytes of
// its cid:a part, and whether bob must be able to decrypt it.
type fuzzSeed struct {
	name  string
	xml   []byte
	part  []byte
	valid bool
}

func makeSeeds(t testing.TB) []fuzzSeed {
	bob := vectorParty(t, "bob_cipher_4096")
	alice := vectorParty(t, "alice_cipher_4096")
	ser := func(ed *etree.Element) []byte {
		doc := etree.NewDocument()
		doc.SetRoot(ed)
		b, _ := doc.WriteToBytes()
		return b
	}
	both := []Recipient{{Cert: alice.cert}, {Cert: bob.cert}}
	inline, err := (&Encrypter{Recipients: both, DeclareNamespaces: true, MimeType: "text/xml", Rand: certstest.DetRand("seed inline")}).EncryptBytes([]byte("<osci:ContentContainer xmlns:osci=\"http://www.osci.de/2002/04/osci\" Id=\"c\"/>"))
	if err != nil {
		t.Fatal(err)
	}
	var part bytes.Buffer
	ref, _, err := (&Encrypter{Recipients: both, DeclareNamespaces: true, Rand: certstest.DetRand("seed reference")}).EncryptStream(&part, strings.NewReader("Anlage äöü"), "a")
	if err != nil {
		t.Fatal(err)
	}
	var mpart bytes.Buffer
	mgmt, _, err := (&Encrypter{MgmtData: true, DeclareNamespaces: true, Id: "Attachmenta", Rand: certstest.DetRand("seed mgmtdata")}).EncryptStream(&mpart, strings.NewReader("x"), "a")
	if err != nil {
		t.Fatal(err)
	}
	cbc := mutated(t, reparse(t, inline), setAlg("EncryptionMethod", AlgAES256CBC))
	return []fuzzSeed{
		{"inline-two-recipients", ser(inline), nil, true},
		{"cipher-reference", ser(ref), part.Bytes(), true},
		{"mgmtdata", ser(mgmt), mpart.Bytes(), true},
		{"cbc-substituted", ser(cbc), nil, false},
	}
}

// TestGoldenFuzzSeeds checks the committed seed corpus (and rewrites it
// with -update): every seed file is a valid corpus entry, and the seeds
// marked valid decrypt for bob, so the fuzzer starts from deep paths.
func TestGoldenFuzzSeeds(t *testing.T) {
	if *update {
		if err := os.MkdirAll(seedDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range makeSeeds(t) {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n[]byte(%s)\n", strconv.Quote(string(s.xml)), strconv.Quote(string(s.part)))
			if err := os.WriteFile(filepath.Join(seedDir, s.name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	bob := vectorParty(t, "bob_cipher_4096")
	fuzzDecrypter = &Decrypter{Key: bob.key, SpoolDir: t.TempDir()}
	files, err := filepath.Glob(filepath.Join(seedDir, "*"))
	if err != nil || len(files) < 4 {
		t.Fatalf("seed corpus: %d files, %v (regenerate with -update)", len(files), err)
	}
	for _, f := range files {
		x, part := readSeed(t, f)
		err := fuzzOnce(x, part)
		valid := !strings.Contains(f, "cbc")
		if valid && err != nil || !valid && !errors.Is(err, ErrAlgorithmNotAllowed) {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
	}
}

func readSeed(t *testing.T, path string) (x, part []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz corpus file", path)
	}
	var vals [2][]byte
	for i, l := range lines[1:] {
		q, ok := strings.CutPrefix(l, "[]byte(")
		s, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
		if !ok || err != nil {
			t.Fatalf("%s: line %d: %v", path, i+2, err)
		}
		vals[i] = []byte(s)
	}
	return vals[0], vals[1]
}

var fuzzDecrypter *Decrypter

// fuzzOnce parses x with the hardened parser and decrypts its root as bob,
// with part as cid:a. It returns the decryption error, or nil for inputs
// the parser refuses. It panics on a broken invariant.
func fuzzOnce(x, part []byte) error {
	doc, err := xmlsec.ParseBytes(x, xmlsec.Limits{})
	if err != nil {
		return nil
	}
	d := *fuzzDecrypter
	d.AllowMgmtData = true
	d.Limits = Limits{MaxPartBytes: 1 << 20, MaxInlineBytes: 1 << 20}
	for _, seekable := range []bool{true, false} {
		d.Parts = memParts{parts: map[string][]byte{"a": part}, seekable: seekable}
		var out countingWriter
		_, err = d.DecryptTo(&out, doc.Root())
		switch {
		case err == nil:
		case err == ErrDecrypt:
		case errors.Is(err, ErrDecrypt):
			panic("ErrDecrypt wrapped with detail: " + err.Error())
		case errors.Is(err, ErrAlgorithmNotAllowed), errors.Is(err, ErrMalformed), errors.Is(err, ErrLimit),
			errors.Is(err, ErrPart), errors.Is(err, ErrKeyNotAllowed):
		default:
			panic("unexpected error: " + err.Error())
		}
		if err != nil && out.n != 0 {
			panic(fmt.Sprintf("%d plaintext bytes released before %v", out.n, err))
		}
	}
	return err
}

// memoKey caches private-key results by input, so that mutants which leave
// the wrapped key alone cost no RSA operation and the fuzzer (and its
// minimizer) stays fast. Decryption is a pure function of its input, so
// this changes no verdict.
type memoKey struct {
	crypto.Decrypter
	mu    sync.Mutex
	cache map[string]memoResult
}

type memoResult struct {
	out []byte
	err error
}

func (m *memoKey) Decrypt(r io.Reader, ct []byte, o crypto.DecrypterOpts) ([]byte, error) {
	k := fmt.Sprintf("%v|%x", o, ct)
	m.mu.Lock()
	defer m.mu.Unlock()
	if res, ok := m.cache[k]; ok {
		return bytes.Clone(res.out), res.err
	}
	out, err := m.Decrypter.Decrypt(r, ct, o)
	if len(m.cache) < 4096 {
		m.cache[k] = memoResult{bytes.Clone(out), err}
	}
	return out, err
}

func FuzzDecrypt(f *testing.F) {
	bob := vectorParty(f, "bob_cipher_4096")
	fuzzDecrypter = &Decrypter{Key: &memoKey{Decrypter: bob.key, cache: map[string]memoResult{}}, SpoolDir: f.TempDir()}
	f.Fuzz(func(t *testing.T, x, part []byte) {
		fuzzOnce(x, part)
	})
}

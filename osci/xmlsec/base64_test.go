package xmlsec

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// TestBase64Lines pins the one base64 line rule: 76 characters, each full
// line followed by eol (the last one too), nothing after a partial line.
func TestBase64Lines(t *testing.T) {
	for _, n := range []int{0, 1, 56, 57, 113, 114, 512, 1359} { // 57 octets fill a line
		data := bytes.Repeat([]byte{0xfb, 0xef, 0x3c}, n/3+1)[:n]
		plain := base64.StdEncoding.EncodeToString(data)
		for _, eol := range []string{"\n", "\r\n"} {
			var b strings.Builder
			w := NewBase64Writer(&b, eol)
			for _, c := range data { // one octet per Write: line breaks do not depend on the writes
				if _, err := w.Write([]byte{c}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for s := plain; s != ""; {
				k := min(Base64LineLength, len(s))
				want.WriteString(s[:k])
				if k == Base64LineLength {
					want.WriteString(eol)
				}
				s = s[k:]
			}
			if b.String() != want.String() {
				t.Errorf("%d octets, eol %q:\n got %q\nwant %q", n, eol, b.String(), want.String())
			}
			if eol == "\n" && EncodeBase64(data) != b.String() {
				t.Errorf("%d octets: EncodeBase64 differs from the writer", n)
			}
		}
	}
}

// TestBase64AsTheReferenceLibrary: the base64 texts in the reference
// library's requests (a full last line ends with LF, a partial one does
// not) are what EncodeBase64 writes for their octets.
func TestBase64AsTheReferenceLibrary(t *testing.T) {
	msg, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "requests-plain", "storeDelivery.mime"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`<(ds:SignatureValue|ds:X509Certificate|xenc:CipherValue)>([A-Za-z0-9+/=\n]+)</`)
	seen := map[bool]bool{}
	for _, m := range re.FindAllSubmatch(msg, -1) {
		text := string(m[2])
		data, err := decodeBase64(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := EncodeBase64(data); got != text {
			t.Errorf("%s: we write\n%q\nthe library\n%q", m[1], got, text)
		}
		seen[strings.HasSuffix(text, "\n")] = true
	}
	if !seen[true] || !seen[false] {
		t.Fatalf("the vector lacks a full or a partial last line: %v", seen)
	}
}

package xmlsec

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var c14nMethods = []struct {
	name, method, ext, xmllintFlag string
}{
	{"inclusive", C14N10, ".c14n", "--c14n"},
	{"exclusive", ExcC14N10, ".exc-c14n", "--exc-c14n"},
}

func corpus(t *testing.T) []string {
	files, err := filepath.Glob("testdata/c14n/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("c14n corpus has %d documents, want at least 40", len(files))
	}
	return files
}

func canonicalFile(t *testing.T, path, method string) []byte {
	t.Helper()
	lim := DefaultLimits()
	lim.AllowProcInst = true
	doc, err := ParseBytes(certstest.ReadFile(t, path), lim)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out, err := CanonicalizeDocument(doc, C14NOptions{Method: method})
	if err != nil {
		t.Fatalf("canonicalize %s: %v", path, err)
	}
	return out
}

// TestC14NGolden compares each corpus document with its committed canonical
// forms (regenerate with -update).
func TestC14NGolden(t *testing.T) {
	for _, f := range corpus(t) {
		for _, m := range c14nMethods {
			t.Run(filepath.Base(f)+"/"+m.name, func(t *testing.T) {
				got := canonicalFile(t, f, m.method)
				certstest.Golden(t, strings.TrimSuffix(f, ".xml")+m.ext, got, *update)
			})
		}
	}
}

// TestC14NDifferentialXmllint checks every corpus document against libxml2's
// canonicalizer, an independent implementation.
func TestC14NDifferentialXmllint(t *testing.T) {
	xmllint := certstest.NeedTool(t, "xmllint")
	for _, f := range corpus(t) {
		for _, m := range c14nMethods {
			t.Run(filepath.Base(f)+"/"+m.name, func(t *testing.T) {
				withComments, err := exec.Command(xmllint, m.xmllintFlag, f).Output()
				if err != nil {
					t.Fatalf("xmllint %s %s: %v", m.xmllintFlag, f, err)
				}
				want := stripCanonicalComments(withComments)
				if got := canonicalFile(t, f, m.method); !bytes.Equal(got, want) {
					t.Errorf("differs from xmllint %s\n    ours: %q\n xmllint: %q", m.xmllintFlag, got, want)
				}
			})
		}
	}
}

// TestC14NSubset canonicalizes single elements in the namespace context of
// their ancestors.
func TestC14NSubset(t *testing.T) {
	const doc = `<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" xml:lang="de" xml:space="preserve">` +
		`<a:x b:k="1" a:k="2" k="3"><y xmlns=""><z xml:lang="en"/></y></a:x></r>`
	tests := []struct {
		name, path, method string
		prefixes           []string
		want               string
	}{
		{"inclusive inherits ns and xml attrs", "a:x", C14N10, nil,
			`<a:x xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" k="3" xml:lang="de" xml:space="preserve" a:k="2" b:k="1"><y xmlns=""><z xml:lang="en"></z></y></a:x>`},
		{"inclusive apex with empty default", "a:x/y", C14N10, nil,
			`<y xmlns:a="urn:a" xmlns:b="urn:b" xml:lang="de" xml:space="preserve"><z xml:lang="en"></z></y>`},
		{"exclusive utilized only", "a:x", ExcC14N10, nil,
			`<a:x xmlns:a="urn:a" xmlns:b="urn:b" k="3" a:k="2" b:k="1"><y><z xml:lang="en"></z></y></a:x>`},
		{"exclusive prefix list", "a:x/y", ExcC14N10, []string{"#default", "b"},
			`<y xmlns:b="urn:b"><z xml:lang="en"></z></y>`},
		{"exclusive default utilized", "a:x/y/z", ExcC14N10, nil, `<z xml:lang="en"></z>`},
	}
	d, err := ParseBytes([]byte(doc), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			el := d.Root().FindElement(tc.path)
			if el == nil {
				t.Fatalf("no element %s", tc.path)
			}
			got, err := CanonicalizeWith(el, C14NOptions{Method: tc.method, InclusivePrefixes: tc.prefixes})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestC14NRejects(t *testing.T) {
	d, err := ParseBytes([]byte(`<r><c>`+strings.Repeat("x", 200)+`</c></r>`), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    C14NOptions
		want error
	}{
		{"with comments", C14NOptions{Method: C14N10 + "#WithComments"}, ErrUnsupportedC14N},
		{"c14n 1.1", C14NOptions{Method: "http://www.w3.org/2006/12/xml-c14n11"}, ErrUnsupportedC14N},
		{"output limit", C14NOptions{Method: C14N10, MaxBytes: 10}, ErrCanonicalizationLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CanonicalizeWith(d.Root().ChildElements()[0], tc.o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// stripCanonicalComments turns xmllint's canonical form with comments (it
// has no switch for the form without) into the form without comments:
// comments inside the root vanish, those outside take their LF with them.
// It scans canonical output, where text and attribute values never hold a
// raw '<'.
func stripCanonicalComments(b []byte) []byte {
	var out []byte
	depth, rootDone := 0, false
	for i := 0; i < len(b); {
		switch {
		case bytes.HasPrefix(b[i:], []byte("<!--")):
			end := i + bytes.Index(b[i:], []byte("-->")) + 3
			switch {
			case depth > 0:
			case !rootDone && end < len(b) && b[end] == '\n':
				end++
			case rootDone && len(out) > 0 && out[len(out)-1] == '\n':
				out = out[:len(out)-1]
			}
			i = end
		case bytes.HasPrefix(b[i:], []byte("<?")):
			end := i + bytes.Index(b[i:], []byte("?>")) + 2
			out = append(out, b[i:end]...)
			i = end
		case bytes.HasPrefix(b[i:], []byte("</")):
			end := i + bytes.IndexByte(b[i:], '>') + 1
			out = append(out, b[i:end]...)
			i = end
			depth--
			rootDone = depth == 0
		case b[i] == '<':
			end, quoted := i, false
			for ; b[end] != '>' || quoted; end++ {
				if b[end] == '"' {
					quoted = !quoted
				}
			}
			out = append(out, b[i:end+1]...)
			i = end + 1
			depth++
		default:
			end := bytes.IndexByte(b[i:], '<')
			if end < 0 {
				end = len(b) - i
			}
			out = append(out, b[i:i+end]...)
			i += end
		}
	}
	return out
}

// TestEscapes: what EscapeText and EscapeAttr write parses back to the
// original string, and is already the canonical form.
func TestEscapes(t *testing.T) {
	for _, s := range []string{"plain", `a&b<c>d"e'f`, "tab\tlf\ncr\rcrlf\r\n", "]]>", "äöü €"} {
		var b bytes.Buffer
		b.WriteString(`<e a="`)
		EscapeAttr(&b, s)
		b.WriteString(`">`)
		EscapeText(&b, s)
		b.WriteString(`</e>`)
		doc, err := ParseBytes(b.Bytes(), DefaultLimits())
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got := doc.Root().SelectAttrValue("a", ""); got != s {
			t.Errorf("attribute %q reads back as %q", s, got)
		}
		if got := doc.Root().Text(); got != s {
			t.Errorf("text %q reads back as %q", s, got)
		}
		c, err := Canonicalize(doc.Root(), C14N10)
		if err != nil || !bytes.Equal(c, b.Bytes()) {
			t.Errorf("%q: canonical form\n%s\ndiffers from\n%s (%v)", s, c, b.Bytes(), err)
		}
	}
}

// TestC14NChunks canonicalizes a document many output chunks long, with
// texts and attribute values longer than a chunk and elements with few and
// many attributes out of order, and checks the kept
// output against libxml2 and every digest against the kept output: the
// digest is over exactly the octets returned, whether they are kept or
// only hashed.
func TestC14NChunks(t *testing.T) {
	xmllint := certstest.NeedTool(t, "xmllint")
	long := strings.Repeat("lang & <kurz> \r\t", canonChunk/4)
	var b strings.Builder
	b.WriteString(`<r xmlns="urn:d" xmlns:a="urn:a" xml:lang="de"><a:x a:k="` + strings.ReplaceAll(strings.ReplaceAll(long, "&", "&amp;"), "<", "&lt;") + `">`)
	// Attributes out of order, few and many (both ways of sorting).
	for _, n := range []int{1, 2, 4, 5, 20} {
		b.WriteString(`<a:m xmlns:z="urn:0"`)
		for j := n; j > 0; j-- {
			fmt.Fprintf(&b, ` k%d="%d" a:k%d="" z:k%d="%d"`, j, j, j, j, j)
		}
		b.WriteString(`/>`)
	}
	for i := 0; b.Len() < 5*canonChunk; i++ {
		fmt.Fprintf(&b, `<a:i n="%d" xml:lang="en">Zeile %d &amp; mehr</a:i>`, i, i)
	}
	b.WriteString(`<t>` + strings.ReplaceAll(strings.ReplaceAll(long, "&", "&amp;"), "<", "&lt;") + `</t></a:x></r>`)
	path := filepath.Join(t.TempDir(), "big.xml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := mustParse(t, b.String())
	for _, m := range c14nMethods {
		t.Run(m.name, func(t *testing.T) {
			want, err := exec.Command(xmllint, m.xmllintFlag, path).Output()
			if err != nil {
				t.Fatalf("xmllint: %v", err)
			}
			got, err := CanonicalizeDocument(doc, C14NOptions{Method: m.method})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("differs from xmllint %s (%d and %d octets)", m.xmllintFlag, len(got), len(want))
			}
			x := doc.Root().SelectElement("a:x")
			kept, err := CanonicalizeWith(x, C14NOptions{Method: m.method})
			if err != nil {
				t.Fatal(err)
			}
			wantSum := sha256.Sum256(kept)
			for _, keep := range []bool{false, true} {
				h := sha256.New()
				out, err := canonicalizeElement(x, C14NOptions{Method: m.method}, h, keep)
				if err != nil {
					t.Fatal(err)
				}
				if keep != (out != nil) || keep && !bytes.Equal(out, kept) {
					t.Fatalf("keep=%v: output differs from CanonicalizeWith", keep)
				}
				if !bytes.Equal(h.Sum(nil), wantSum[:]) {
					t.Fatalf("keep=%v: digest is not over the canonical octets", keep)
				}
				_, err = canonicalizeElement(x, C14NOptions{Method: m.method, MaxBytes: int64(len(kept)) - 1}, h, keep)
				if !errors.Is(err, ErrCanonicalizationLimit) {
					t.Fatalf("keep=%v, one octet under the limit: got %v", keep, err)
				}
			}
		})
	}
}

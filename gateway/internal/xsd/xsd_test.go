package xsd_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
)

// A schema with an include and an import, as the XJustiz files are built.
var testFS = fstest.MapFS{
	"main.xsd": {Data: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" xmlns:c="urn:c"
           targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:include schemaLocation="types.xsd"/>
  <xs:import namespace="urn:c" schemaLocation="sub/common.xsd"/>
  <xs:element name="order">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="id" type="t:uuid"/>
        <xs:element name="qty" type="xs:positiveInteger" maxOccurs="unbounded"/>
        <xs:element name="note" type="c:short" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>`)},
	"types.xsd": {Data: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <xs:simpleType name="uuid">
    <xs:restriction base="xs:string">
      <xs:pattern value="[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/>
    </xs:restriction>
  </xs:simpleType>
</xs:schema>`)},
	"sub/common.xsd": {Data: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:c">
  <xs:simpleType name="short">
    <xs:restriction base="xs:string"><xs:maxLength value="5"/></xs:restriction>
  </xs:simpleType>
</xs:schema>`)},
}

const validDoc = `<?xml version="1.0" encoding="UTF-8"?>
<order xmlns="urn:t">
  <id>0f8fad5b-d9cb-469f-a165-70867728950e</id>
  <qty>1</qty>
  <note>ok</note>
</order>
`

// brokenDocs are well-formed documents with exactly one schema error each.
var brokenDocs = map[string]string{
	"bad-pattern":    strings.Replace(validDoc, "0f8fad5b", "0F8FAD5X", 1),
	"zero-qty":       strings.Replace(validDoc, "<qty>1</qty>", "<qty>0</qty>", 1),
	"missing-qty":    strings.Replace(validDoc, "<qty>1</qty>", "", 1),
	"note-too-long":  strings.Replace(validDoc, "<note>ok</note>", "<note>too long</note>", 1),
	"unknown-root":   `<?xml version="1.0"?>` + "\n<bill xmlns=\"urn:t\"/>\n",
	"wrong-ns":       strings.Replace(validDoc, `xmlns="urn:t"`, `xmlns="urn:x"`, 1),
	"extra-element":  strings.Replace(validDoc, "<note>ok</note>", "<note>ok</note><x/>", 1),
	"text-in-parent": strings.Replace(validDoc, "<qty>1</qty>", "<qty>1</qty>stray", 1),
}

func compile(t testing.TB) *xsd.Schema {
	t.Helper()
	s, err := xsd.Compile(testFS, "main.xsd")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestValidDocument(t *testing.T) {
	if err := compile(t).Validate([]byte(validDoc), xsd.Limits{}); err != nil {
		t.Fatal(err)
	}
}

// TestSameVerdictAsXmllint runs xmllint --noout --schema, the peer, on
// every document and expects the same verdict and libxml2's same message
// with the same line.
func TestSameVerdictAsXmllint(t *testing.T) {
	xmllint := certstest.NeedTool(t, "xmllint")
	dir := t.TempDir()
	for name, f := range testFS {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := compile(t)
	docs := map[string]string{"valid": validDoc}
	for k, v := range brokenDocs {
		docs[k] = v
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".xml")
			if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			out, lintErr := exec.Command(xmllint, "--noout", "--nonet", "--schema", filepath.Join(dir, "main.xsd"), p).CombinedOutput()
			err := s.Validate([]byte(doc), xsd.Limits{})
			if (lintErr == nil) != (err == nil) {
				t.Fatalf("verdicts differ: xmllint %v (%s), binding %v", lintErr, out, err)
			}
			if err == nil {
				return
			}
			if !errors.Is(err, xsd.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			var e *xsd.Error
			if !errors.As(err, &e) || len(e.Problems) != 1 {
				t.Fatalf("want one problem, got %#v", err)
			}
			p0 := e.Problems[0]
			want := fmt.Sprintf("%s:%d: ", p, p0.Line)
			if !strings.Contains(string(out), want) || !strings.Contains(string(out), p0.Message) {
				t.Errorf("xmllint said %q; binding said line %d %q", out, p0.Line, p0.Message)
			}
		})
	}
}

func TestMalformedHasLine(t *testing.T) {
	err := compile(t).Validate([]byte("<order xmlns=\"urn:t\">\n<id>x</id>\n<qty>1</qtx>\n</order>"), xsd.Limits{})
	var e *xsd.Error
	if !errors.Is(err, xsd.ErrMalformed) || !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if e.Problems[0].Line != 3 {
		t.Errorf("line %d, want 3: %v", e.Problems[0].Line, e)
	}
}

// TestXXEFileRefused: an external entity naming a local file is never
// read; the document type declaration alone refuses the document.
func TestXXEFileRefused(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOPSECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := `<?xml version="1.0"?>
<!DOCTYPE order [<!ENTITY x SYSTEM "file://` + secret + `">]>
<order xmlns="urn:t"><id>&x;</id><qty>1</qty></order>`
	err := compile(t).Validate([]byte(doc), xsd.Limits{})
	if !errors.Is(err, xsd.ErrDoctype) {
		t.Fatalf("got %v, want ErrDoctype", err)
	}
	if strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatal("file content leaked into the error")
	}
}

// TestExternalDTDNotFetched: a DOCTYPE naming a network DTD is refused
// without a connection (the loader refuses and NONET is set).
func TestExternalDTDNotFetched(t *testing.T) {
	doc := `<?xml version="1.0"?>
<!DOCTYPE order SYSTEM "http://127.0.0.1:9/evil.dtd">
<order xmlns="urn:t"><id>0f8fad5b-d9cb-469f-a165-70867728950e</id><qty>1</qty></order>`
	if err := compile(t).Validate([]byte(doc), xsd.Limits{}); !errors.Is(err, xsd.ErrDoctype) {
		t.Fatalf("got %v, want ErrDoctype", err)
	}
}

// TestBillionLaughsRefused: entity declarations refuse the document,
// quickly.
func TestBillionLaughsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><!DOCTYPE order [<!ENTITY l0 "lol">`)
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&b, `<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">`, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString(`]><order xmlns="urn:t"><id>&l12;</id><qty>1</qty></order>`)
	start := time.Now()
	err := compile(t).Validate([]byte(b.String()), xsd.Limits{})
	if !errors.Is(err, xsd.ErrDoctype) && !errors.Is(err, xsd.ErrMalformed) {
		t.Fatalf("got %v, want ErrDoctype or ErrMalformed", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestXIncludeNotProcessed: an xi:include element stays an element the
// schema does not allow; the file it names is not read.
func TestXIncludeNotProcessed(t *testing.T) {
	doc := `<?xml version="1.0"?>
<order xmlns="urn:t" xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="/etc/hostname" parse="text"/><qty>1</qty></order>`
	err := compile(t).Validate([]byte(doc), xsd.Limits{})
	if !errors.Is(err, xsd.ErrInvalid) || !strings.Contains(err.Error(), "XInclude}include") {
		t.Fatalf("got %v, want the include element rejected by the schema", err)
	}
}

// TestSchemaImportOutsideRefused: a schema that imports from the file
// system or the network does not compile.
func TestSchemaImportOutsideRefused(t *testing.T) {
	for name, loc := range map[string]string{
		"file":     "/etc/passwd",
		"relative": "../../../../etc/passwd",
		"network":  "http://127.0.0.1:9/x.xsd",
	} {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"main.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <xs:include schemaLocation="` + loc + `"/>
  <xs:element name="x"/>
</xs:schema>`)}}
			_, err := xsd.Compile(fsys, "main.xsd")
			if !errors.Is(err, xsd.ErrCompile) || !strings.Contains(err.Error(), "external resource refused") {
				t.Fatalf("got %v, want ErrCompile with the refusal", err)
			}
		})
	}
}

// TestCatalogResolvesAbsoluteLocations: an import by absolute URL
// resolves through the catalog to a file of the set, whose own relative
// include resolves inside the set; without the entry the import is
// refused; the address itself is never asked, though a server answers
// there.
func TestCatalogResolvesAbsoluteLocations(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "no", http.StatusNotFound)
	}))
	defer srv.Close()
	loc := srv.URL + "/schemata/c/1_0/common.xsd"
	fsys := fstest.MapFS{
		"main.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:c="urn:c" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:import namespace="urn:c" schemaLocation="` + loc + `"/>
  <xs:element name="x" type="c:short"/>
</xs:schema>`)},
		"lib/common.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:c">
  <xs:include schemaLocation="more.xsd"/>
</xs:schema>`)},
		"lib/more.xsd": {Data: []byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:c">
  <xs:simpleType name="short"><xs:restriction base="xs:string"><xs:maxLength value="3"/></xs:restriction></xs:simpleType>
</xs:schema>`)},
	}
	s, err := xsd.CompileCatalog(fsys, "main.xsd", xsd.Catalog{loc: "lib/common.xsd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate([]byte(`<x xmlns="urn:t">abc</x>`), xsd.Limits{}); err != nil {
		t.Fatalf("valid document: %v", err)
	}
	if err := s.Validate([]byte(`<x xmlns="urn:t">abcd</x>`), xsd.Limits{}); !errors.Is(err, xsd.ErrInvalid) {
		t.Fatalf("too long for the imported type: %v", err)
	}
	for name, cat := range map[string]xsd.Catalog{
		"no catalog":             nil,
		"other location":         {srv.URL + "/other.xsd": "lib/common.xsd"},
		"entry names no file":    {loc: "lib/missing.xsd"},
		"entry outside the set":  {loc: "../lib/common.xsd"},
		"entry is a set's own":   {"embedded-xsd:///lib/common.xsd": "lib/common.xsd"},
		"entry is relative name": {"common.xsd": "lib/common.xsd"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := xsd.CompileCatalog(fsys, "main.xsd", cat); !errors.Is(err, xsd.ErrCompile) {
				t.Fatalf("got %v, want ErrCompile", err)
			}
		})
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("the schema location was fetched %d times", n)
	}
}

func TestCompileMissingEntry(t *testing.T) {
	if _, err := xsd.Compile(testFS, "nope.xsd"); !errors.Is(err, xsd.ErrCompile) {
		t.Fatalf("got %v, want ErrCompile", err)
	}
}

func TestTooLarge(t *testing.T) {
	err := compile(t).Validate([]byte(validDoc), xsd.Limits{MaxBytes: 10})
	if !errors.Is(err, xsd.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestEmpty(t *testing.T) {
	if err := compile(t).Validate(nil, xsd.Limits{}); !errors.Is(err, xsd.ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}

func TestProblemsCapped(t *testing.T) {
	doc := strings.Replace(validDoc, "<qty>1</qty>", strings.Repeat("<qty>0</qty>", 7), 1)
	err := compile(t).Validate([]byte(doc), xsd.Limits{MaxProblems: 2})
	var e *xsd.Error
	if !errors.As(err, &e) || len(e.Problems) != 2 || e.Total != 7 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(e.Error(), "; and 4 more") && len(e.Problems) > 3 {
		t.Errorf("message %q", e.Error())
	}
}

// TestConcurrentUse validates from many goroutines against one schema;
// each gets its own verdict and its own messages.
func TestConcurrentUse(t *testing.T) {
	s := compile(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				bad := (g+i)%2 == 1
				doc := validDoc
				if bad {
					doc = brokenDocs["zero-qty"]
				}
				err := s.Validate([]byte(doc), xsd.Limits{})
				var e *xsd.Error
				switch {
				case !bad && err != nil:
					errs <- err
				case bad && (!errors.As(err, &e) || len(e.Problems) != 1 || e.Problems[0].Line != 4):
					errs <- fmt.Errorf("broken doc: %v", err)
				}
			}
		}()
	}
	// Compiles may run while validations do.
	for range 4 {
		compile(t)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkValidate(b *testing.B) {
	s := compile(b)
	doc := []byte(validDoc)
	for b.Loop() {
		if err := s.Validate(doc, xsd.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

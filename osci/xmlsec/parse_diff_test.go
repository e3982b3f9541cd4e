package xmlsec

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// parserDifferences are the inputs encoding/xml accepts although XML 1.0
// forbids them; the own parser refuses them with ErrSyntax and an error
// text naming the reason. Every other input is accepted or refused by both
// parsers alike, and accepted input yields the same tree.
var parserDifferences = []struct {
	reason, example, why string
}{
	{
		"no whitespace before an attribute", `<r a="1"b="2"/>`,
		"XML 1.0 [40] STag requires S before every attribute; encoding/xml reads on without it",
	},
	{
		"character reference to a surrogate", `<r>&#xD800;</r>`,
		"a surrogate is no Char (XML 1.0 WFC: Legal Character); encoding/xml silently turns it into U+FFFD",
	},
}

// allowedDifference reports whether err is the own parser's refusal of one
// of the listed differences.
func allowedDifference(err error) bool {
	for _, d := range parserDifferences {
		if errors.Is(err, ErrSyntax) && strings.Contains(err.Error(), d.reason) {
			return true
		}
	}
	return false
}

// parseEdgeCases exercise every token kind and rule of the parser; they are
// the table of TestParseDifferential and seeds of FuzzParseDifferential.
var parseEdgeCases = []string{
	``, ` `, `<`, `<r`, `<r>`, `<r/>`, `<r/>` + "\n", "\n<r/>\n", `<r></r>`, `<r ></r >`, "<r\t/>", `<r/ >`,
	`<r x="1"/>`, `<r x='1'/>`, `<r x = "1" />`, `<r x="1"y="2"/>`, `<r x=1/>`, `<r x/>`, `<r x="1/>`, `<r x='"'/>`,
	`<r x="'"/>`, `<r x="a` + "\t" + `b` + "\n" + `c"/>`, `<r x="&#9;&#10;&#13;&#32;"/>`, `<r x="<"/>`, `<r x="]]>"/>`,
	`<r x="&lt;&gt;&amp;&apos;&quot;"/>`, `<r x="&foo;"/>`, `<r x="&#0;"/>`, `<r x="&"/>`, `<r x="` + "\x01" + `"/>`,
	`<r>a&lt;b&gt;c&amp;d&apos;e&quot;f</r>`, `<r>&#65;&#x41;&#X41;&#x;&#;</r>`, `<r>&#65</r>`, `<r>&#0000065;</r>`,
	`<r>&#x10FFFF;</r>`, `<r>&#x110000;</r>`, `<r>&#99999999999999999999;</r>`, `<r>&#xFFFE;</r>`, `<r>&#xFFFD;</r>`,
	`<r>&#xD800;</r>`, `<r>&#1;</r>`, `<r>&#9;&#10;&#13;</r>`, `<r>&lt</r>`, `<r>&ltx;</r>`, `<r>& </r>`,
	`<r>]]></r>`, `<r>]]]></r>`, `<r>]] ></r>`, `<r>]&#93;></r>`, `<r>` + "\x01" + `</r>`, "<r>\uFFFE</r>", "<r>\uFFFF</r>",
	"<r>\uFFFD\u00e4\U0001F600</r>", "<r>\t\n</r>", "<r>a\r\nb\rc</r>", "<r x=\"a\r\nb\rc\"/>", "\ufeff<r/>",
	`<r><![CDATA[]]></r>`, `<r><![CDATA[<x>&amp;]]]]></r>`, `<r><![CDATA[a]]>b<![CDATA[c]]></r>`, `<r><![CDATA[x</r>`,
	`<r><![CDAT[x]]></r>`, "<r><![CDATA[\x01]]></r>", `<![CDATA[ ]]><r/>`, `<![CDATA[x]]><r/>`, `<r/><![CDATA[]]>`,
	`<r><!----></r>`, `<r><!-- a - b --></r>`, `<r><!-- a -- b --></r>`, `<r><!-- a ---></r>`, `<r><!---></r>`,
	`<r><!-x--></r>`, `<!-- c --><r/><!-- d -->`, "<r><!--\x01--></r>", `<r><!--`, `<r><!-`, `<r><!`,
	`<!DOCTYPE r><r/>`, `<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>`, `<r/><!DOCTYPE r>`, `<!DOCTYPE`, `<!ELEMENT r ANY><r/>`,
	`<?xml version="1.0"?><r/>`, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><r/>`, `<?xml version="1.1"?><r/>`,
	`<?xml version='1.0' encoding='utf-8'?><r/>`, `<?xml encoding="latin1"?><r/>`, `<?xml version = "1.1"?><r/>`,
	`<?xml version=version="1.1"?><r/>`, `<?xml foo?><r/>`, `<?xml?><r/>`, ` <?xml version="1.0"?><r/>`,
	`<r><?xml version="1.0"?></r>`, `<?xml version="1.0"?>`, `<?xml`, `<?xml version="1.0"`, `<r><?pi?></r>`,
	`<r><?pi data?></r>`, `<r><?pi  data ?? ?></r>`, `<r><?pi"x"?></r>`, `<?pi x?><r/><?pj y?>`, `<r><?XML x?></r>`,
	`<r><?xml-stylesheet href="x"?></r>`, `<r><?a:b:c?></r>`, `<r><??></r>`, `<r><?1a?></r>`, `<r><?pi`,
	`<a:r xmlns:a="urn:a"/>`, `<a:r/>`, `<r a:x="1"/>`, `<:r/>`, `<r:/>`, `<a:b:c xmlns:a="urn:a"/>`, `<r :x="1"/>`,
	`<r x:="1" xmlns:x="urn:x"/>`, `<a:r xmlns:a="urn:a" xmlns:b="urn:a" a:x="1" b:x="2"/>`, `<r x="1" x="2"/>`,
	`<r xmlns:a="urn:a" xmlns:a="urn:b"/>`, `<r xmlns="urn:a" xmlns="urn:a"/>`, `<r xmlns:p=""/>`, `<r xmlns=""/>`,
	`<r xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="de"/>`, `<r xmlns:xml="urn:x"/>`,
	`<r xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, `<r xmlns:xmlns="urn:x"/>`, `<xmlns:r/>`, `<xmlns/>`,
	`<r xmlns:p="http://www.w3.org/2000/xmlns/"/>`, `<p:r xmlns:p="urn:p"><c xmlns:p="urn:q"><p:d/></c><p:e/></p:r>`,
	`<r><c xmlns:p="urn:p"/><p:d/></r>`, `<a:1 xmlns:a="urn:a"/>`, `<a:-b xmlns:a="urn:a"/>`, `<r a.b-c_d="1"/>`,
	`<1r/>`, `<-r/>`, `<.r/>`, `<_r/>`, `<r1.-_/>`, "<\u00e4/>", "<r\u00e4\u00b7/>", "<\u00b7r/>", "<r\u00a0/>",
	"<r \u00e4=\"1\"/>", "<\u4e00:\u4e01 xmlns:\u4e00=\"urn:x\"/>", "<r>\u00e4</r\u00e4>", "<\U00010000/>",
	`<a></b>`, `<a></a >`, `<a></a x>`, `<a></a`, `</a>`, `<a><b></a></b>`, `<a/></a>`, `<a><b/>`, `<a/><b/>`,
	`text<a/>`, `<a/>text`, `<a/>&#32;`, `<a/>&#10;`, `&amp;<a/>`, `<a/>]]>`, `<a>x</a>` + "\t \n",
	`<r><a>1</a>2<b>3<c/>4</b>5</r>`, `<r>` + strings.Repeat(`<a x="1">t</a>`, 40) + `</r>`,
	`<r>` + strings.Repeat(`<a/>`, 20) + `</r>`, `<r>` + strings.Repeat(`<a/>`, 300) + `</r>`,
	`<r ` + attrs(30) + `/>`, `<r ` + attrs(20) + ` ab="2"/>`,
	`<r xml:space="preserve" xml:lang="de"><c xml:lang="en"/></r>`, `<r xml:id="x"/>`, `<r xml:foo="1"/>`,
}

func sentinelOf(err error) error {
	for _, s := range []error{ErrDoctype, ErrProcInst, ErrDuplicateAttr, ErrUndeclaredPrefix, ErrBadNamespace,
		ErrMultipleRoots, ErrNoRoot, ErrEncoding, ErrTooLarge, ErrTooDeep, ErrTooManyElements, ErrTooManyAttrs,
		ErrTooManyNamespace, ErrSyntax} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// sameSentinel reports whether both parsers refuse with the same error,
// but for two exceptions: encoding/xml reads a declaration to its end
// before it is refused, so an unterminated one is a syntax error there;
// and a listed difference, found earlier, may hide the other refusal.
func sameSentinel(oldErr, newErr error) bool {
	o, n := sentinelOf(oldErr), sentinelOf(newErr)
	return o == n || o == ErrSyntax && n == ErrDoctype || allowedDifference(newErr)
}

// compareParsers parses in with both parsers and fails t unless they agree.
func compareParsers(t *testing.T, in []byte, lim Limits, strictSentinel bool) {
	t.Helper()
	oldDoc, oldErr := oldParseBytes(in, lim)
	newDoc, newErr := ParseBytes(in, lim)
	if newErr != nil && sentinelOf(newErr) == nil {
		t.Fatalf("error without a parse sentinel: %v", newErr)
	}
	switch {
	case oldErr != nil && newErr == nil:
		t.Fatalf("accepted what encoding/xml refuses (%v):\n%q", oldErr, in)
	case oldErr == nil && newErr != nil:
		if !allowedDifference(newErr) {
			t.Fatalf("refused what encoding/xml accepts: %v\n%q", newErr, in)
		}
		return
	case oldErr != nil:
		if strictSentinel && !sameSentinel(oldErr, newErr) {
			t.Fatalf("different refusal: encoding/xml %v, own %v\n%q", oldErr, newErr, in)
		}
		return
	}
	if err := sameTree(&oldDoc.Element, &newDoc.Element); err != nil {
		t.Fatalf("trees differ: %v\n%q", err, in)
	}
	checkSerialize(t, newDoc)
	for _, f := range []func(*etree.Document) ([]byte, error){
		func(d *etree.Document) ([]byte, error) {
			var b bytes.Buffer
			err := Serialize(&b, d)
			return b.Bytes(), err
		},
		func(d *etree.Document) ([]byte, error) { return CanonicalizeDocument(d, C14NOptions{Method: C14N10}) },
		func(d *etree.Document) ([]byte, error) {
			return CanonicalizeDocument(d, C14NOptions{Method: ExcC14N10})
		},
	} {
		o, oErr := f(oldDoc)
		n, nErr := f(newDoc)
		if !bytes.Equal(o, n) || (oErr == nil) != (nErr == nil) {
			t.Fatalf("output differs:\n%q (%v)\n%q (%v)", o, oErr, n, nErr)
		}
	}
}

// sameTree compares two trees node by node, including the parent and
// index links etree keeps.
func sameTree(a, b *etree.Element) error {
	if a.Space != b.Space || a.Tag != b.Tag {
		return fmt.Errorf("element %s:%s vs %s:%s", a.Space, a.Tag, b.Space, b.Tag)
	}
	if len(a.Attr) != len(b.Attr) || (a.Attr == nil) != (b.Attr == nil) || (a.Child == nil) != (b.Child == nil) {
		return fmt.Errorf("<%s>: attribute or child lists differ", a.FullTag())
	}
	for i := range a.Attr {
		x, y := a.Attr[i], b.Attr[i]
		if x.Space != y.Space || x.Key != y.Key || x.Value != y.Value || y.Element() != b {
			return fmt.Errorf("<%s>: attribute %d: %s=%q vs %s=%q", a.FullTag(), i, x.FullKey(), x.Value, y.FullKey(), y.Value)
		}
	}
	if len(a.Child) != len(b.Child) {
		return fmt.Errorf("<%s>: %d children vs %d", a.FullTag(), len(a.Child), len(b.Child))
	}
	for i := range a.Child {
		x, y := a.Child[i], b.Child[i]
		if y.Parent() != b || y.Index() != i || x.Index() != i {
			return fmt.Errorf("<%s>: child %d: parent or index wrong", a.FullTag(), i)
		}
		var err error
		switch x := x.(type) {
		case *etree.Element:
			y, ok := y.(*etree.Element)
			if !ok {
				return fmt.Errorf("<%s>: child %d: element vs %T", a.FullTag(), i, a.Child[i])
			}
			err = sameTree(x, y)
		case *etree.CharData:
			y, ok := y.(*etree.CharData)
			if !ok || x.Data != y.Data || x.IsCData() != y.IsCData() || x.IsWhitespace() != y.IsWhitespace() {
				err = fmt.Errorf("<%s>: child %d: text %q vs %#v", a.FullTag(), i, x.Data, b.Child[i])
			}
		case *etree.Comment:
			y, ok := y.(*etree.Comment)
			if !ok || x.Data != y.Data {
				err = fmt.Errorf("<%s>: child %d: comment %q vs %#v", a.FullTag(), i, x.Data, b.Child[i])
			}
		case *etree.ProcInst:
			y, ok := y.(*etree.ProcInst)
			if !ok || x.Target != y.Target || x.Inst != y.Inst {
				err = fmt.Errorf("<%s>: child %d: pi %q %q vs %#v", a.FullTag(), i, x.Target, x.Inst, b.Child[i])
			}
		default:
			err = fmt.Errorf("<%s>: child %d: unexpected %T", a.FullTag(), i, x)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func diffLimits() []Limits {
	small := Limits{MaxElements: 3, MaxDepth: 2, MaxAttributes: 2, MaxNamespaceDecls: 2, MaxBytes: 200}
	return []Limits{DefaultLimits(), fuzzLimits(), small}
}

// TestParseDifferential: the own parser builds the same tree as the
// encoding/xml path it replaced, and refuses alike, on the edge cases, the
// C14N corpus and the test messages, under several limits.
func TestParseDifferential(t *testing.T) {
	inputs := append([]string(nil), parseEdgeCases...)
	files, _ := filepath.Glob("testdata/c14n/*.xml")
	for _, f := range files {
		inputs = append(inputs, string(certstest.ReadFile(t, f)))
	}
	inputs = append(inputs, osciMessage(nil), benchMessage(8<<10), string(signedMessage(t, []string{"#body"}, SignOptions{})))
	for i, in := range inputs {
		for j, lim := range diffLimits() {
			t.Run(fmt.Sprintf("%03d-%d", i, j), func(t *testing.T) {
				compareParsers(t, []byte(in), lim, true)
			})
		}
	}
}

// TestParserDifferencesListed: each listed difference is real (encoding/xml
// accepts the example) and refused by the own parser for its reason.
func TestParserDifferencesListed(t *testing.T) {
	for _, d := range parserDifferences {
		if _, err := oldParseBytes([]byte(d.example), DefaultLimits()); err != nil {
			t.Errorf("%s: encoding/xml refuses %q too (%v): not a difference", d.reason, d.example, err)
		}
		_, err := ParseBytes([]byte(d.example), DefaultLimits())
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), d.reason) {
			t.Errorf("%s: got %v", d.reason, err)
		}
	}
}

// FuzzParseDifferential: on any input, the own parser and the encoding/xml
// path accept and refuse alike (but for parserDifferences) and build the
// same tree, serialization and canonical forms.
// Its seeds (testdata/fuzz) are the C14N corpus and parseEdgeCases.
func FuzzParseDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range diffLimits() {
			compareParsers(t, data, lim, true)
		}
	})
}

// etreeSerialize is Serialize as it was: etree's own writer.
func etreeSerialize(doc *etree.Document) []byte {
	d := etree.NewDocument()
	d.Child = doc.Child // shares the tokens; WriteTo only reads them
	d.WriteSettings = doc.WriteSettings
	d.WriteSettings.CanonicalAttrVal = true
	d.WriteSettings.CanonicalText = true
	d.WriteSettings.AttrSingleQuote = false
	var b bytes.Buffer
	if _, err := d.WriteTo(&b); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func checkSerialize(t *testing.T, doc *etree.Document) {
	t.Helper()
	for _, endTags := range []bool{false, true} {
		doc.WriteSettings.CanonicalEndTags = endTags
		var b bytes.Buffer
		if err := Serialize(&b, doc); err != nil {
			t.Fatal(err)
		}
		if want := etreeSerialize(doc); !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("Serialize differs from etree's writer:\n%q\n%q", b.Bytes(), want)
		}
	}
	doc.WriteSettings.CanonicalEndTags = false
}

// TestSerializeMatchesEtree: the own writer writes what etree's writer
// wrote, for parsed trees and for trees built by code with every kind of
// token and characters XML does not allow.
func TestSerializeMatchesEtree(t *testing.T) {
	for _, in := range parseEdgeCases {
		if doc, err := ParseBytes([]byte(in), fuzzLimits()); err == nil {
			checkSerialize(t, doc)
		}
	}
	checkSerialize(t, mustParse(t, osciMessage(nil)))
	checkSerialize(t, mustParse(t, benchMessage(5*serialChunk))) // written in chunks
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0"`)
	doc.CreateDirective("DOCTYPE r")
	doc.CreateComment("a -- b -")
	r := doc.CreateElement("p:r")
	r.CreateAttr("xmlns:p", "urn:p")
	weird := "a\x00b\x01\t\n\r&<>\"'\xff\xfe\uFFFD\uFFFE\uFFFF\U0001F600]]>?>--é\xc3(\xc0\x80\xdf"
	r.CreateAttr("a", weird)
	r.CreateText(weird)
	r.CreateCData(weird)
	r.CreateComment(weird)
	r.CreateProcInst("pi", weird)
	r.CreateDirective(weird)
	r.CreateElement("empty")
	r.CreateElement("q:x").CreateAttr("q:y", "")
	checkSerialize(t, doc)
}

// TestSerializeWriteError: a writer's error ends the output and is
// returned; what was written before is the start of the document.
func TestSerializeWriteError(t *testing.T) {
	doc := mustParse(t, benchMessage(5*serialChunk))
	full := serialize(t, doc)
	w := &failingWriter{n: 2*serialChunk + 1}
	if err := Serialize(w, doc); !errors.Is(err, errWriterFull) {
		t.Fatalf("got %v, want %v", err, errWriterFull)
	}
	if !bytes.HasPrefix(full, w.b.Bytes()) || w.b.Len() == 0 || w.b.Len() > w.n {
		t.Fatalf("wrote %d octets, not a prefix of at most %d", w.b.Len(), w.n)
	}
}

var errWriterFull = errors.New("writer full")

// failingWriter takes at most n octets and fails every write beyond them.
type failingWriter struct {
	b bytes.Buffer
	n int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.n {
		return 0, errWriterFull
	}
	return w.b.Write(p)
}

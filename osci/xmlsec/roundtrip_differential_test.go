package xmlsec

import (
	"bytes"
	"errors"
	"testing"
)

// TestParserRoundTripDifferential (CVE-2020-29509/-29510/-29511,
// CVE-2023-34205, CVE-2024-47832): names and namespace declarations that
// other parsers read differently are refused; what is accepted survives
// serialize -> parse with an identical canonical form.
func TestParserRoundTripDifferential(t *testing.T) {
	rejected := []struct {
		name, in string
		want     error
	}{
		{"empty prefix element", `<:Element/>`, ErrSyntax},
		{"empty prefix attribute", `<r :attr="1"/>`, ErrSyntax},
		{"colon in local name", `<a:b:c xmlns:a="urn:a"/>`, ErrSyntax},
		{"empty local name", `<a: xmlns:a="urn:a"/>`, ErrSyntax},
		{"xmlns prefixed element", `<xmlns:r/>`, ErrBadNamespace},
		{"prefix bound to xmlns namespace", `<r xmlns:p="http://www.w3.org/2000/xmlns/"/>`, ErrBadNamespace},
		{"prefix undeclared by empty value", `<p:r xmlns:p="urn:p"><p:c xmlns:p=""/></p:r>`, ErrBadNamespace},
		{"duplicate via two prefixes", `<r xmlns:a="urn:x" xmlns:b="urn:x" a:Id="1" b:Id="2"/>`, ErrDuplicateAttr},
		{"duplicate xmlns", `<r xmlns:a="urn:x" xmlns:a="urn:y"/>`, ErrDuplicateAttr},
		{"directive after root", `<r/><!DOCTYPE r>`, ErrDoctype},
		{"processing instruction", `<r><?xml-stylesheet href="x"?></r>`, ErrProcInst},
		{"XML declaration in upper case", `<r><?XML version="1.0"?></r>`, ErrProcInst},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseBytes([]byte(tc.in), DefaultLimits()); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	accepted := []string{
		`<r><!-- <!DOCTYPE x> --><c>&lt;!DOCTYPE&gt;</c></r>`,
		`<r a="&#9;&#10;&#13;&quot;&lt;&gt;&amp;">&#13;]]&gt;<![CDATA[<x>]]></r>`,
		`<p:r xmlns:p="urn:p" xmlns="urn:d"><c xmlns=""><p:d p:a="1" a="2"/></c></p:r>`,
		`<r xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:lang="de"/>`,
		osciMessage(nil),
	}
	for i, in := range accepted {
		t.Run("round trip "+string(rune('a'+i)), func(t *testing.T) {
			first := mustParse(t, in)
			c1, err := CanonicalizeDocument(first, C14NOptions{Method: C14N10})
			if err != nil {
				t.Fatal(err)
			}
			second := mustParse(t, string(serialize(t, first)))
			c2, err := CanonicalizeDocument(second, C14NOptions{Method: C14N10})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c1, c2) {
				t.Fatalf("canonical form changed across serialize/parse:\n%s\n%s", c1, c2)
			}
		})
	}
}

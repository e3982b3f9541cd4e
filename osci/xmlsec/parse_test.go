package xmlsec

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseRejects(t *testing.T) {
	small := DefaultLimits()
	small.MaxBytes = 64
	small.MaxElements = 3
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error
	}{
		{"doctype", `<!DOCTYPE r><r/>`, Limits{}, ErrDoctype},
		{"entity declaration", `<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>`, Limits{}, ErrDoctype},
		{"undeclared entity", `<r>&e;</r>`, Limits{}, ErrSyntax},
		{"processing instruction", `<r><?php x?></r>`, Limits{}, ErrProcInst},
		{"xml declaration not first", ` <?xml version="1.0"?><r/>`, Limits{}, ErrSyntax},
		{"duplicate attribute", `<r Id="a" Id="b"/>`, Limits{}, ErrDuplicateAttr},
		{"duplicate expanded attribute", `<r xmlns:a="urn:x" xmlns:b="urn:x" a:k="1" b:k="2"/>`, Limits{}, ErrDuplicateAttr},
		{"duplicate among many attributes", `<r Id="a"` + attrs(20) + ` Id="b"/>`, Limits{}, ErrDuplicateAttr},
		{"duplicate expanded among many attributes", `<r xmlns:a="urn:x" xmlns:b="urn:x" a:k="1"` + attrs(20) + ` b:k="2"/>`, Limits{}, ErrDuplicateAttr},
		{"undeclared prefix among many attributes", `<r` + attrs(20) + ` p:a="1"/>`, Limits{}, ErrUndeclaredPrefix},
		{"undeclared element prefix", `<p:r/>`, Limits{}, ErrUndeclaredPrefix},
		{"undeclared attribute prefix", `<r p:a="1"/>`, Limits{}, ErrUndeclaredPrefix},
		{"prefix out of scope", `<r><c xmlns:p="urn:p"/><p:d/></r>`, Limits{}, ErrUndeclaredPrefix},
		{"empty prefix name", `<:r/>`, Limits{}, ErrSyntax},
		{"colon attribute", `<r :a="1"/>`, Limits{}, ErrSyntax},
		{"two colons", `<a:b:c xmlns:a="urn:a"/>`, Limits{}, ErrSyntax},
		{"prefix undeclaration", `<r xmlns:p="urn:p"><c xmlns:p=""/></r>`, Limits{}, ErrBadNamespace},
		{"xmlns prefix declared", `<r xmlns:xmlns="urn:x"/>`, Limits{}, ErrBadNamespace},
		{"xml prefix rebound", `<r xmlns:xml="urn:x"/>`, Limits{}, ErrBadNamespace},
		{"xml namespace to other prefix", `<r xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, Limits{}, ErrBadNamespace},
		{"two roots", `<a/><b/>`, Limits{}, ErrMultipleRoots},
		{"trailing text", `<a/>junk`, Limits{}, ErrMultipleRoots},
		{"leading text", `junk<a/>`, Limits{}, ErrMultipleRoots},
		{"no root", `<!-- only -->`, Limits{}, ErrNoRoot},
		{"empty", ``, Limits{}, ErrNoRoot},
		{"unclosed", `<a><b></b>`, Limits{}, ErrSyntax},
		{"mismatched end", `<a></b>`, Limits{}, ErrSyntax},
		{"latin-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`, Limits{}, ErrEncoding},
		{"utf-16 declared", `<?xml version="1.0" encoding='UTF-16'?><r/>`, Limits{}, ErrEncoding},
		{"invalid utf-8", "<r>\xe4</r>", Limits{}, ErrEncoding},
		{"utf-16 bom", "\xff\xfe<\x00r\x00/\x00>\x00", Limits{}, ErrEncoding},
		{"too large", `<r>` + strings.Repeat("x", 100) + `</r>`, small, ErrTooLarge},
		{"too many elements", `<r><a/><b/><c/></r>`, small, ErrTooManyElements},
		{"too deep", strings.Repeat("<a>", 65) + strings.Repeat("</a>", 65), Limits{}, ErrTooDeep},
		{"too many attributes", `<r` + strings.Repeat(` a`+"x"+`="1"`, 1) + attrs(65) + `/>`, Limits{}, ErrTooManyAttrs},
		{"too many namespace declarations", nsDecls(1025), Limits{}, ErrTooManyNamespace},
		{"control character", "<r>\x01</r>", Limits{}, ErrSyntax},
		{"unescaped lt in attribute", `<r a="<"/>`, Limits{}, ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := ParseBytes([]byte(tc.in), tc.lim)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got (%v, %v), want %v", doc, err, tc.want)
			}
			if _, err := Parse(strings.NewReader(tc.in), tc.lim); !errors.Is(err, tc.want) {
				t.Fatalf("Parse: got %v, want %v", err, tc.want)
			}
		})
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(` a` + strings.Repeat("b", i) + `="1"`)
	}
	return b.String()
}

func nsDecls(n int) string {
	var b strings.Builder
	for i := 0; i < n; i += 50 {
		b.WriteString("<e")
		for j := i; j < i+50 && j < n; j++ {
			b.WriteString(` xmlns:p` + strings.Repeat("q", j%60) + string(rune('a'+j/60)) + `="urn:x"`)
		}
		b.WriteString(">")
	}
	for i := 0; i < n; i += 50 {
		b.WriteString("</e>")
	}
	return b.String()
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, in string
		lim      Limits
		check    func(t *testing.T, text, attr string)
	}{
		{"bom and declaration", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<r a=\"1\">x</r>\n", Limits{}, nil},
		{"comments everywhere", `<!--a--><r><!--b-->x</r><!--c-->`, Limits{}, nil},
		{"pi when allowed", `<?p x?><r><?q?></r>`, Limits{AllowProcInst: true}, nil},
		{"depth at limit", strings.Repeat("<a>", 64) + strings.Repeat("</a>", 64), Limits{}, nil},
		{"attribute whitespace normalized", "<r a=\"x\ty\r\nz\">1\r\n2\r3</r>", Limits{},
			func(t *testing.T, text, attr string) {
				if attr != "x y z" || text != "1\n2\n3" {
					t.Errorf("attr %q text %q", attr, text)
				}
			}},
		{"character references kept", `<r a="&#9;&#10;&#13;">&#13;</r>`, Limits{},
			func(t *testing.T, text, attr string) {
				if attr != "\t\n\r" || text != "\r" {
					t.Errorf("attr %q text %q", attr, text)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			orig := bytes.Clone(in)
			doc, err := ParseBytes(in, tc.lim)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, orig) {
				t.Error("ParseBytes modified its input")
			}
			if tc.check != nil {
				tc.check(t, doc.Root().Text(), doc.Root().SelectAttrValue("a", ""))
			}
		})
	}
}

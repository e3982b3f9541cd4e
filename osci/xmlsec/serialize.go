package xmlsec

import (
	"bufio"
	"io"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Serialize writes doc so that parsing the output again yields the same
// canonical form: attribute TAB/LF/CR and text CR are written as character
// references (etree's default would let a re-parse normalize them away).
// The output is byte for byte what etree's Document.WriteTo writes with
// CanonicalAttrVal, CanonicalText and double quotes (characters XML does
// not allow become U+FFFD there too); elements and text are written here
// in one pass, the rarer tokens by etree itself. doc is not modified.
func Serialize(w io.Writer, doc *etree.Document) error {
	s := doc.WriteSettings
	s.CanonicalAttrVal, s.CanonicalText, s.AttrSingleQuote = true, true, false
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, t := range doc.Child {
		writeToken(bw, t, &s)
	}
	return bw.Flush()
}

func writeToken(w *bufio.Writer, t etree.Token, s *etree.WriteSettings) {
	switch t := t.(type) {
	case *etree.Element:
		writeElement(w, t, s)
	case *etree.CharData:
		if t.IsCData() {
			t.WriteTo(w, s)
			return
		}
		writeEscaped(w, t.Data, &serialText)
	default:
		t.WriteTo(w, s)
	}
}

func writeElement(w *bufio.Writer, e *etree.Element, s *etree.WriteSettings) {
	w.WriteByte('<')
	writeName(w, e.Space, e.Tag)
	for i := range e.Attr {
		a := &e.Attr[i]
		w.WriteByte(' ')
		writeName(w, a.Space, a.Key)
		w.WriteString(`="`)
		writeEscaped(w, a.Value, &serialAttr)
		w.WriteByte('"')
	}
	switch {
	case len(e.Child) > 0:
		w.WriteByte('>')
		for _, c := range e.Child {
			writeToken(w, c, s)
		}
	case !s.CanonicalEndTags:
		w.WriteString("/>")
		return
	default:
		w.WriteByte('>')
	}
	w.WriteString("</")
	writeName(w, e.Space, e.Tag)
	w.WriteByte('>')
}

func writeName(w *bufio.Writer, space, local string) {
	if space != "" {
		w.WriteString(space)
		w.WriteByte(':')
	}
	w.WriteString(local)
}

// The escapes of etree's canonical text and attribute modes; "\uFFFD"
// stands for a control character XML does not allow.
var serialText, serialAttr = func() (t, a escapeTable) {
	for c := range 0x20 {
		t[c], a[c] = "\uFFFD", "\uFFFD"
	}
	t['\t'], t['\n'] = "", ""
	t['&'], t['<'], t['>'], t['\r'] = "&amp;", "&lt;", "&gt;", "&#xD;"
	a['&'], a['<'], a['"'], a['\t'], a['\n'], a['\r'] = "&amp;", "&lt;", "&quot;", "&#x9;", "&#xA;", "&#xD;"
	return t, a
}()

// writeEscaped writes s with the table's escapes in one pass; outside
// ASCII, invalid UTF-8 and the non-characters U+FFFE and U+FFFF become
// U+FFFD.
func writeEscaped(w *bufio.Writer, s string, t *escapeTable) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if e := t[c]; e != "" {
				w.WriteString(s[last:i])
				w.WriteString(e)
				last = i + 1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			w.WriteString(s[last:i])
			w.WriteString("\uFFFD")
			last = i + n
		}
		i += n
	}
	w.WriteString(s[last:])
}

package xmlsec

import (
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
	out := serialOut{w: w, b: make([]byte, 0, serialChunk+serialChunk/4)}
	b := out.b
	for _, t := range doc.Child {
		b = out.token(b, t, &s)
	}
	out.b = b
	out.flush()
	return out.err
}

// serialOut gathers the output in a buffer written out a chunk at a time;
// it is also the etree.Writer of the tokens etree writes itself.
type serialOut struct {
	w   io.Writer
	b   []byte
	err error // the first write error; later output is dropped
}

const serialChunk = 32 << 10

func (o *serialOut) flush() {
	if o.err == nil && len(o.b) > 0 {
		var n int
		if n, o.err = o.w.Write(o.b); o.err == nil && n < len(o.b) {
			o.err = io.ErrShortWrite
		}
	}
	o.b = o.b[:0]
}

func (o *serialOut) Write(p []byte) (int, error) { o.b = append(o.b, p...); return len(p), nil }

func (o *serialOut) WriteString(s string) (int, error) {
	o.b = append(o.b, s...)
	return len(s), nil
}

func (o *serialOut) WriteByte(c byte) error { o.b = append(o.b, c); return nil }

// token appends t to b and returns b. The output is kept in b, a local
// of each call, and handed to o only where etree writes a token itself or
// a chunk is written out: o lives on the heap, and a pointer stored in it
// costs a write barrier while the collector runs.
func (o *serialOut) token(b []byte, t etree.Token, s *etree.WriteSettings) []byte {
	switch t := t.(type) {
	case *etree.Element:
		b = o.element(b, t, s)
	case *etree.CharData:
		if !t.IsCData() {
			b = appendSerialEscaped(b, t.Data, &serialText)
			break
		}
		b = o.etreeWrite(b, t, s)
	default:
		b = o.etreeWrite(b, t, s)
	}
	if len(b) >= serialChunk {
		o.b = b
		o.flush()
		b = o.b
	}
	return b
}

// etreeWrite appends t as etree writes it.
func (o *serialOut) etreeWrite(b []byte, t etree.Token, s *etree.WriteSettings) []byte {
	o.b = b
	t.WriteTo(o, s)
	return o.b
}

func (o *serialOut) element(b []byte, e *etree.Element, s *etree.WriteSettings) []byte {
	b = append(b, '<')
	b = appendName(b, e.Space, e.Tag)
	for i := range e.Attr {
		a := &e.Attr[i]
		b = append(b, ' ')
		b = appendName(b, a.Space, a.Key)
		b = append(b, `="`...)
		b = appendSerialEscaped(b, a.Value, &serialAttr)
		b = append(b, '"')
	}
	switch {
	case len(e.Child) > 0:
		b = append(b, '>')
		for _, c := range e.Child {
			b = o.token(b, c, s)
		}
	case !s.CanonicalEndTags:
		return append(b, "/>"...)
	default:
		b = append(b, '>')
	}
	b = append(b, "</"...)
	b = appendName(b, e.Space, e.Tag)
	return append(b, '>')
}

func appendName(b []byte, space, local string) []byte {
	if space != "" {
		b = append(append(b, space...), ':')
	}
	return append(b, local...)
}

// The escapes of etree's canonical text and attribute modes; "\uFFFD"
// stands for a control character XML does not allow.
var serialText, serialAttr = func() (t, a escapeTable) {
	var ctl []string
	for c := range 0x20 {
		if c != '\t' && c != '\n' && c != '\r' {
			ctl = append(ctl, string(rune(c)), "\uFFFD")
		}
	}
	t = newEscapeTable(true, append(ctl, "&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")...)
	a = newEscapeTable(true, append(ctl, "&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")...)
	return t, a
}()

// appendSerialEscaped appends s with the table's escapes in one pass;
// outside ASCII, invalid UTF-8 and the non-characters U+FFFE and U+FFFF
// become U+FFFD.
func appendSerialEscaped(b []byte, s string, t *escapeTable) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if t.plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(append(b, s[last:i]...), t.ref[c]...)
			last = i + 1
			i++
			continue
		}
		if c >= 0xC2 && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2 // U+0080 to U+07FF: always a character XML allows
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(append(b, s[last:i]...), "\uFFFD"...)
			last = i + n
		}
		i += n
	}
	return append(b, s[last:]...)
}

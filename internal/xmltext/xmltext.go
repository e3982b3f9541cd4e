package xmltext

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Valid reports whether XML 1.0 can carry s as character data: valid
// UTF-8 without the control characters (tab, line feed and carriage
// return aside) and the non-characters U+FFFE and U+FFFF it forbids.
func Valid(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
	})
}

// NormalizeLineBreaks rewrites b in place so that every line break is a
// line feed: CRLF and a lone CR become LF. It is the end-of-line rule of
// XML 1.0 §2.11 (the parser applies it to the input) and of Java
// properties files; a reader that keeps line breaks of a value (where
// character references may have brought CRs back) applies it to the
// value, so that what it returns is the same when read again.
func NormalizeLineBreaks(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			c = '\n'
		}
		out = append(out, c)
	}
	return out
}

// LineBreaksToLF is NormalizeLineBreaks for a string.
func LineBreaksToLF(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return string(NormalizeLineBreaks([]byte(s)))
}

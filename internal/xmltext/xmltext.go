package xmltext

import (
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

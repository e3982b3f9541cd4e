package xmlsec

import (
	"encoding/base64"
	"io"
	"strings"
)

// Base64LineLength is the length of a base64 line the osci packages write.
const Base64LineLength = 76

// NewBase64Writer returns a writer that encodes what is written to it as
// base64 (standard alphabet, padded) into w, in lines of Base64LineLength
// characters, each full line followed by eol: "\n" in XML text, as the OSCI
// reference library writes it (a full last line ends with "\n" too);
// "\r\n" in a MIME body. Close writes the last partial quantum; it does
// not close w. It is the one base64 line rule of the osci packages.
func NewBase64Writer(w io.Writer, eol string) io.WriteCloser {
	return base64.NewEncoder(base64.StdEncoding, &lineWriter{w: w, eol: eol})
}

// EncodeBase64 returns b as base64 text for XML: NewBase64Writer with "\n".
func EncodeBase64(b []byte) string {
	var sb strings.Builder
	sb.Grow(base64.StdEncoding.EncodedLen(len(b)) * (Base64LineLength + 1) / Base64LineLength)
	w := NewBase64Writer(&sb, "\n")
	_, _ = w.Write(b) // a strings.Builder does not fail
	_ = w.Close()
	return sb.String()
}

// lineWriter writes eol after every Base64LineLength octets.
type lineWriter struct {
	w   io.Writer
	eol string
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(Base64LineLength-l.col, len(p))
		m, err := l.w.Write(p[:k])
		n += m
		l.col += m
		if err != nil {
			return n, err
		}
		p = p[k:]
		if l.col == Base64LineLength {
			if _, err := io.WriteString(l.w, l.eol); err != nil {
				return n, err
			}
			l.col = 0
		}
	}
	return n, nil
}

// Package textpdf writes a plain PDF 1.4 of a title and lines of text:
// A4, Helvetica with WinAnsiEncoding (so German umlauts print), wrapped
// and broken into pages, with a correct cross-reference table that PDF
// readers and the ERVB pre-flight accept. The output depends only on the
// input. It is how the register's query sheet and registration form and
// the demo's documents become PDFs. Objects writes the same file structure
// around objects the caller gives.
package textpdf

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Document returns the PDF of title and lines.
func Document(title string, lines []string) []byte {
	const perPage, width = 52, 95
	var wrapped []string
	for _, l := range lines {
		wrapped = append(wrapped, wrap(l, width)...)
	}
	var pages [][]string
	for len(wrapped) > perPage {
		pages = append(pages, wrapped[:perPage])
		wrapped = wrapped[perPage:]
	}
	pages = append(pages, wrapped)

	// Objects: 1 catalog, 2 pages, 3 font, then per page: page, contents.
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"}
	var kids []string
	for i, p := range pages {
		var s strings.Builder
		s.WriteString("BT /F1 14 Tf 56 790 Td (" + pdfString(title) + ") Tj /F1 10 Tf 0 -24 Td 13 TL")
		for _, l := range p {
			s.WriteString(" (" + pdfString(l) + ") '")
		}
		fmt.Fprintf(&s, " ET BT /F1 8 Tf 56 30 Td (Seite %d von %d) Tj ET", i+1, len(pages))
		page := len(objs) + 1
		kids = append(kids, fmt.Sprintf("%d 0 R", page))
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", page+1),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", s.Len(), s.String()))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages))
	return Objects(objs)
}

// Objects returns the PDF 1.4 of objs, numbered from 1 (the first is the
// catalog, the trailer's /Root), with a correct classic cross-reference
// table.
func Objects(objs []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// wrap breaks a line at spaces so that no piece is longer than width runes.
func wrap(s string, width int) []string {
	if utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var out []string
	var cur []string
	n := 0
	for _, w := range strings.Fields(s) {
		l := utf8.RuneCountInString(w)
		if n > 0 && n+1+l > width {
			out = append(out, strings.Join(cur, " "))
			cur, n = nil, 0
		}
		cur = append(cur, w)
		n += l + 1
	}
	out = append(out, "    "+strings.Join(cur, " "))
	for i := 1; i < len(out)-1; i++ {
		out[i] = "    " + out[i]
	}
	return out
}

// pdfString escapes text for a PDF literal string in WinAnsiEncoding:
// Latin-1 characters as octal escapes, others replaced by '?'.
func pdfString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '€':
			b.WriteString(`\200`)
		case r == '–' || r == '—':
			b.WriteString(`\226`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r >= 0xa0 && r <= 0xff:
			fmt.Fprintf(&b, "\\%03o", r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

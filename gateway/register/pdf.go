package register

import "github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/textpdf"

// TextPDF writes a plain PDF of a title and lines of text (textpdf): how
// the query sheet and the registration form become documents the eAkte
// and the ERVB rules accept.
func TextPDF(title string, lines []string) []byte { return textpdf.Document(title, lines) }

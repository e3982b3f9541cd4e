package ervb

import (
	"bytes"
	"unicode/utf8"
)

type kind int

const (
	kindUnknown kind = iota
	kindEmpty
	kindPDF
	kindTIFF
	kindBigTIFF
	kindZIP
	kindOLE
	kindExecutable
	kindImage
	kindXML
	kindText
)

// German says what the content is, for "… ist aber %s".
func (k kind) German() string {
	switch k {
	case kindEmpty:
		return "leer"
	case kindPDF:
		return "ein PDF-Dokument"
	case kindTIFF:
		return "ein TIFF-Bild"
	case kindBigTIFF:
		return "ein BigTIFF-Bild (nicht zulässig)"
	case kindZIP:
		return "ein ZIP-Archiv (z. B. ein Word- oder OpenDocument-Dokument)"
	case kindOLE:
		return "ein älteres Office-Dokument (z. B. .doc, .xls)"
	case kindExecutable:
		return "ein ausführbares Programm"
	case kindImage:
		return "ein Bild in einem anderen Format (JPEG, PNG, GIF)"
	case kindXML:
		return "eine XML-Datei"
	case kindText:
		return "eine Textdatei"
	}
	return "in keinem zulässigen Format"
}

const sniffLen = 512

// sniff tells the content's kind by its first bytes.
func sniff(c content) kind {
	head := make([]byte, sniffLen)
	n, _ := c.r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case n == 0:
		return kindEmpty
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return kindPDF
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return kindTIFF
	case bytes.HasPrefix(head, []byte("II+\x00")), bytes.HasPrefix(head, []byte("MM\x00+")):
		return kindBigTIFF
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZIP
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return kindOLE
	case bytes.HasPrefix(head, []byte("MZ")), bytes.HasPrefix(head, []byte("\x7fELF")), bytes.HasPrefix(head, []byte("#!")),
		bytes.HasPrefix(head, []byte("\xcf\xfa\xed\xfe")), bytes.HasPrefix(head, []byte("\xca\xfe\xba\xbe")):
		return kindExecutable
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")), bytes.HasPrefix(head, []byte("\x89PNG")), bytes.HasPrefix(head, []byte("GIF8")):
		return kindImage
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(t, []byte("<")) {
		return kindXML
	}
	// A rune cut at the 512-byte boundary does not make text binary.
	if !bytes.ContainsRune(head, 0) && (utf8.Valid(head) || n == sniffLen && utf8.Valid(head[:n-utf8.UTFMax])) {
		return kindText
	}
	return kindUnknown
}

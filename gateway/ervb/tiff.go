package ervb

import (
	"encoding/binary"
	"fmt"
)

// checkTIFF reads the header and the first IFD: its entries must lie in
// the file and name the image's width, length and data (strips or tiles).
func checkTIFF(name string, c content, lim Limits) Findings {
	bad := func(format string, a ...any) Findings {
		return Findings{{Severity: SeverityError, File: name, Rule: RuleTIFFUnreadable,
			Message: "Das TIFF-Bild ist beschädigt: " + fmt.Sprintf(format, a...) + "."}}
	}
	head := make([]byte, 8)
	if _, err := c.r.ReadAt(head, 0); err != nil {
		return bad("der Dateikopf ist unvollständig")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if head[0] == 'M' {
		bo = binary.BigEndian
	}
	off := int64(bo.Uint32(head[4:]))
	if off < 8 || off+2 > c.size {
		return bad("der Verweis auf das erste Bildverzeichnis zeigt aus der Datei")
	}
	cnt := make([]byte, 2)
	if _, err := c.r.ReadAt(cnt, off); err != nil {
		return bad("das erste Bildverzeichnis ist nicht lesbar")
	}
	n := int(bo.Uint16(cnt))
	if n == 0 || n > lim.MaxTIFFEntries {
		return bad("das erste Bildverzeichnis hat %d Einträge", n)
	}
	ifd := make([]byte, n*12+4)
	if off+2+int64(len(ifd)) > c.size {
		return bad("das erste Bildverzeichnis reicht über das Dateiende hinaus")
	}
	if _, err := c.r.ReadAt(ifd, off+2); err != nil {
		return bad("das erste Bildverzeichnis ist nicht lesbar")
	}
	tags := map[uint16]bool{}
	for i := range n {
		e := ifd[i*12:]
		tags[bo.Uint16(e)] = true
	}
	switch {
	case !tags[256] || !tags[257]:
		return bad("Breite oder Höhe des Bildes fehlen")
	case !tags[273] && !tags[324]:
		return bad("die Bilddaten (Streifen oder Kacheln) fehlen")
	}
	if next := int64(bo.Uint32(ifd[n*12:])); next != 0 && (next < 8 || next >= c.size) {
		return bad("der Verweis auf das nächste Bildverzeichnis zeigt aus der Datei")
	}
	return nil
}

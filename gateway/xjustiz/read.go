package xjustiz

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// nsXJustiz is the namespace of every XJustiz generation so far.
const nsXJustiz = "http://www.xjustiz.de"

// Record is what Read takes from a received XJustiz record.
type Record struct {
	Message    string // root element, e.g. nachricht.gds.uebermittlungSchriftgutobjekte.0005005
	Version    string // the xjustizVersion the record declares
	Generation string // the generation it is valid against; "" when Validation is not nil
	// Validation is nil when the record is valid against Generation, and
	// otherwise says why not (ErrSchema, ErrRule, ErrUnsupported,
	// ErrUnknownGeneration): a court's record is read and kept even so.
	Validation error

	MessageID        string    // eigeneNachrichtenID
	ForeignMessageID string    // fremdeNachrichtenID
	Created          time.Time // erstellungszeitpunkt; zero when absent or unreadable
	CaseSender       string    // aktenzeichen.absender (the first, when several)
	CaseRecipient    string    // aktenzeichen.empfaenger (the first, when several)
	SenderCourt      string    // absender.gericht: GDS.Gerichte code
	SenderName       string    // absender.sonstige
	RecipientCourt   string    // empfaenger.gericht: GDS.Gerichte code
	RecipientName    string    // empfaenger.sonstige
	Subject          string    // the first verfahrensgegenstand/gegenstand

	Documents    []ReceivedDocument
	EEBRequested bool      // some document carries ruecksendungEEB.erforderlich = true
	EEB          *EEBReply // set for nachricht.eeb.zuruecklaufend.*
}

// ReceivedDocument is one dokument of a received record.
type ReceivedDocument struct {
	ID    string // identifikation/id
	Class string // GDS.Dokumentklasse code
	Title string // anzeigename
	Files []File
	EEB   bool // ruecksendungEEB.erforderlich
}

// File is one datei of a document.
type File struct {
	Name     string // dateiname
	Part     string // bestandteil code: 001 original, 003 signature, …
	RefersTo string // dateiname.bezugsdatei (the signed file, for a signature)
}

// Read parses a received record within the Codec's limits (no DOCTYPE,
// bounded size, depth and element count), validates it against the
// generation it declares, and returns its fields. It fails only when the
// bytes are not a readable XJustiz record (ErrTooLarge, ErrMalformed,
// ErrUnsupported for a foreign root); a record that is not valid is read
// all the same, with Record.Validation saying why.
func (c *Codec) Read(record []byte) (*Record, error) {
	doc, gen, verr := c.check(record, nil)
	if doc == nil {
		return nil, verr
	}
	root := doc.Root()
	if root.NamespaceURI() != nsXJustiz || !strings.HasPrefix(root.Tag, "nachricht.") {
		return nil, fmt.Errorf("%w: root {%s}%s is not an XJustiz message", ErrUnsupported, root.NamespaceURI(), root.Tag)
	}
	if errors.Is(verr, ErrTooLarge) {
		return nil, verr
	}
	r := &Record{Message: root.Tag, Validation: verr}
	if verr == nil {
		r.Generation = gen.name
	}
	if err := c.readHeader(r, root); err != nil {
		return nil, err
	}
	if err := c.readDocuments(r, root); err != nil {
		return nil, err
	}
	if strings.HasPrefix(r.Message, "nachricht.eeb.zuruecklaufend.") {
		r.EEB = readEEBReply(r, child(root, "fachdaten"))
	}
	return r, nil
}

func (c *Codec) readHeader(r *Record, root *etree.Element) error {
	r.Version = declaredVersion(root)
	k := child(root, "nachrichtenkopf")
	if k == nil {
		return nil
	}
	r.MessageID = childText(k, "eigeneNachrichtenID", "eigene_Nachrichten_ID")
	r.ForeignMessageID = childText(k, "fremdeNachrichtenID", "fremde_Nachrichten_ID")
	r.CaseSender = childText(k, "aktenzeichen.absender")
	r.CaseRecipient = childText(k, "aktenzeichen.empfaenger")
	if t, err := time.Parse(time.RFC3339Nano, childText(k, "erstellungszeitpunkt")); err == nil {
		r.Created = t
	}
	from, to := k, k // 2.x: absender_* directly in the header
	if a := child(k, "auswahl_absender"); a != nil {
		from = a
	}
	if a := child(k, "auswahl_empfaenger"); a != nil {
		to = a
	}
	r.SenderCourt = codeOf(child(from, "absender.gericht", "absender_Gericht"))
	r.SenderName = childText(from, "absender.sonstige", "absender_Sonstige")
	r.RecipientCourt = codeOf(child(to, "empfaenger.gericht", "empfaenger_Gericht"))
	r.RecipientName = childText(to, "empfaenger.sonstige", "empfaenger_Sonstige")
	if inst := descend(root, "grunddaten", "verfahrensdaten", "instanzdaten"); inst != nil {
		r.Subject = childText(child(inst, "verfahrensgegenstand"), "gegenstand")
	}
	return nil
}

func (c *Codec) readDocuments(r *Record, root *etree.Element) error {
	sgo := child(root, "schriftgutobjekte")
	if sgo == nil {
		return nil
	}
	for _, d := range children(sgo, "dokument") {
		if len(r.Documents) == c.lim.MaxDocuments {
			return fmt.Errorf("%w: more than %d documents", ErrTooLarge, c.lim.MaxDocuments)
		}
		rd := ReceivedDocument{ID: childText(child(d, "identifikation"), "id")}
		if fd := child(d, "xjustiz.fachspezifischeDaten"); fd != nil {
			rd.Class = codeOf(child(fd, "dokumentklasse"))
			rd.Title = childText(fd, "anzeigename")
			rd.EEB = childText(fd, "ruecksendungEEB.erforderlich") == "true"
			for _, f := range children(fd, "datei") {
				rd.Files = append(rd.Files, File{
					Name:     childText(f, "dateiname"),
					Part:     codeOf(child(f, "bestandteil")),
					RefersTo: childText(f, "dateiname.bezugsdatei"),
				})
			}
		}
		r.EEBRequested = r.EEBRequested || rd.EEB
		r.Documents = append(r.Documents, rd)
	}
	return nil
}

func readEEBReply(r *Record, fd *etree.Element) *EEBReply {
	e := &EEBReply{MessageID: r.MessageID, ForeignMessageID: r.ForeignMessageID}
	if fd == nil {
		return e
	}
	if d := childText(fd, "empfangsbestaetigung"); d != "" {
		e.Acknowledged = true
		e.Date = parseDate(d)
	}
	if sm := child(fd, "stoerungsmeldung"); sm != nil {
		e.Rejection = &Rejection{Code: RejectionCode(codeOf(child(sm, "stoerungsID"))), Reason: childText(sm, "stoerungsGrund")}
	}
	e.Representative = childText(fd, "zustellungsempfaenger.abweichend") == "true"
	return e
}

// parseDate reads an xs:date (with or without a zone) as that day's
// midnight in Europe/Berlin; zero when unreadable.
func parseDate(s string) time.Time {
	if len(s) < len(time.DateOnly) {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)])
	if err != nil {
		return time.Time{}
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, berlin)
}

// child is the first child element in the XJustiz namespace with one of
// the names; nil-safe.
func child(e *etree.Element, names ...string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.NamespaceURI() != nsXJustiz {
			continue
		}
		for _, n := range names {
			if c.Tag == n {
				return c
			}
		}
	}
	return nil
}

func children(e *etree.Element, name string) []*etree.Element {
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == name && c.NamespaceURI() == nsXJustiz {
			out = append(out, c)
		}
	}
	return out
}

func descend(e *etree.Element, names ...string) *etree.Element {
	for _, n := range names {
		e = child(e, n)
	}
	return e
}

func childText(e *etree.Element, names ...string) string {
	if c := child(e, names...); c != nil {
		return strings.TrimSpace(c.Text())
	}
	return ""
}

// codeOf is the unqualified code child of an XÖV code element.
func codeOf(e *etree.Element) string {
	if e == nil {
		return ""
	}
	for _, c := range e.ChildElements() {
		if c.Tag == "code" && c.NamespaceURI() == "" {
			return strings.TrimSpace(c.Text())
		}
	}
	return ""
}

package xjustiz

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// MaxFileNameLength is the ERVB's limit on a file name, extension included
// (characters, not bytes).
const MaxFileNameLength = 90

// Court is a court by its GDS.Gerichte code (e.g. R1502) and name. The
// caller resolves it from the code list; the record carries the code.
type Court struct {
	Code string
	Name string
}

// Party is a party to the proceedings (Beteiligter): an organisation or a
// natural person.
type Party struct {
	Role         string // GDS.Rollenbezeichnung code; optional
	Organisation string // the organisation's name; or
	GivenName    string // a natural person's given name (optional) and
	FamilyName   string // family name
}

// Document is one file the message carries.
type Document struct {
	Name      string // the file's name as given, e.g. "Klage.pdf"
	Class     string // GDS.Dokumentklasse code, e.g. "003" (Klage / Antrag)
	Title     string // anzeigename; "" is Name
	ID        string // the document's UUID; "" draws a new one
	Signature bool   // a detached signature travels beside it as FileName + ".p7s"
}

// Submission is what nachricht.gds.uebermittlungSchriftgutobjekte.0005005
// is built from.
type Submission struct {
	Court         Court  // recipient (empfaenger.gericht); required
	Sender        string // absender.sonstige, e.g. "Stadt Erkelenz"; required
	CaseSender    string // our file number (aktenzeichen.absender)
	CaseRecipient string // the court's case number (aktenzeichen.empfaenger)
	Subject       string // verfahrensgegenstand
	Parties       []Party
	Documents     []Document // at least one
	EEB           bool       // ask for an eEB: ruecksendungEEB.erforderlich on every document
}

// Built is a record this package built. Record has passed validation.
type Built struct {
	Record    []byte    // the file xjustiz_nachricht.xml
	MessageID string    // eigeneNachrichtenID; a court's eEB answer names it in fremdeNachrichtenID
	Created   time.Time // erstellungszeitpunkt
	Documents []BuiltDocument
}

// BuiltDocument says under which names a Document must travel.
type BuiltDocument struct {
	ID            string // identifikation/id
	Name          string // Document.Name as given
	FileName      string // the name it must be sent under: carries ID
	SignatureName string // FileName + ".p7s" when Document.Signature
}

// BuildSubmission builds and validates the record for s. Missing court,
// sender or documents and unknown document classes are refused before
// anything is built; a record that is not schema-valid is never returned.
func (c *Codec) BuildSubmission(s Submission) (*Built, error) {
	if strings.TrimSpace(s.Court.Code) == "" {
		return nil, fmt.Errorf("%w: a submission needs the recipient court's GDS.Gerichte code", ErrMissingCourt)
	}
	if strings.TrimSpace(s.Sender) == "" {
		return nil, fmt.Errorf("%w: sender (absender.sonstige) missing", ErrIncomplete)
	}
	if len(s.Documents) == 0 {
		return nil, fmt.Errorf("%w: no documents", ErrIncomplete)
	}
	if len(s.Documents) > c.lim.MaxDocuments {
		return nil, fmt.Errorf("%w: %d documents, limit %d", ErrTooLarge, len(s.Documents), c.lim.MaxDocuments)
	}
	g := c.gen
	b := &Built{Created: c.now()}
	var err error
	if b.MessageID, err = c.newUUID(); err != nil {
		return nil, err
	}
	docs := make([]BuiltDocument, len(s.Documents))
	seen := map[string]bool{}
	for i, d := range s.Documents {
		if _, ok := g.classes.name(d.Class); !ok {
			return nil, fmt.Errorf("%w: document %d: class %q is not in GDS.Dokumentklasse %s", ErrUnknownCode, i+1, d.Class, g.classes.version)
		}
		if docs[i], err = c.documentNames(d); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if seen[docs[i].ID] {
			return nil, fmt.Errorf("%w: document %d: id %s used twice", ErrIncomplete, i+1, docs[i].ID)
		}
		seen[docs[i].ID] = true
	}
	for i, p := range s.Parties {
		if (p.Organisation == "") == (p.FamilyName == "") {
			return nil, fmt.Errorf("%w: party %d: give an organisation or a family name", ErrIncomplete, i+1)
		}
	}
	b.Documents = docs

	w := newWriter(g, MessageSubmission)
	c.header(w, w.root, header{
		caseSender: s.CaseSender, caseRecipient: s.CaseRecipient, created: b.Created,
		sender: s.Sender, court: s.Court, messageID: b.MessageID,
	})
	gd := w.el(w.root, "grunddaten")
	vd := w.el(gd, "verfahrensdaten")
	inst := w.el(vd, "instanzdaten")
	w.code(w.el(inst, "auswahl_instanzbehoerde"), "gericht", g.courtList, s.Court.Code)
	if s.CaseRecipient != "" {
		w.text(w.el(w.el(inst, "aktenzeichen"), "auswahl_aktenzeichen"), "aktenzeichen.freitext", s.CaseRecipient)
	}
	if s.Subject != "" {
		w.text(w.el(inst, "verfahrensgegenstand"), "gegenstand", s.Subject)
	}
	for i, p := range s.Parties {
		bet := w.el(vd, "beteiligung")
		if p.Role != "" {
			rolle := w.el(bet, "rolle")
			w.text(rolle, "rollennummer", strconv.Itoa(i+1))
			w.code(rolle, "rollenbezeichnung", g.roleList, p.Role)
		}
		ab := w.el(w.el(bet, "beteiligter"), "auswahl_beteiligter")
		if p.Organisation != "" {
			w.text(w.el(w.el(ab, "organisation"), "bezeichnung"), "bezeichnung.aktuell", p.Organisation)
			continue
		}
		name := w.el(w.el(ab, "natuerlichePerson"), "vollerName")
		if p.GivenName != "" {
			w.text(name, "vorname", p.GivenName)
		}
		w.text(name, "nachname", p.FamilyName)
	}
	sgo := w.el(w.root, "schriftgutobjekte")
	for i, d := range s.Documents {
		bd := docs[i]
		dok := w.el(sgo, "dokument")
		id := w.el(dok, "identifikation")
		w.text(id, "id", bd.ID)
		w.text(id, "nummerImUebergeordnetenContainer", strconv.Itoa(i+1))
		fd := w.el(dok, "xjustiz.fachspezifischeDaten")
		w.code(fd, "dokumentklasse", g.classes.version, d.Class)
		title := d.Title
		if title == "" {
			title = d.Name
		}
		w.text(fd, "anzeigename", title)
		datei := w.el(fd, "datei")
		w.text(datei, "dateiname", bd.FileName)
		w.code(datei, "bestandteil", g.partList, "001") // Original
		if bd.SignatureName != "" {
			sig := w.el(fd, "datei")
			w.text(sig, "dateiname", bd.SignatureName)
			w.code(sig, "bestandteil", g.partList, "003") // Signaturdatei
			w.text(sig, "dateiname.bezugsdatei", bd.FileName)
		}
		if s.EEB {
			w.text(fd, "ruecksendungEEB.erforderlich", "true")
		}
	}
	if b.Record, err = c.finish(w); err != nil {
		return nil, err
	}
	return b, nil
}

type header struct {
	caseSender, caseRecipient string
	created                   time.Time
	sender                    string
	court                     Court // a code, or (eEB answers only) a name
	messageID, foreignID      string
}

func (c *Codec) header(w *writer, parent *etree.Element, h header) {
	k := w.el(parent, "nachrichtenkopf")
	k.CreateAttr("xjustizVersion", w.gen.version)
	if h.caseSender != "" {
		w.text(k, "aktenzeichen.absender", h.caseSender)
	}
	if h.caseRecipient != "" {
		w.text(k, "aktenzeichen.empfaenger", h.caseRecipient)
	}
	w.text(k, "erstellungszeitpunkt", h.created.In(berlin).Format("2006-01-02T15:04:05.000-07:00"))
	w.text(w.el(k, "auswahl_absender"), "absender.sonstige", h.sender)
	to := w.el(k, "auswahl_empfaenger")
	if h.court.Code != "" {
		w.code(to, "empfaenger.gericht", w.gen.courtList, h.court.Code)
	} else {
		w.text(to, "empfaenger.sonstige", h.court.Name)
	}
	w.text(k, "eigeneNachrichtenID", h.messageID)
	if h.foreignID != "" {
		w.text(k, "fremdeNachrichtenID", h.foreignID)
	}
	if c.prod != (Product{}) {
		hi := w.el(k, "herstellerinformation")
		for _, f := range [][2]string{{"nameDesProdukts", c.prod.Name}, {"herstellerDesProdukts", c.prod.Vendor}, {"version", c.prod.Version}} {
			if f[1] != "" {
				w.text(hi, f[0], f[1])
			}
		}
	}
}

// finish serializes the record and validates it against the Codec's
// generation; only a valid record leaves.
func (c *Codec) finish(w *writer) ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.doc.Indent(2)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xmlsec.Serialize(&buf, w.doc); err != nil {
		return nil, fmt.Errorf("xjustiz: write: %w", err)
	}
	buf.WriteByte('\n')
	if _, _, err := c.check(buf.Bytes(), c.gen); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// newUUID draws a random (version 4) UUID from the Codec's source.
func (c *Codec) newUUID() (string, error) {
	u, err := uuid.NewRandomFromReader(c.rand)
	if err != nil {
		return "", fmt.Errorf("xjustiz: random source: %w", err)
	}
	return u.String(), nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// documentNames gives the document its UUID and the file name that
// carries it, as the justice sample data do: Klage.pdf travels as
// Klage_<uuid>.pdf (and its signature as Klage_<uuid>.pdf.p7s). A stem
// too long for MaxFileNameLength is shortened; a name that already ends
// in _<ID> keeps it.
func (c *Codec) documentNames(d Document) (BuiltDocument, error) {
	bd := BuiltDocument{ID: strings.ToLower(d.ID), Name: d.Name}
	if bd.ID == "" {
		var err error
		if bd.ID, err = c.newUUID(); err != nil {
			return bd, err
		}
	} else if !uuidPattern.MatchString(bd.ID) {
		return bd, fmt.Errorf("%w: id %q is not a UUID", ErrIncomplete, d.ID)
	}
	name := d.Name
	if name == "" || strings.ContainsAny(name, "/\\") || !utf8.ValidString(name) || name != path.Base(name) {
		return bd, fmt.Errorf("%w: %q", ErrFileName, name)
	}
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if stem == "" || utf8.RuneCountInString(ext) > 10 {
		return bd, fmt.Errorf("%w: %q needs a name and a short extension", ErrFileName, name)
	}
	stem = strings.TrimSuffix(stem, "_"+bd.ID)
	budget := MaxFileNameLength - utf8.RuneCountInString("_"+bd.ID+ext)
	if d.Signature {
		budget -= len(".p7s")
	}
	if r := []rune(stem); len(r) > budget {
		stem = strings.TrimRight(string(r[:budget]), "_-")
	}
	bd.FileName = stem + "_" + bd.ID + ext
	if d.Signature {
		bd.SignatureName = bd.FileName + ".p7s"
	}
	return bd, nil
}

package xdomea

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/xmltext"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Message names, the code lists the messages name and the product the
// messages name as their source. The code list versions are the
// schema's (generation).
const (
	MessageAbgabe          = "Abgabe.Abgabe.0401"
	MessageImportBestaetig = "Abgabe.ImportBestaetigen.0402"
	nachrichtentypURI      = "urn:xoev-de:xdomea:codeliste:nachrichtentyp"
	dateiformatURI         = "urn:xoev-de:xdomea:codeliste:dateiformat"
	productName            = "bebpo-gateway"
	productVendor          = "bebpo-gateway contributors"
)

// Options are what a records system decides about the Abgabe it imports.
type Options struct {
	// Version is the xdomea version written; "" is Version3.
	Version string
	// Recipient names the receiving authority (Empfaenger/Institution);
	// "" names the recipient mailbox.
	Recipient string
	// FormatCodes maps a lower-case file extension without the dot
	// ("pdf") to its code in the xdomea code list Dateiformat
	// (urn:xoev-de:xdomea:codeliste:dateiformat) of FormatListVersion;
	// files of other extensions get FormatOther with the extension as
	// SonstigerName. The code list is the records system's: the gateway
	// assumes no code.
	FormatCodes       map[string]string
	FormatOther       string
	FormatListVersion string
	// Limits bound the validation of the message.
	Limits xsd.Limits
}

// Check refuses options the message cannot be written with.
func (o Options) Check() error {
	if _, err := lookup(o.Version); err != nil {
		return err
	}
	var missing []string
	if o.FormatOther == "" {
		missing = append(missing, "FormatOther")
	}
	if o.FormatListVersion == "" {
		missing = append(missing, "FormatListVersion")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s required (from the Dateiformat code list the records system uses)", ErrOptions, strings.Join(missing, ", "))
	}
	return nil
}

// Abgabe is one built 0401: the message, its file names in the transfer
// archive and the files they carry.
type Abgabe struct {
	ProzessID string
	XML       []byte
	XMLName   string    // {ProzessID}_Abgabe.Abgabe.0401.xml
	Files     []Member  // primary files, in archive order
	Modified  time.Time // the archive's time stamps: when the gateway stored the message
	Metadata  mailbox.IntakeMetadata
}

// Member is one primary file of the archive.
type Member struct {
	Name string // {uuid}_{file name}: xdomea's stringDateinameType
	File mailbox.IntakeFile
}

// ProzessID is the xdomea process ID of the Abgabe of a message: a UUID
// derived from its MessageId, so a repeated hand-over writes the same
// Abgabe under the same name.
func ProzessID(messageID string) string { return nameUUID("prozess", messageID) }

// nameUUID is a name-based UUID (RFC 9562 version 8) over SHA-256.
func nameUUID(parts ...string) string {
	h := sha256.Sum256([]byte("bebpo-gateway xdomea\x00" + strings.Join(parts, "\x00")))
	b := h[:16]
	b[6] = b[6]&0x0f | 0x80
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// Build writes the Abgabe.Abgabe.0401 of an intake message: one Vorgang
// (the received message: subject, the recipient's case number as
// Kennzeichen, the gateway's intake metadata as its application-specific
// XML) holding a Dokument per delivered document (the sender's case
// number as FremdesGeschaeftszeichen, the sender as Absender), the
// Prüfprotokoll (HTML and XML) and the original OSCI message. The
// message is validated against the version's schema; an invalid one is
// never returned.
func Build(im *mailbox.IntakeMessage, o Options) (*Abgabe, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	g, _ := lookup(o.Version)
	md := im.Metadata
	if md.MessageID == "" {
		return nil, fmt.Errorf("%w: the message has no MessageId", ErrOptions)
	}
	stored, err := time.Parse(time.RFC3339, md.StoredAt)
	if err != nil {
		return nil, fmt.Errorf("%w: storedAt %q: %w", ErrOptions, md.StoredAt, err)
	}
	a := &Abgabe{ProzessID: ProzessID(md.MessageID), Modified: stored.UTC(), Metadata: md}
	a.XMLName = a.ProzessID + "_" + MessageAbgabe + ".xml"
	w := &writer{}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("xdomea:" + MessageAbgabe)
	root.CreateAttr("xmlns:xdomea", g.namespace)
	recipient := o.Recipient
	if recipient == "" {
		recipient = md.Mailbox
	}
	created := a.Modified.Format(g.timeLayout)
	switch g.header {
	case headerKopf:
		kopf := w.el(root, "Kopf")
		w.text(kopf, "ProzessID", a.ProzessID)
		w.messageType(w.el(kopf, "Nachrichtentyp"), g, "0401")
		w.text(kopf, "Erstellungszeitpunkt", created)
		w.sender(w.el(kopf, "Absender"), g, md.Sender)
		w.text(w.el(w.el(kopf, "Empfaenger"), g.institution), "Name", recipient)
		sys := w.el(kopf, "SendendesSystem")
		w.text(sys, "Produktname", productName)
		w.text(sys, "Version", version.Version)
		w.text(kopf, "Importbestaetigung", "1") // fixed by the schema: an Abgabe is always confirmed
		w.text(kopf, "Empfangsbestaetigung", "0")
	case headerNachrichtenkopf:
		root.CreateAttr("produkt", productName)
		root.CreateAttr("produkthersteller", productVendor)
		root.CreateAttr("produktversion", version.Version)
		root.CreateAttr("standard", "xdomea")
		root.CreateAttr("version", g.version)
		kopf := w.el(root, "nachrichtenkopf")
		id := w.el(kopf, "identifikation.nachricht")
		// The head's identification is unqualified (XÖV Basisnachricht).
		id.CreateElement("nachrichtenUUID").SetText(nameUUID("nachricht", md.MessageID))
		w.messageType(id.CreateElement("nachrichtentyp"), g, "0401")
		id.CreateElement("erstellungszeitpunkt").SetText(created)
		w.text(w.el(w.el(kopf, "leser"), g.institution), "Name", recipient)
		w.sender(w.el(kopf, "autor"), g, md.Sender)
		w.text(kopf, "ProzessID", a.ProzessID)
		w.text(root, "Importbestaetigung", "1") // fixed by the schema
		w.text(root, "Empfangsbestaetigung", "0")
		w.text(root, "LfdNrNachrichtProTyp", "1")
		w.text(root, "GesamtanzahlNachrichtenProTyp", "1")
	}

	vorgang := w.el(w.el(root, "Schriftgutobjekt"), "Vorgang")
	w.text(w.el(vorgang, "Identifikation"), g.objectID, nameUUID("vorgang", md.MessageID))
	am := w.el(vorgang, "AllgemeineMetadaten")
	w.text(am, "Betreff", subject(md))
	if md.CaseNumberRecipient != "" {
		w.text(am, "Kennzeichen", md.CaseNumberRecipient)
	}
	w.text(vorgang, "Typ", "Posteingang beBPo")
	received := stored
	if t, err := time.Parse(time.RFC3339, md.Reception); err == nil {
		received = t
	}
	nr := 0
	addDoc := func(kind, title string, files ...mailbox.IntakeFile) {
		nr++
		id := nameUUID("dokument", md.MessageID, kind, files[0].FileName)
		parent := vorgang
		if g.documentWrapper != "" {
			parent = w.el(vorgang, g.documentWrapper)
		}
		d := w.el(parent, "Dokument")
		ident := w.el(d, "Identifikation")
		w.text(ident, g.objectID, id)
		w.text(ident, "NummerImUebergeordnetenContainer", fmt.Sprint(nr))
		w.text(w.el(d, "AllgemeineMetadaten"), "Betreff", title)
		if md.CaseNumberSender != "" {
			w.text(d, "FremdesGeschaeftszeichen", md.CaseNumberSender)
		}
		w.text(d, "Posteingangsdatum", received.UTC().Format(time.DateOnly))
		w.text(d, "Typ", kind)
		sender := func() {
			if kind == "Eingang" {
				w.sender(w.el(d, g.documentSender), g, md.Sender)
			}
		}
		if g.senderBeforeVersion {
			sender()
		}
		v := w.el(d, "Version")
		w.text(v, "Nummer", "1")
		for _, f := range files {
			name := id + "_" + f.FileName
			a.Files = append(a.Files, Member{Name: name, File: f})
			w.format(v, o, name, f)
		}
		if !g.senderBeforeVersion {
			sender()
		}
	}
	for _, f := range im.Documents {
		addDoc("Eingang", f.OriginalName, f)
	}
	rx, err := mailbox.RenderReportXML(md, im.Report)
	if err != nil {
		return nil, err
	}
	rh, err := mailbox.RenderReportHTML(md, im.Report)
	if err != nil {
		return nil, err
	}
	addDoc("Prüfprotokoll", "Prüfprotokoll zur Nachricht "+md.MessageID,
		memFile(mailbox.FileReportHTML, "text/html; charset=utf-8", rh), memFile(mailbox.FileReportXML, "application/xml", rx))
	if im.Original.Open != nil {
		addDoc("OSCI-Nachricht", "Empfangene OSCI-Nachricht (Original) "+md.MessageID, im.Original)
	}
	if err := w.metadata(w.el(vorgang, "AnwendungsspezifischeErweiterungXML"), md); err != nil {
		return nil, err
	}
	if w.err != nil {
		return nil, w.err
	}
	doc.Indent(2)
	if a.XML, err = doc.WriteToBytes(); err != nil {
		return nil, err
	}
	if err := Validate(o.Version, a.XML, o.Limits); err != nil {
		return nil, err
	}
	return a, nil
}

func subject(md mailbox.IntakeMetadata) string {
	for _, s := range []string{md.UserSubject, md.OSCISubject} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return "Nachricht " + md.MessageID
}

// writer builds the message in the xdomea namespace with the prefix the
// published examples use; the first bad value is kept in err.
type writer struct{ err error }

func (w *writer) el(parent *etree.Element, name string) *etree.Element {
	return parent.CreateElement("xdomea:" + name)
}

func (w *writer) text(parent *etree.Element, name, value string) {
	if w.err == nil && !xmltext.Valid(value) {
		w.err = fmt.Errorf("%w: %s holds characters XML cannot carry", ErrOptions, name)
	}
	w.el(parent, name).SetText(value)
}

// sender writes a KontaktType: the organisation or name the sender gave,
// and its SAFE-ID as the communication address, marked as confirmed by
// its certificate or as the sender's own claim.
func (w *writer) sender(k *etree.Element, g *generation, s mailbox.SenderIdentity) {
	name := s.Claimed.Organisation
	if name == "" {
		name = s.Claimed.Name
	}
	if name != "" {
		w.text(w.el(k, g.institution), "Name", name)
	}
	id, how := s.Confirmed.SafeID, "SAFE-ID, durch Zertifikat bestätigt"
	if id == "" {
		id, how = s.Claimed.SafeID, "SAFE-ID, Angabe des Absenders (nicht bestätigt)"
	}
	if id != "" && g.communication != "" {
		c := w.el(k, g.communication)
		w.text(c, "Kennung", id)
		w.text(c, "Zusatz", how)
	}
}

// messageType writes a Nachrichtentyp code of the version's code list;
// its code element is unqualified, as the XÖV code type declares it.
func (w *writer) messageType(e *etree.Element, g *generation, code string) {
	e.CreateAttr("listURI", nachrichtentypURI)
	e.CreateAttr("listVersionID", g.codeListVersion)
	e.CreateElement("code").SetText(code)
}

func (w *writer) format(v *etree.Element, o Options, name string, f mailbox.IntakeFile) {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(f.FileName), "."))
	code, other := o.FormatCodes[ext], ""
	if code == "" {
		code, other = o.FormatOther, ext
		if other == "" {
			other = f.ContentType
		}
	}
	fe := w.el(v, "Format")
	n := w.el(fe, "Name")
	n.CreateAttr("listURI", dateiformatURI)
	n.CreateAttr("listVersionID", o.FormatListVersion)
	n.CreateElement("code").SetText(code)
	if other != "" {
		w.text(fe, "SonstigerName", other)
	}
	w.text(fe, "Version", "")
	p := w.el(fe, "Primaerdokument")
	w.text(p, "Dateiname", name)
	if f.OriginalName != "" {
		w.text(p, "DateinameOriginal", f.OriginalName)
	}
}

// metadata embeds the gateway's intake metadata (urn:bebpo-gateway:intake:1,
// as in metadata.xml of the folder intake).
func (w *writer) metadata(parent *etree.Element, md mailbox.IntakeMetadata) error {
	b, err := xml.Marshal(md)
	if err != nil {
		return err
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(b); err != nil {
		return err
	}
	parent.AddChild(d.Root())
	return nil
}

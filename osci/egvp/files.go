package egvp

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/xmltext"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Names of the inline contents and containers EGVP clients write.
const (
	ContainerProject    = "project_coco"
	ContainerGovello    = "govello_coco"
	FileNachricht       = "nachricht.xml"
	FileNachrichtXSL    = "nachricht.xsl"
	FileVisitenkarte    = "visitenkarte.xml"
	FileVisitenkarteXSL = "visitenkarte.xsl"
	FileHersteller      = "herstellerinformation.xml"
	FileAdditionalInfos = "additional_infos"
	FileXJustiz         = "xjustiz_nachricht.xml"
)

// reservedNames are Ids a document must not take: they name the inline
// contents and containers of the package.
var reservedNames = []string{ContainerProject, ContainerGovello, FileNachricht, FileNachrichtXSL,
	FileVisitenkarte, FileVisitenkarteXSL, FileHersteller, FileAdditionalInfos}

// Message types (EGVP Nachrichtentyp, the OSCI Subject).
const (
	TypeGeneral = "Allgemeine Nachricht"
	TypeTest    = "Testnachricht"
)

// RoleBeBPo is the SAFE role (Rollen_ID) of a besonderes Behördenpostfach.
const RoleBeBPo = "egvp_bebpo"

// SignatureLevelNone is the Signaturniveau of messages without qualified
// signatures on the container ("no", as every EGVP client writes).
const SignatureLevelNone = "no"

// Nachricht is nachricht.xml: the EGVP message form.
type Nachricht struct {
	MessageType         string // Nachrichtentyp, e.g. "Allgemeine Nachricht"
	SignatureLevel      string // Signaturniveau, "no"
	RecipientID         string // Empfaengerkennung: the addressee's SAFE-ID
	Subject             string // Betreff: the user's subject
	CaseNumberRecipient string // Aktenzeichen_Empfaenger
	CaseNumberSender    string // Aktenzeichen_Absender
	FreeText            string // Freitext
}

func (n Nachricht) fields() [][2]string {
	return [][2]string{{"Nachrichtentyp", n.MessageType}, {"Signaturniveau", n.SignatureLevel},
		{"Empfaengerkennung", n.RecipientID}, {"Betreff", n.Subject}, {"Aktenzeichen_Empfaenger", n.CaseNumberRecipient},
		{"Aktenzeichen_Absender", n.CaseNumberSender}, {"Freitext", n.FreeText}}
}

// XML returns nachricht.xml as EGVP clients write it.
func (n Nachricht) XML() ([]byte, error) { return flatXML("Nachricht", n.fields()) }

// BusinessCard is visitenkarte.xml: the sender as SAFE lists it.
type BusinessCard struct {
	Organisation       string `json:"organisation,omitempty"`       // Organisation
	OrganisationSuffix string `json:"organisationSuffix,omitempty"` // Organisationszusatz
	Salutation         string `json:"salutation,omitempty"`         // Anrede
	Title              string `json:"title,omitempty"`              // Titel
	FirstName          string `json:"firstName,omitempty"`          // Vorname
	Name               string `json:"name,omitempty"`               // Name
	Street             string `json:"street,omitempty"`             // Strasse
	HouseNumber        string `json:"houseNumber,omitempty"`        // Hausnummer
	PostalCode         string `json:"postalCode,omitempty"`         // Postleitzahl
	City               string `json:"city,omitempty"`               // Ort
	State              string `json:"state,omitempty"`              // Bundesland
	Country            string `json:"country,omitempty"`            // Land
	Email              string `json:"email,omitempty"`              // E-Mail
	Mobile             string `json:"mobile,omitempty"`             // Mobiltelefon
	Phone              string `json:"phone,omitempty"`              // Telefon
	Fax                string `json:"fax,omitempty"`                // Fax
	UserID             string `json:"userId,omitempty"`             // Nutzer_ID: the SAFE-ID
	RoleID             string `json:"roleId,omitempty"`             // Rollen_ID, e.g. egvp_bebpo
	ExternalID         string `json:"externalId,omitempty"`         // Externe_ID
}

func (c *BusinessCard) fields() [][2]*string {
	return [][2]*string{{ptr("Organisation"), &c.Organisation}, {ptr("Organisationszusatz"), &c.OrganisationSuffix},
		{ptr("Anrede"), &c.Salutation}, {ptr("Titel"), &c.Title}, {ptr("Vorname"), &c.FirstName}, {ptr("Name"), &c.Name},
		{ptr("Strasse"), &c.Street}, {ptr("Hausnummer"), &c.HouseNumber}, {ptr("Postleitzahl"), &c.PostalCode},
		{ptr("Ort"), &c.City}, {ptr("Bundesland"), &c.State}, {ptr("Land"), &c.Country}, {ptr("E-Mail"), &c.Email},
		{ptr("Mobiltelefon"), &c.Mobile}, {ptr("Telefon"), &c.Phone}, {ptr("Fax"), &c.Fax}, {ptr("Nutzer_ID"), &c.UserID},
		{ptr("Rollen_ID"), &c.RoleID}, {ptr("Externe_ID"), &c.ExternalID}}
}

func ptr(s string) *string { return &s }

// XML returns visitenkarte.xml.
func (c BusinessCard) XML() ([]byte, error) {
	var fs [][2]string
	for _, f := range c.fields() {
		fs = append(fs, [2]string{*f[0], *f[1]})
	}
	return flatXML("Visitenkarte", fs)
}

// DisplayName is the name a person reads: Vorname Name, else the Organisation.
func (c BusinessCard) DisplayName() string {
	n := strings.TrimSpace(strings.Join([]string{c.Title, c.FirstName, c.Name}, " "))
	n = strings.Join(strings.Fields(n), " ")
	if n == "" {
		return c.Organisation
	}
	return n
}

// Manufacturer is herstellerinformation.xml.
type Manufacturer struct {
	Product        string // Name_des_Produkts_und_Softwareversion
	Vendor         string // Hersteller_des_Produkts
	RegistrationID string // Registrierungs_ID (assigned by the EGVP registration; empty for us)
}

func (m Manufacturer) fields() [][2]string {
	return [][2]string{{"Name_des_Produkts_und_Softwareversion", m.Product}, {"Hersteller_des_Produkts", m.Vendor},
		{"Registrierungs_ID", m.RegistrationID}}
}

// XML returns herstellerinformation.xml.
func (m Manufacturer) XML() ([]byte, error) { return flatXML("Herstellerinformation", m.fields()) }

// flatXML writes <root><name>value</name>…</root> with the declaration
// EGVP clients write. Values must be valid XML text.
func flatXML(root string, fields [][2]string) ([]byte, error) {
	doc := etree.NewDocument()
	r := doc.CreateElement(root)
	for _, f := range fields {
		if !xmltext.Valid(f[1]) {
			return nil, fmt.Errorf("%w: %s holds characters XML cannot carry", ErrInvalid, f[0])
		}
		r.CreateElement(f[0]).SetText(f[1])
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	doc.WriteSettings.CanonicalText = true
	if _, err := doc.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// flatFields parses a flat form with xmlsec.Parse (no DOCTYPE, limits) and
// returns its children's texts by local name. A repeated child is an error.
func flatFields(data []byte, root string, lim xmlsec.Limits) (map[string]string, error) {
	doc, err := xmlsec.ParseBytes(data, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, root, err)
	}
	r := doc.Root()
	if r.Tag != root || r.NamespaceURI() != "" {
		return nil, fmt.Errorf("%w: root is %s, want %s", ErrInvalid, r.FullTag(), root)
	}
	out := map[string]string{}
	for _, c := range r.ChildElements() {
		if _, dup := out[c.Tag]; dup {
			return nil, fmt.Errorf("%w: %s: %s repeated", ErrInvalid, root, c.Tag)
		}
		out[c.Tag] = c.Text()
	}
	return out, nil
}

// ParseNachricht reads nachricht.xml. Single-line fields are trimmed; the
// free text keeps its line breaks (normalised to LF).
func ParseNachricht(data []byte, lim xmlsec.Limits) (Nachricht, error) {
	f, err := flatFields(data, "Nachricht", lim)
	if err != nil {
		return Nachricht{}, err
	}
	n := Nachricht{MessageType: trim(f["Nachrichtentyp"]), SignatureLevel: trim(f["Signaturniveau"]),
		RecipientID: trim(f["Empfaengerkennung"]), Subject: trim(f["Betreff"]),
		CaseNumberRecipient: trim(f["Aktenzeichen_Empfaenger"]), CaseNumberSender: trim(f["Aktenzeichen_Absender"]),
		FreeText: strings.TrimSpace(xmltext.LineBreaksToLF(f["Freitext"]))}
	return n, nil
}

// ParseBusinessCard reads visitenkarte.xml.
func ParseBusinessCard(data []byte, lim xmlsec.Limits) (BusinessCard, error) {
	f, err := flatFields(data, "Visitenkarte", lim)
	if err != nil {
		return BusinessCard{}, err
	}
	var c BusinessCard
	for _, fl := range c.fields() {
		*fl[1] = trim(f[*fl[0]])
	}
	return c, nil
}

// ParseManufacturer reads herstellerinformation.xml.
func ParseManufacturer(data []byte, lim xmlsec.Limits) (Manufacturer, error) {
	f, err := flatFields(data, "Herstellerinformation", lim)
	if err != nil {
		return Manufacturer{}, err
	}
	return Manufacturer{Product: trim(f["Name_des_Produkts_und_Softwareversion"]), Vendor: trim(f["Hersteller_des_Produkts"]),
		RegistrationID: trim(f["Registrierungs_ID"])}, nil
}

// trim collapses a single-line field's whitespace.
func trim(s string) string { return strings.Join(strings.Fields(s), " ") }

// AdditionalInfos is govello_coco/additional_infos, a Java properties text
// (user_id, signature_level, subject).
type AdditionalInfos map[string]string

// Bytes writes the properties as java.util.Properties.store does: a date
// comment, CRLF lines, ISO-8859-1 with \uXXXX escapes, in the given key order.
func (a AdditionalInfos) Bytes(keys []string, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("#" + now.Format("Mon Jan 02 15:04:05 MST 2006") + "\r\n")
	for _, k := range keys {
		v, ok := a[k]
		if !ok {
			continue
		}
		b.WriteString(escapeProperty(k, true) + "=" + escapeProperty(v, false) + "\r\n")
	}
	return []byte(b.String())
}

func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\' || r == ':' || r == '=' || r == '#' || r == '!':
			b.WriteString(`\` + string(r))
		case r == ' ' && (key || i == 0):
			b.WriteString(`\ `)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16Units(r) {
				fmt.Fprintf(&b, `\u%04X`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func utf16Units(r rune) []uint16 {
	if r < 0x10000 {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xD800 + (r >> 10)), uint16(0xDC00 + (r & 0x3FF))}
}

// ParseAdditionalInfos reads a properties text (the subset EGVP writes:
// key=value or key:value lines, # and ! comments, backslash escapes,
// continuation lines). The octets are ISO-8859-1 unless they are valid UTF-8.
func ParseAdditionalInfos(data []byte) (AdditionalInfos, error) {
	text := string(data)
	if !utf8.Valid(data) {
		rs := make([]rune, len(data))
		for i, c := range data {
			rs[i] = rune(c)
		}
		text = string(rs)
	}
	out := AdditionalInfos{}
	lines := strings.Split(xmltext.LineBreaksToLF(text), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for strings.HasSuffix(line, `\`) && !strings.HasSuffix(line, `\\`) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		k, v, err := splitProperty(line)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// splitProperty splits a logical line at the first unescaped '=', ':' or
// white space; key and value are unescaped alike (\uXXXX included).
func splitProperty(line string) (string, string, error) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' && i+1 < len(line) {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	key, err := unescapeProperty(line[:i])
	if err != nil {
		return "", "", err
	}
	rest := strings.TrimLeft(line[i:], " \t\f")
	if strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, ":") {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	v, err := unescapeProperty(rest)
	return key, v, err
}

func unescapeProperty(s string) (string, error) {
	var b strings.Builder
	var pending []uint16
	flush := func() {
		for len(pending) > 0 {
			r := rune(pending[0])
			if r >= 0xD800 && r < 0xDC00 && len(pending) > 1 {
				r = 0x10000 + (r-0xD800)<<10 + rune(pending[1]) - 0xDC00
				pending = pending[1:]
			}
			b.WriteRune(r)
			pending = pending[1:]
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			flush()
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("%w: additional_infos: short \\u escape", ErrInvalid)
			}
			u, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("%w: additional_infos: bad \\u escape", ErrInvalid)
			}
			pending = append(pending, uint16(u))
			i += 4
			continue
		case 'n':
			flush()
			b.WriteByte('\n')
		case 'r':
			flush()
			b.WriteByte('\r')
		case 't':
			flush()
			b.WriteByte('\t')
		case 'f':
			flush()
			b.WriteByte('\f')
		default:
			flush()
			b.WriteByte(s[i])
		}
	}
	flush()
	return b.String(), nil
}

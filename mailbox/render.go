package mailbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

// The fixed file names of an intake entry besides the documents.
const (
	FileMetadataJSON  = "metadata.json"
	FileMetadataXML   = "metadata.xml"
	FileReportXML     = "pruefprotokoll.xml"
	FileReportHTML    = "pruefprotokoll.html"
	FileOriginal      = "nachricht.osci"
	FileManifest      = "manifest.sha256"
	DocumentsDir      = "dokumente"
	CertificatesDir   = "zertifikate"
	intakeFormatVer   = "1"
	intakeTimeLayout  = time.RFC3339
	intakeEntryPrefix = "id-"
)

var plainID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

// EntryName is the directory (or key) of a message's intake entry, derived
// from its MessageId alone so a second hand-over finds the first.
func EntryName(osciMessageID string) string {
	if plainID.MatchString(osciMessageID) {
		return osciMessageID
	}
	h := sha256.Sum256([]byte(osciMessageID))
	return fmt.Sprintf("%s%x", intakeEntryPrefix, h[:20])
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(intakeTimeLayout)
}

// berlin is the time zone of the people who read the Prüfprotokoll: a
// message that arrived at 00:30 German time arrived on that day, not on
// the day before as UTC would say (tzdata is embedded).
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// LocalTime shows a time (a time.Time, or one in the intake's RFC 3339
// form) as German readers expect it: "03.12.2026, 07:51:47 Uhr (MEZ)",
// in Europe/Berlin; every German page of the gateway shows times so.
func LocalTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return x
		}
		t = p
	}
	if t.IsZero() {
		return ""
	}
	t = t.In(berlin)
	zone, _ := t.Zone()
	switch zone {
	case "CET":
		zone = "MEZ"
	case "CEST":
		zone = "MESZ"
	}
	return t.Format("02.01.2006, 15:04:05") + " Uhr (" + zone + ")"
}

// RenderMetadataJSON returns metadata.json.
func RenderMetadataJSON(m IntakeMetadata) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("mailbox: render metadata.json: %w", err)
	}
	return append(b, '\n'), nil
}

// RenderMetadataXML returns metadata.xml.
func RenderMetadataXML(m IntakeMetadata) ([]byte, error) {
	return renderXML(m, "metadata.xml")
}

func renderXML(v any, what string) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("mailbox: render %s: %w", what, err)
	}
	out := append([]byte(xml.Header), b...)
	return append(out, '\n'), nil
}

type reportXML struct {
	XMLName        xml.Name       `xml:"urn:bebpo-gateway:pruefprotokoll:1 Pruefprotokoll"`
	Version        string         `xml:"version,attr"`
	MessageID      string         `xml:"MessageId"`
	Pruefzeitpunkt string         `xml:"Pruefzeitpunkt"`
	Gesamtergebnis string         `xml:"Gesamtergebnis"`
	Begruendung    *reasonXML     `xml:"Begruendung,omitempty"`
	Dokumente      *docVerdictXML `xml:"Dokumentsignaturen,omitempty"`
	VHNVorhanden   bool           `xml:"VHNVorhanden"`
	VHNText        string         `xml:"Uebermittlungsweg,omitempty"`
	Absender       senderXML      `xml:"Absender"`
	Signaturen     []signatureXML `xml:"Signaturen>Signatur"`
	Inhalte        []contentXML   `xml:"Inhalte>Inhalt,omitempty"`
	Probleme       []string       `xml:"Probleme>Problem,omitempty"`
	Hinweise       NoteList       `xml:"Hinweise"`
}

// docVerdictXML is the result over the signatures on the documents
// themselves, beside the message's Gesamtergebnis.
type docVerdictXML struct {
	Ergebnis string `xml:"ergebnis,attr"`
	Text     string `xml:",chardata"`
}

type reasonXML struct {
	Code string `xml:"code,attr"`
	Text string `xml:",chardata"`
}

// senderXML keeps the confirmed sender and the sender's own claims apart;
// the claims say so in their attribute.
type senderXML struct {
	Bestaetigt    ConfirmedSender `xml:"Bestaetigt"`
	Angaben       claimedXML      `xml:"AngabenDesAbsenders"`
	Widersprueche []string        `xml:"Widersprueche>Widerspruch,omitempty"`
	Hinweise      []string        `xml:"Hinweise>Hinweis,omitempty"`
}

type claimedXML struct {
	Bestaetigt string `xml:"bestaetigt,attr"` // always "nein"
	Party
}

type contentXML struct {
	Container     string   `xml:"container,attr"`
	Name          string   `xml:"Name"`
	Dokument      string   `xml:"Dokument,omitempty"`
	Art           string   `xml:"Art"`
	Uebergeben    bool     `xml:"Uebergeben"`
	Signiert      bool     `xml:"Signiert"`
	SigniertDurch string   `xml:"SigniertDurch,omitempty"`
	SigniertVon   []string `xml:"SigniertVon,omitempty"`
}

type signatureXML struct {
	Objekt            string `xml:"Objekt"`
	Art               string `xml:"Art"`
	Integritaet       string `xml:"Integritaet"`
	Zertifikat        string `xml:"Zertifikatspruefung"`
	Zertifikatstyp    string `xml:"Zertifikatstyp,omitempty"`
	Signierer         string `xml:"Signierer"`
	Aussteller        string `xml:"Aussteller"`
	Seriennummer      string `xml:"Seriennummer"`
	Signaturzeitpunkt string `xml:"Signaturzeitpunkt,omitempty"`
	Pruefzeitpunkt    string `xml:"Pruefzeitpunkt"`
	Hinweis           string `xml:"Hinweis,omitempty"`
	Dokument          string `xml:"Dokument,omitempty"`
	Ergebnis          string `xml:"Ergebnis,omitempty"`
}

// RenderReportXML returns pruefprotokoll.xml.
func RenderReportXML(m IntakeMetadata, r VerificationReport) ([]byte, error) {
	x := reportXML{Version: intakeFormatVer, MessageID: m.MessageID, Pruefzeitpunkt: fmtTime(r.CheckedAt),
		Gesamtergebnis: r.Status(), VHNVorhanden: r.VHNPresent, VHNText: r.VHNText, Probleme: r.Problems, Hinweise: r.Notes,
		Absender: senderXML{Bestaetigt: m.Sender.Confirmed, Angaben: claimedXML{Bestaetigt: "nein", Party: m.Sender.Claimed},
			Widersprueche: r.SenderConflicts, Hinweise: r.SenderNotes}}
	if r.Reason != "" || r.ReasonText != "" {
		x.Begruendung = &reasonXML{Code: r.Reason, Text: r.ReasonText}
	}
	if r.DocumentVerdict != "" {
		x.Dokumente = &docVerdictXML{Ergebnis: r.DocumentVerdict, Text: r.DocumentVerdictText}
	}
	for _, s := range r.Signatures {
		x.Signaturen = append(x.Signaturen, signatureXML{Objekt: s.Object, Art: s.Kind, Integritaet: s.Integrity,
			Zertifikat: s.CertValidity, Zertifikatstyp: s.CertType, Signierer: s.Signer, Aussteller: s.Issuer,
			Seriennummer: s.Serial, Signaturzeitpunkt: fmtTime(s.SigningTime), Pruefzeitpunkt: fmtTime(s.CheckedAt), Hinweis: s.Detail,
			Dokument: s.Document, Ergebnis: s.Result})
	}
	for _, c := range r.Contents {
		x.Inhalte = append(x.Inhalte, contentXML{Container: c.Container, Name: c.Name, Dokument: c.Document, Art: c.Kind, Uebergeben: c.Delivered,
			Signiert: c.Signed, SigniertDurch: c.Coverage, SigniertVon: c.SignedBy})
	}
	return renderXML(x, "pruefprotokoll.xml")
}

// The German words of the Prüfprotokoll, shared by its HTML and PDF.

// resultDE names a check's result.
func resultDE(s string) string {
	switch s {
	case checkresult.OK:
		return "unverändert (ok)"
	case checkresult.Corrupted:
		return "verändert (fehlerhaft)"
	case checkresult.Valid:
		return "gültig"
	case checkresult.Invalid:
		return "ungültig"
	case checkresult.Indeterminate:
		return "nicht feststellbar"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "ja"
	}
	return "nein"
}

// coverageDE says what a signature covering a document was.
func coverageDE(s string) string {
	switch s {
	case "content-signature":
		return " durch Inhaltssignatur"
	case "transport-signature":
		return " durch die Transportsignatur des Absenders (vom Intermediär geprüft)"
	case "mixed":
		return " durch Inhalts- und Transportsignatur"
	}
	return ""
}

// trustDE names what a sender's certificate was checked as.
func trustDE(s string) string {
	switch s {
	case "vhn":
		return "VHN-Zertifikat (vertrauenswürdiger Herkunftsnachweis)"
	case "content-signer":
		return "Signaturzertifikat eines Beteiligten"
	}
	return s
}

var reportHTML = template.Must(template.New("pruefprotokoll").Funcs(template.FuncMap{
	"t":        LocalTime,
	"de":       resultDE,
	"yn":       yesNo,
	"join":     func(s []string) string { return strings.Join(s, "; ") },
	"coverage": coverageDE,
	"trust":    trustDE,
}).Parse(`<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>Prüfprotokoll {{.M.MessageID}}</title>
<style>
body{font-family:sans-serif;font-size:10pt;max-width:60em;margin:1em auto}
table{border-collapse:collapse;width:100%;margin-bottom:1em}
th,td{border:1px solid #888;padding:.2em .4em;text-align:left;vertical-align:top}
th{background:#eee;width:14em}
.valid{color:#226622}.invalid{color:#882222}.indeterminate{color:#777722}
</style>
</head>
<body>
<h1>Prüfprotokoll</h1>
<table>
<tr><th>Nachrichtenkennzeichen</th><td>{{.M.MessageID}}</td></tr>
<tr><th>Gesamtergebnis</th><td class="{{.R.Status}}">{{de .R.Status}}{{if .R.ReasonText}}: {{.R.ReasonText}}{{end}}</td></tr>
{{if .R.DocumentVerdict}}<tr><th>Signaturen der Dokumente</th><td class="{{.R.DocumentVerdict}}">{{de .R.DocumentVerdict}}{{if .R.DocumentVerdictText}}: {{.R.DocumentVerdictText}}{{end}}</td></tr>
{{end}}<tr><th>Prüfzeitpunkt</th><td>{{t .R.CheckedAt}}</td></tr>
<tr><th>Übermittlungsweg (VHN)</th><td>{{yn .R.VHNPresent}}{{if .R.VHNText}}: {{.R.VHNText}}{{end}}</td></tr>
<tr><th>Eingang beim Intermediär</th><td>{{t .M.Creation}}</td></tr>
<tr><th>Weiterleitung durch den Intermediär</th><td>{{t .M.Forwarding}}</td></tr>
<tr><th>Abholung (Empfangsbestätigung)</th><td>{{t .M.Reception}}</td></tr>
<tr><th>Empfängerpostfach</th><td>{{.M.Mailbox}}</td></tr>
<tr><th>Betreff</th><td>{{.M.UserSubject}}</td></tr>
<tr><th>OSCI-Betreff</th><td>{{.M.OSCISubject}}</td></tr>
<tr><th>Aktenzeichen Absender / Empfänger</th><td>{{.M.CaseNumberSender}} / {{.M.CaseNumberRecipient}}</td></tr>
{{if .M.SameContentAs}}<tr><th>Hinweis</th><td>Gleicher Inhalt wie Nachricht {{.M.SameContentAs}}: die Dokumente gleichen denen einer früher eingegangenen Nachricht. Zugestellt wie jede andere Nachricht.</td></tr>
{{end}}</table>
{{range .R.Problems}}<p class="invalid">Problem: {{.}}</p>
{{end}}{{range .R.Notes}}<p class="indeterminate">Hinweis: {{.}}</p>
{{end}}<h2>Absender (durch geprüftes Zertifikat bestätigt)</h2>
<table>
{{with .M.Sender.Confirmed}}{{if .TrustedFor}}<tr><th>Nutzer-ID (SAFE-ID)</th><td>{{or .SafeID "nicht bestätigt"}}</td></tr>
<tr><th>Rolle</th><td>{{or .RoleID "nicht bestätigt"}}</td></tr>
<tr><th>Zertifikat</th><td>{{.Certificate}}</td></tr>
<tr><th>Aussteller</th><td>{{.Issuer}}</td></tr>
<tr><th>Geprüft als</th><td>{{trust .TrustedFor}}</td></tr>
{{else}}<tr><td>Keine Angabe zum Absender ist durch ein geprüftes Zertifikat bestätigt.</td></tr>
{{end}}{{end}}</table>
<h2>Angaben des Absenders (nicht bestätigt)</h2>
<p>Vom Absender selbst angegeben (Visitenkarte); nicht geprüft.</p>
<table>
<tr><th>Nutzer-ID (SAFE-ID)</th><td>{{.M.Sender.Claimed.SafeID}}</td></tr>
<tr><th>Rollen-ID</th><td>{{.M.Sender.Claimed.RoleID}}</td></tr>
<tr><th>Name</th><td>{{.M.Sender.Claimed.Name}}</td></tr>
<tr><th>Organisation</th><td>{{.M.Sender.Claimed.Organisation}}</td></tr>
</table>
{{range .R.SenderConflicts}}<p class="invalid">Widerspruch: {{.}}</p>
{{end}}{{range .R.SenderNotes}}<p class="indeterminate">Hinweis: {{.}}</p>
{{end}}<h2>Signaturen</h2>
{{range .R.Signatures}}<table>
<tr><th>Objekt</th><td>{{.Object}} ({{.Kind}})</td></tr>
{{if .Result}}<tr><th>Ergebnis</th><td class="{{.Result}}">{{de .Result}}</td></tr>
{{end}}<tr><th>Integrität</th><td class="{{if eq .Integrity "ok"}}valid{{else}}invalid{{end}}">{{de .Integrity}}</td></tr>
<tr><th>Zertifikat</th><td class="{{.CertValidity}}">{{de .CertValidity}}{{if .CertType}} ({{.CertType}}){{end}}</td></tr>
<tr><th>Signierer</th><td>{{.Signer}}</td></tr>
<tr><th>Aussteller</th><td>{{.Issuer}}</td></tr>
<tr><th>Seriennummer</th><td>{{.Serial}}</td></tr>
<tr><th>Signaturzeitpunkt</th><td>{{t .SigningTime}}</td></tr>
<tr><th>Prüfzeitpunkt</th><td>{{t .CheckedAt}}</td></tr>
{{if .Detail}}<tr><th>Hinweis</th><td>{{.Detail}}</td></tr>
{{end}}</table>
{{else}}<p class="indeterminate">Keine Signatur gefunden.</p>
{{end}}<h2>Dokumente</h2>
<table>
<tr><th>Datei</th><td><b>Originalname · Größe · SHA-256 · Typ · Signatur</b></td></tr>
{{range .M.Documents}}<tr><th>{{.FileName}}</th><td>{{.OriginalName}} · {{.Size}} Bytes · <code>{{.SHA256}}</code> · {{.ContentType}} · {{if .Signed}}<span class="valid">signiert</span>{{coverage .Coverage}} von {{join .SignedBy}}{{else}}<span class="indeterminate">nicht signiert</span>{{end}}{{with .DocumentSignature}} · Signatur im Dokument: <span class="{{.}}">{{de .}}</span>{{end}}</td></tr>
{{end}}</table>
{{if .R.Contents}}<h2>Inhalte</h2>
<table>
<tr><th>Container / Inhalt</th><td><b>Art · Signatur</b></td></tr>
{{range .R.Contents}}<tr><th>{{.Container}} / {{or .Name "(ohne Namen)"}}</th><td>{{.Kind}}{{if .Document}} {{.Document}}{{end}}{{if not .Delivered}} (nicht übergeben){{end}} · {{if .Signed}}<span class="valid">signiert</span>{{coverage .Coverage}} von {{join .SignedBy}}{{else}}<span class="indeterminate">nicht signiert</span>{{end}}</td></tr>
{{end}}</table>
{{end}}</body>
</html>
`))

// RenderReportHTML returns pruefprotokoll.html; every value is escaped.
func RenderReportHTML(m IntakeMetadata, r VerificationReport) ([]byte, error) {
	var b bytes.Buffer
	if err := reportHTML.Execute(&b, struct {
		M IntakeMetadata
		R VerificationReport
	}{m, r}); err != nil {
		return nil, fmt.Errorf("mailbox: render pruefprotokoll.html: %w", err)
	}
	return b.Bytes(), nil
}

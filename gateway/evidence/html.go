package evidence

import (
	"bytes"
	"fmt"
	"html/template"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var page = template.Must(template.New("nachweis").Funcs(template.FuncMap{
	"t": func(t time.Time) string {
		if s := mailbox.LocalTime(t); s != "" {
			return s
		}
		return "–"
	},
	"state": stateName,
}).Parse(`<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<title>Übermittlungsnachweis Nachricht {{.MessageID}}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
.main { font-size: 1.2em; font-weight: bold; }
code, pre { font-family: monospace; word-break: break-all; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>Übermittlungsnachweis</h1>
<p>Erstellt am {{t .GeneratedAt}} aus den gespeicherten Daten des Gateways. Zeitangaben in deutscher Ortszeit.</p>

<h2>Nachricht</h2>
<table>
<tr><th>Nachricht (intern)</th><td>{{.MessageID}}</td></tr>
<tr><th>OSCI-MessageId</th><td><code>{{if .OSCIMessageID}}{{.OSCIMessageID}}{{else}}noch nicht vergeben{{end}}</code></td></tr>
<tr><th>Absendendes Postfach</th><td>{{.Mailbox}}</td></tr>
<tr><th>Empfänger (SAFE-ID)</th><td>{{.Recipient}}</td></tr>
<tr><th>Betreff</th><td>{{.Subject}}</td></tr>
<tr><th>Eingereicht beim Gateway</th><td>{{t .SubmittedAt}}</td></tr>
<tr><th>Stand</th><td>{{state .State}}</td></tr>
</table>

<h2>Eingang laut Laufzettel</h2>
{{with .ProcessCard}}<table>
<tr><th>Empfang durch den Empfänger (Reception)</th><td class="main">{{if .Reception.IsZero}}noch nicht bestätigt{{else}}{{t .Reception}}{{end}}</td></tr>
<tr><th>Annahme durch den Intermediär (Creation)</th><td>{{t .Creation}}</td></tr>
<tr><th>Weiterleitung (Forwarding)</th><td>{{t .Forwarding}}</td></tr>
<tr><th>Letzte Änderung</th><td>{{t .RecentModification}}</td></tr>
<tr><th>Laufzettel zur MessageId</th><td><code>{{.OSCIMessageID}}</code></td></tr>
</table>
{{if .Inspections}}<table>
<tr><th>Prüfung am</th><th>Zertifikat</th><th>Aussteller</th><th>Mathematisch</th><th>Gültigkeit</th></tr>
{{range .Inspections}}<tr><td>{{t .Time}}</td><td>{{.Subject}}</td><td>{{.Issuer}}</td><td>{{.MathResult}}</td><td>{{.OfflineResult}}</td></tr>
{{end}}</table>
{{end}}{{else}}<p class="main">Noch kein Laufzettel: der Intermediär hat die Nachricht noch nicht bestätigt.</p>
{{end}}
<h2>Dokumente</h2>
<table>
<tr><th>Datei</th><th>Art</th><th>Größe (Bytes)</th><th>SHA-256</th></tr>
{{range .Documents}}<tr><td>{{.Name}}{{if not .PurgedAt.IsZero}}<br>Inhalt nach der Aufbewahrungsfrist gelöscht am {{t .PurgedAt}}; Größe und SHA-256 wie bei der Einreichung im Journal festgehalten{{end}}</td><td>{{.Role}}</td><td>{{.Size}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>

{{with .Record}}<h2>XJustiz-Datensatz ({{.File}})</h2>
<table>
<tr><th>Nachrichtentyp</th><td>{{.Message}}</td></tr>
<tr><th>Eigene Nachrichten-ID</th><td><code>{{.MessageID}}</code></td></tr>
<tr><th>Gericht</th><td>{{.CourtName}}{{if .Court}} ({{.Court}}){{end}}</td></tr>
<tr><th>Aktenzeichen Absender</th><td>{{.CaseSender}}</td></tr>
<tr><th>Aktenzeichen Empfänger</th><td>{{.CaseRecipient}}</td></tr>
<tr><th>eEB angefordert</th><td>{{if .EEBRequested}}ja{{else}}nein{{end}}</td></tr>
</table>
<pre>{{.XML}}</pre>
{{end}}
<h2>Elektronisches Empfangsbekenntnis</h2>
{{if .EEB}}<table>
<tr><th>Ergebnis</th><th>Datum / Grund</th><th>Eingegangen</th><th>Nachricht (intern)</th></tr>
{{range .EEB}}<tr><td>{{if eq .Result "rejected"}}abgelehnt{{else}}bestätigt{{end}}</td><td>{{if .AcknowledgedOn}}Empfang am {{.AcknowledgedOn}}{{else}}{{.RejectCode}} {{.RejectName}}{{if .RejectReason}}: {{.RejectReason}}{{end}}{{end}}</td><td>{{t .ReceivedAt}}</td><td>{{.ReplyMessageID}}</td></tr>
{{end}}</table>
{{else}}<p>Keine Antwort des Gerichts verzeichnet.</p>
{{end}}
<h2>Journal</h2>
<table>
<tr><th>Nr.</th><th>Zeit</th><th>Ereignis</th><th>Angaben</th><th>Hash</th></tr>
{{range .Journal}}<tr><td>{{.Seq}}</td><td>{{t .At}}</td><td>{{.Kind}}</td><td>{{range $k, $v := .Detail}}{{$k}}: {{$v}}<br>{{end}}</td><td><code>{{.Hash}}</code></td></tr>
{{end}}</table>
</body>
</html>
`))

// stateName is the German name of a message state.
func stateName(s string) string {
	switch mailbox.State(s) {
	case mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateSending:
		return "in Versendung"
	case mailbox.StateSent:
		return "vom Intermediär angenommen"
	case mailbox.StateConfirmed:
		return "vom Empfänger abgeholt"
	case mailbox.StateFailed:
		return "gescheitert"
	case mailbox.StateHeld:
		return "angehalten"
	case mailbox.StateDeleted:
		return "gelöscht"
	}
	return s
}

// HTML renders the bundle as a German page for the case file.
func (b *Bundle) HTML() ([]byte, error) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, b); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return buf.Bytes(), nil
}

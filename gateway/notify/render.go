package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strconv"
	"strings"
	"time"
)

// Text is what a notification says: a headline, the page and the
// number of the thing on it. It is all a notification carries: never a
// subject, a sender, a case number or a document.
type Text struct {
	Headline string // "Neue Nachricht im Postfach rechtsamt"
	URL      string
	Ref      string // "Nachrichten-Nr. 42"
}

// render makes the text of n with its page at url.
func render(n Notice, url string) Text {
	id := strconv.FormatInt(n.Ref, 10)
	t := Text{URL: url}
	switch n.Kind {
	case KindNewMail:
		t.Headline, t.Ref = "Neue Nachricht im Postfach "+n.Mailbox, "Nachrichten-Nr. "+id
	case KindQuarantine:
		t.Headline, t.Ref = "Nachricht in Quarantäne im Postfach "+n.Mailbox, "Nachrichten-Nr. "+id
	case KindEEBDue:
		t.Headline, t.Ref = "eEB-Anforderung wartet auf Antwort im Postfach "+n.Mailbox, "eEB-Aufgabe Nr. "+id
	case KindRegisterEntries:
		t.Headline, t.Ref = "Wettbewerbsregister: Auskunft mit Eintragungen", "Verfahren Nr. "+id+", Auskunft Nr. "+strconv.FormatInt(n.Item, 10)
	default:
		t.Headline, t.Ref = "Hinweis im Postfach "+n.Mailbox, "Nr. "+id
	}
	return t
}

// footer closes every e-mail and says why it is so short.
const footer = "Diese Benachrichtigung enthält bewusst keine Inhalte, Absender oder Aktenzeichen.\r\n" +
	"Sie sehen die Nachricht nach der Anmeldung in der Webanwendung.\r\n" +
	"Benachrichtigungen ändern Sie dort unter Einstellungen > Benachrichtigungen.\r\n"

// email builds the RFC 5322 message of a job: text/plain in UTF-8,
// quoted-printable, marked auto-generated (RFC 3834) so that no
// out-of-office reply answers it. The Message-ID is the job's, so a
// message sent again after a crash is recognisable as the same.
func email(from, to string, j Job, t Text, now time.Time) ([]byte, error) {
	for _, h := range []string{from, to} {
		if strings.ContainsAny(h, "\r\n") {
			return nil, fmt.Errorf("%w: line break in an address", ErrPermanent)
		}
	}
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = strings.Trim(from[i+1:], "<> ")
	}
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", t.Headline))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<notify."+strconv.FormatInt(j.ID, 10)+"."+strconv.FormatInt(j.CreatedAt.UnixNano(), 36)+"@"+domain+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := t.Headline + ".\r\n\r\n" + t.URL + "\r\n" + t.Ref + "\r\n\r\n" + footer
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Payload is the generic webhook's JSON object.
type Payload struct {
	Kind    Kind   `json:"kind"`
	Mailbox string `json:"mailbox"`
	Text    string `json:"text"`
	URL     string `json:"url"`
	Ref     int64  `json:"id"`
	Item    int64  `json:"item,omitempty"`
	At      string `json:"at"` // RFC 3339, when the notification was queued
}

// webhookBody is the JSON a webhook of format f receives.
func webhookBody(f WebhookFormat, j Job, t Text) ([]byte, error) {
	switch f {
	case FormatJSON, "":
		return json.Marshal(Payload{Kind: j.Notice.Kind, Mailbox: j.Notice.Mailbox, Text: t.Headline, URL: t.URL, Ref: j.Notice.Ref,
			Item: j.Notice.Item, At: j.CreatedAt.UTC().Format(time.RFC3339)})
	case FormatTeams:
		card := map[string]any{
			"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
			"type":    "AdaptiveCard",
			"version": "1.4",
			"body": []any{
				map[string]any{"type": "TextBlock", "text": t.Headline, "weight": "Bolder", "wrap": true},
				map[string]any{"type": "TextBlock", "text": t.Ref, "wrap": true},
			},
			"actions": []any{map[string]any{"type": "Action.OpenUrl", "title": "Öffnen", "url": t.URL}},
		}
		return json.Marshal(map[string]any{"type": "message", "attachments": []any{
			map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}})
	}
	return nil, fmt.Errorf("%w: unknown webhook format %q", ErrPermanent, f)
}

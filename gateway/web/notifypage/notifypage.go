package notifypage

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	notifications "github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

// Path is the page where each user chooses what they are told and how.
const Path = "/einstellungen/benachrichtigungen"

// settings is the notification settings page (Benachrichtigungen):
// per kind the user's roles may see (notifications.KindRoles), e-mail
// and/or the webhook, and the webhook's URL and format. The webhook is
// offered only when notify.webhooks allows hosts; its URL must pass the
// same check the sending does.
type settings struct {
	store    *notifications.Store
	webhooks *notifications.Webhooks // nil: no webhook channel
	log      *zap.Logger
}

// kindLabels are the kinds as the page names them.
var kindLabels = map[notifications.Kind]string{
	notifications.KindNewMail:         "Neue Nachrichten in meinen Postfächern",
	notifications.KindEEBDue:          "eEB-Aufgaben kurz vor oder nach Ablauf der Frist",
	notifications.KindQuarantine:      "Nachrichten in Quarantäne",
	notifications.KindRegisterEntries: "Auskünfte des Wettbewerbsregisters mit Eintragungen",
}

// maxWebhookURL bounds the webhook URL field.
const maxWebhookURL = 2000

// Page is the notification settings page on store; webhooks are the
// allowed webhook hosts (nil: the webhook channel is not offered); log
// gets one line per saved choice.
func Page(store *notifications.Store, webhooks *notifications.Webhooks, log *zap.Logger) web.Page {
	p := settings{store: store, webhooks: webhooks, log: log}
	return web.Page{Path: Path, Title: "Benachrichtigungen", Serve: p.serve}
}

// settingsKind is one row of the form.
type settingsKind struct {
	Kind    notifications.Kind
	Label   string
	Choice  notifications.Choice
	Webhook bool // the webhook channel is offered
}

type settingsView struct {
	CSRF     template.HTML
	Email    string
	Kinds    []settingsKind
	Webhooks bool
	URL      string
	Format   notifications.WebhookFormat
	Saved    bool
	Error    string
}

// allowedKinds are the kinds u's roles may be told of, in page order.
func allowedKinds(u web.User) []notifications.Kind {
	var out []notifications.Kind
	for _, k := range notifications.Kinds {
		if slices.ContainsFunc(notifications.KindRoles[k], func(r string) bool { return u.Has(web.Role(r)) }) {
			out = append(out, k)
		}
	}
	return out
}

func (p settings) serve(w http.ResponseWriter, r *http.Request, u web.User) (template.HTML, error) {
	kinds := allowedKinds(u)
	prefs, err := p.store.Preferences(r.Context(), u.Name)
	if err != nil {
		return "", err
	}
	v := settingsView{CSRF: web.CSRFField(r), Email: u.Email, Webhooks: p.webhooks != nil, Saved: r.URL.Query().Get("gespeichert") == "1",
		Format: notifications.FormatTeams}
	if prefs.Webhook != nil {
		v.URL, v.Format = prefs.Webhook.URL, prefs.Webhook.Format
	}
	if r.Method == http.MethodPost {
		next, msg := p.fromForm(r, kinds)
		if msg == "" {
			if err := p.store.SetPreferences(r.Context(), u.Name, next, p.check); err != nil {
				if !errors.Is(err, notifications.ErrHostRefused) && !errors.Is(err, notifications.ErrInvalid) {
					return "", err
				}
				msg = "Diese Webhook-Adresse ist nicht zugelassen: nur https-Adressen der vom Betrieb freigegebenen Server."
			}
		}
		if msg == "" {
			p.log.Info("notification settings saved", zap.String("actor", u.Actor()), zap.Int("kinds", len(next.Kinds)),
				zap.Bool("webhook", next.Webhook != nil))
			http.Redirect(w, r, Path+"?gespeichert=1", http.StatusSeeOther)
			return "", nil
		}
		// Show what was entered, with the reason it was not saved.
		prefs, v.Error, v.Saved = next, msg, false
		v.URL, v.Format = strings.TrimSpace(r.PostFormValue("webhook_url")), notifications.WebhookFormat(r.PostFormValue("webhook_format"))
	}
	for _, k := range kinds {
		v.Kinds = append(v.Kinds, settingsKind{Kind: k, Label: kindLabels[k], Choice: prefs.Kinds[k], Webhook: v.Webhooks})
	}
	var b bytes.Buffer
	if err := settingsTemplate.Execute(&b, v); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// check is the webhook rule of the sending (notifications.Webhooks.CheckURL).
func (p settings) check(raw string) error {
	if p.webhooks == nil {
		return notifications.ErrNoChannel
	}
	_, err := p.webhooks.CheckURL(raw)
	return err
}

// fromForm reads the posted choices for kinds (any other kind posted is
// ignored); msg is the German reason when they cannot be saved.
func (p settings) fromForm(r *http.Request, kinds []notifications.Kind) (prefs notifications.Preferences, msg string) {
	prefs.Kinds = map[notifications.Kind]notifications.Choice{}
	webhookChosen := false
	for _, k := range kinds {
		c := notifications.Choice{Email: r.PostFormValue(string(k)+"_email") == "ja", Webhook: p.webhooks != nil && r.PostFormValue(string(k)+"_webhook") == "ja"}
		if c.Email || c.Webhook {
			prefs.Kinds[k] = c
		}
		webhookChosen = webhookChosen || c.Webhook
	}
	raw := strings.TrimSpace(r.PostFormValue("webhook_url"))
	switch {
	case len(raw) > maxWebhookURL:
		return prefs, "Die Webhook-Adresse ist zu lang."
	case raw == "" && webhookChosen:
		return prefs, "Bitte geben Sie die Webhook-Adresse an oder wählen Sie den Webhook ab."
	case raw != "" && p.webhooks != nil:
		f := notifications.WebhookFormat(r.PostFormValue("webhook_format"))
		if f != notifications.FormatTeams && f != notifications.FormatJSON {
			return prefs, "Bitte wählen Sie das Format des Webhooks."
		}
		prefs.Webhook = &notifications.Webhook{URL: raw, Format: f}
	}
	return prefs, ""
}

var settingsTemplate = template.Must(template.New("benachrichtigungen").Parse(`
{{if .Saved}}<p class="gut" role="status" id="gespeichert">Ihre Einstellungen sind gespeichert.</p>{{end}}
{{if .Error}}<p class="fehler" role="alert" id="einstellungen-fehler">{{.Error}}</p>{{end}}
<p>Wählen Sie, worüber das Gateway Sie benachrichtigt. Eine Benachrichtigung enthält nur einen Hinweis und den Link zur Seite, nie Betreff, Absender oder Dokumente.</p>
{{if not .Kinds}}<p id="keine-arten">Ihre Rollen sehen keine Ereignisse, über die das Gateway benachrichtigt.</p>{{else}}
<form method="post" action="/einstellungen/benachrichtigungen" class="formular" id="benachrichtigungen">{{.CSRF}}
{{if not .Email}}<p class="hinweis" id="keine-adresse">Für Ihr Konto ist keine E-Mail-Adresse hinterlegt; E-Mails können erst nach ihrer Eintragung versandt werden.</p>{{end}}
{{range .Kinds}}<fieldset id="art-{{.Kind}}"><legend>{{.Label}}</legend>
<p class="kasten"><input id="{{.Kind}}_email" name="{{.Kind}}_email" type="checkbox" value="ja"{{if .Choice.Email}} checked{{end}}><label for="{{.Kind}}_email">per E-Mail{{with $.Email}} an {{.}}{{end}}</label></p>
{{if .Webhook}}<p class="kasten"><input id="{{.Kind}}_webhook" name="{{.Kind}}_webhook" type="checkbox" value="ja"{{if .Choice.Webhook}} checked{{end}}><label for="{{.Kind}}_webhook">per Webhook (z. B. Teams-Kanal)</label></p>{{end}}
</fieldset>
{{end}}
{{if .Webhooks}}<fieldset id="webhook"><legend>Webhook</legend>
<p><label for="webhook_url">Webhook-Adresse (https)</label><input id="webhook_url" name="webhook_url" type="url" maxlength="2000" value="{{.URL}}" autocomplete="off"{{if .Error}} aria-invalid="true" aria-describedby="einstellungen-fehler"{{end}}></p>
<p><label for="webhook_format">Format</label><select id="webhook_format" name="webhook_format">
<option value="teams"{{if eq .Format "teams"}} selected{{end}}>Microsoft Teams (Adaptive Card)</option>
<option value="json"{{if eq .Format "json"}} selected{{end}}>JSON</option></select></p>
</fieldset>{{end}}
<p><button type="submit" id="speichern">Speichern</button></p>
</form>{{end}}
`))

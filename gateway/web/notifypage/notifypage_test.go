package notifypage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/zap"

	notifications "github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

func newSettingsPage(t *testing.T, hosts ...string) settings {
	t.Helper()
	st, err := notifications.Open(context.Background(), filepath.Join(t.TempDir(), notifications.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	p := settings{store: st, log: zap.NewNop()}
	if len(hosts) > 0 {
		p.webhooks = &notifications.Webhooks{AllowedHosts: hosts}
	}
	return p
}

// settingsCall serves the page for u: a GET without form, else a POST.
func settingsCall(t *testing.T, p settings, u web.User, form url.Values) (*httptest.ResponseRecorder, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, Path, nil)
	if form != nil {
		req = httptest.NewRequest(http.MethodPost, Path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	body, err := p.serve(w, req, u)
	if err != nil {
		t.Fatal(err)
	}
	return w, string(body)
}

func TestNotifySettingsOfferOnlyTheKindsOfTheUsersRoles(t *testing.T) {
	p := newSettingsPage(t, "hooks.example")
	legal := web.User{Name: "lena", Email: "lena@stadt.example", Roles: []web.Role{web.RoleLegal}, Mailboxes: []string{"stadt"}}
	_, body := settingsCall(t, p, legal, nil)
	for _, want := range []string{`id="new_mail_email"`, `id="eeb_due_webhook"`, `id="webhook_url"`, "an lena@stadt.example", `id="speichern"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, not := range []string{"quarantine_", "register_entries_", `id="keine-adresse"`} {
		if strings.Contains(body, not) {
			t.Errorf("the page of a legal user shows %s", not)
		}
	}
	_, body = settingsCall(t, p, web.User{Name: "admin", Roles: []web.Role{web.RoleAdmin}}, nil)
	if !strings.Contains(body, `id="keine-arten"`) || strings.Contains(body, "<form") {
		t.Error("an admin without a role that sees any kind gets a form")
	}
}

func TestNotifySettingsAreStored(t *testing.T) {
	p := newSettingsPage(t, "hooks.example")
	ctx := context.Background()
	u := web.User{Name: "rita", Email: "rita@stadt.example", Roles: []web.Role{web.RoleRecords}, Mailboxes: []string{"*"}}
	w, _ := settingsCall(t, p, u, url.Values{"new_mail_email": {"ja"}, "quarantine_webhook": {"ja"}, "quarantine_email": {"ja"},
		"register_entries_email": {"ja"}, // not a records kind: ignored
		"webhook_url":            {"https://hooks.example/teams/1"}, "webhook_format": {"teams"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != Path+"?gespeichert=1" {
		t.Fatalf("save: %d %q", w.Code, w.Header().Get("Location"))
	}
	got, err := p.store.Preferences(ctx, "rita")
	if err != nil {
		t.Fatal(err)
	}
	want := notifications.Preferences{Kinds: map[notifications.Kind]notifications.Choice{
		notifications.KindNewMail: {Email: true}, notifications.KindQuarantine: {Email: true, Webhook: true}},
		Webhook: &notifications.Webhook{URL: "https://hooks.example/teams/1", Format: notifications.FormatTeams}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %+v, want %+v", got, want)
	}
	req := httptest.NewRequest(http.MethodGet, Path+"?gespeichert=1", nil)
	body, err := p.serve(httptest.NewRecorder(), req, u)
	if err != nil || !strings.Contains(string(body), `id="gespeichert"`) || !strings.Contains(string(body), `id="quarantine_webhook" name="quarantine_webhook" type="checkbox" value="ja" checked`) ||
		!strings.Contains(string(body), `value="https://hooks.example/teams/1"`) {
		t.Fatalf("the page after saving does not show the choices: %v\n%s", err, body)
	}

	// Unticking everything and clearing the URL removes the choices.
	if w, _ := settingsCall(t, p, u, url.Values{"webhook_url": {""}}); w.Code != http.StatusSeeOther {
		t.Fatalf("clear: %d", w.Code)
	}
	if got, _ := p.store.Preferences(ctx, "rita"); len(got.Kinds) != 0 || got.Webhook != nil {
		t.Fatalf("after clearing: %+v", got)
	}
}

func TestNotifySettingsRefuseAWebhookTheSendingWouldRefuse(t *testing.T) {
	p := newSettingsPage(t, "hooks.example")
	ctx := context.Background()
	u := web.User{Name: "lena", Roles: []web.Role{web.RoleLegal}, Mailboxes: []string{"stadt"}}
	if w, _ := settingsCall(t, p, u, url.Values{"new_mail_email": {"ja"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("first save: %d", w.Code)
	}
	for name, form := range map[string]url.Values{
		"host not allowed": {"new_mail_webhook": {"ja"}, "webhook_url": {"https://evil.example/x"}, "webhook_format": {"json"}},
		"plain http":       {"new_mail_webhook": {"ja"}, "webhook_url": {"http://hooks.example/x"}, "webhook_format": {"json"}},
		"chosen, no URL":   {"new_mail_webhook": {"ja"}},
		"unknown format":   {"new_mail_webhook": {"ja"}, "webhook_url": {"https://hooks.example/x"}, "webhook_format": {"xml"}},
	} {
		t.Run(name, func(t *testing.T) {
			w, body := settingsCall(t, p, u, form)
			if w.Code == http.StatusSeeOther || !strings.Contains(body, `id="einstellungen-fehler"`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Fatalf("%d, body:\n%s", w.Code, body)
			}
			got, _ := p.store.Preferences(ctx, "lena")
			if got.Webhook != nil || !reflect.DeepEqual(got.Kinds, map[notifications.Kind]notifications.Choice{notifications.KindNewMail: {Email: true}}) {
				t.Fatalf("a refused form changed the choices: %+v", got)
			}
		})
	}
}

func TestNotifySettingsWithoutWebhookHosts(t *testing.T) {
	p := newSettingsPage(t)
	u := web.User{Name: "lena", Roles: []web.Role{web.RoleLegal}, Mailboxes: []string{"stadt"}}
	if _, body := settingsCall(t, p, u, nil); strings.Contains(body, "webhook") {
		t.Fatal("the page offers a webhook although no host is allowed")
	}
	if w, _ := settingsCall(t, p, u, url.Values{"new_mail_webhook": {"ja"}, "eeb_due_email": {"ja"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", w.Code)
	}
	got, _ := p.store.Preferences(context.Background(), "lena")
	if !reflect.DeepEqual(got.Kinds, map[notifications.Kind]notifications.Choice{notifications.KindEEBDue: {Email: true}}) || got.Webhook != nil {
		t.Fatalf("stored %+v", got)
	}
}

package notify_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
)

type people []notify.Person

func (p people) People(context.Context) ([]notify.Person, error) { return p, nil }

func TestSubscriptionsFollowScopeRoleAndChoice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	hooks := &notify.Webhooks{AllowedHosts: []string{"hooks.stadt.example"}}
	check := func(u string) error { _, err := hooks.CheckURL(u); return err }
	dir := people{
		{Name: "legal", Email: "l@stadt.example", Roles: []string{"legal"}, Mailboxes: []string{"rechtsamt"}},
		{Name: "records", Email: "r@stadt.example", Roles: []string{"records"}, Mailboxes: []string{"*"}},
		{Name: "other", Email: "o@stadt.example", Roles: []string{"legal"}, Mailboxes: []string{"vergabe"}},
		{Name: "silent", Email: "s@stadt.example", Roles: []string{"legal"}, Mailboxes: []string{"rechtsamt"}},
	}
	all := notify.Choice{Email: true, Webhook: true}
	for _, u := range []string{"legal", "records", "other"} {
		p := notify.Preferences{Kinds: map[notify.Kind]notify.Choice{notify.KindNewMail: all, notify.KindQuarantine: all, notify.KindEEBDue: all}}
		if u == "legal" {
			p.Webhook = &notify.Webhook{URL: "https://hooks.stadt.example/x", Format: notify.FormatTeams}
		}
		if err := e.queue.SetPreferences(ctx, u, p, check); err != nil {
			t.Fatal(err)
		}
	}
	bad := notify.Preferences{Webhook: &notify.Webhook{URL: "https://evil.example/x", Format: notify.FormatJSON}}
	if err := e.queue.SetPreferences(ctx, "legal", bad, check); !errors.Is(err, notify.ErrHostRefused) {
		t.Fatalf("webhook elsewhere: %v, want ErrHostRefused", err)
	}
	subs := notify.Subscriptions{Directory: dir, Store: e.queue}
	for _, tc := range []struct {
		kind notify.Kind
		want []string
	}{
		{notify.KindNewMail, []string{"legal", "records"}},
		{notify.KindQuarantine, []string{"records"}},
		{notify.KindEEBDue, []string{"legal"}},
		{notify.KindRegisterEntries, nil},
	} {
		got, err := subs.Subscribers(ctx, "rechtsamt", tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range got {
			names = append(names, s.User)
			if s.User == "legal" && (s.Webhook == nil || s.Email != "l@stadt.example") {
				t.Errorf("%s: legal's channels: %+v", tc.kind, s)
			}
		}
		if len(names) != len(tc.want) || (len(names) > 0 && (names[0] != tc.want[0] || names[len(names)-1] != tc.want[len(tc.want)-1])) {
			t.Errorf("%s: told %v, want %v", tc.kind, names, tc.want)
		}
	}
}

package web

import (
	"context"
	"errors"
)

// Demo sign-in of the demo (make run), printed by it.
const (
	DemoUser     = "demo"
	DemoPassword = "demo-passwort-2026"
)

// DemoUsers puts the demo's user into store: every role, every mailbox
// in mailboxes (none: all), password DemoPassword. It is idempotent.
func DemoUsers(ctx context.Context, store UserStore, mailboxes []string) (name, password string, err error) {
	if len(mailboxes) == 0 {
		mailboxes = []string{AllMailboxes}
	}
	u := User{Name: DemoUser, DisplayName: "Demo Sachbearbeitung", Roles: Roles, Mailboxes: mailboxes, Source: SourceLocal}
	if err := store.Put(ctx, u); err != nil {
		return "", "", err
	}
	if err := store.SetPassword(ctx, DemoUser, DemoPassword); err != nil && !errors.Is(err, ErrNoUser) {
		return "", "", err
	}
	return DemoUser, DemoPassword, nil
}

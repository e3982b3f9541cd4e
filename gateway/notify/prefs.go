package notify

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// Person is a user of the web application as notifications see them:
// gateway/web's User (Name, Email, Roles, Mailboxes where "*" is every
// mailbox).
type Person struct {
	Name      string
	Email     string
	Roles     []string
	Mailboxes []string
}

// Directory lists the web application's users (gateway/web UserStore.Users).
type Directory interface {
	People(ctx context.Context) ([]Person, error)
}

// KindRoles are the roles whose holders may be told of a kind: those
// whose pages show it (records: inbox and quarantine; legal: inbox and
// eEB; procurement: the register).
var KindRoles = map[Kind][]string{
	KindNewMail:         {"legal", "records"},
	KindQuarantine:      {"records"},
	KindEEBDue:          {"legal"},
	KindRegisterEntries: {"procurement"},
}

// Choice is one person's choice for one kind.
type Choice struct {
	Email   bool `json:"email"`
	Webhook bool `json:"webhook"`
}

// Preferences are one person's choices: per kind, and their webhook.
type Preferences struct {
	Kinds   map[Kind]Choice `json:"kinds"`
	Webhook *Webhook        `json:"webhook,omitempty"`
}

// Preferences returns a person's choices; nobody is told anything
// before choosing.
func (s *Store) Preferences(ctx context.Context, user string) (Preferences, error) {
	p := Preferences{Kinds: map[Kind]Choice{}}
	rows, err := s.db.QueryContext(ctx, `SELECT kind, email, webhook FROM preferences WHERE user = ?`, user)
	if err != nil {
		return p, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var c Choice
		if err := rows.Scan(&k, &c.Email, &c.Webhook); err != nil {
			return p, mapErr(err)
		}
		p.Kinds[Kind(k)] = c
	}
	if err := rows.Err(); err != nil {
		return p, mapErr(err)
	}
	var w Webhook
	err = s.db.QueryRowContext(ctx, `SELECT url, format FROM webhooks WHERE user = ?`, user).Scan(&w.URL, &w.Format)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return p, mapErr(err)
	default:
		p.Webhook = &w
	}
	return p, nil
}

// SetPreferences replaces a person's choices. A webhook must pass check
// (Webhooks.CheckURL) when given; its format must be known.
func (s *Store) SetPreferences(ctx context.Context, user string, p Preferences, check func(string) error) error {
	if user == "" {
		return fmt.Errorf("%w: no user", ErrInvalid)
	}
	for k := range p.Kinds {
		if !k.Valid() {
			return fmt.Errorf("%w: unknown kind %q", ErrInvalid, k)
		}
	}
	if w := p.Webhook; w != nil {
		if w.Format != FormatTeams && w.Format != FormatJSON {
			return fmt.Errorf("%w: unknown webhook format %q", ErrInvalid, w.Format)
		}
		if check == nil {
			return fmt.Errorf("%w: %w: webhook", ErrInvalid, ErrNoChannel)
		}
		if err := check(w.URL); err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM preferences WHERE user = ?`, user); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE user = ?`, user); err != nil {
			return err
		}
		for k, c := range p.Kinds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO preferences (user, kind, email, webhook) VALUES (?, ?, ?, ?)`, user, string(k), c.Email, c.Webhook); err != nil {
				return err
			}
		}
		if w := p.Webhook; w != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (user, url, format) VALUES (?, ?, ?)`, user, w.URL, string(w.Format)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Subscriptions is Recipients from the web application's users and
// their choices: a person hears of a kind in a mailbox when the mailbox
// is in their scope, one of their roles may see the kind (KindRoles), and
// they chose a channel for it (e-mail needs their address).
type Subscriptions struct {
	Directory Directory
	Store     *Store
}

// Subscribers implements Recipients.
func (s Subscriptions) Subscribers(ctx context.Context, mailbox string, kind Kind) ([]Subscriber, error) {
	people, err := s.Directory.People(ctx)
	if err != nil {
		return nil, err
	}
	var out []Subscriber
	for _, p := range people {
		if !slices.Contains(p.Mailboxes, mailbox) && !slices.Contains(p.Mailboxes, "*") {
			continue
		}
		if !slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(KindRoles[kind], r) }) {
			continue
		}
		prefs, err := s.Store.Preferences(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		c := prefs.Kinds[kind]
		sub := Subscriber{User: p.Name}
		if c.Email {
			sub.Email = p.Email
		}
		if c.Webhook && prefs.Webhook != nil {
			sub.Webhook = prefs.Webhook
		}
		if sub.Email != "" || sub.Webhook != nil {
			out = append(out, sub)
		}
	}
	return out, nil
}

package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Errors. A permanent failure is never retried; everything else that
// fails a sending is temporary and retried until Policy gives up.
var (
	ErrPermanent    = errors.New("notify: permanent failure")
	ErrNoSTARTTLS   = errors.New("notify: mail server offers no STARTTLS")
	ErrHostRefused  = errors.New("notify: webhook host not allowed")
	ErrNoChannel    = errors.New("notify: channel not configured")
	ErrSchemaTooNew = errors.New("notify: queue database is newer than this program")
	ErrInvalid      = errors.New("notify: invalid configuration")
)

// Kind is what a person is told about. Each user chooses per kind.
type Kind string

const (
	// KindNewMail: an incoming message in one of the user's mailboxes was
	// verified (it reached intake_pending, also after an operator's release).
	KindNewMail Kind = "new_mail"
	// KindEEBDue: an eEB task (Empfangsbekenntnis) is open close to the
	// deadline guard's limit, or past it.
	KindEEBDue Kind = "eeb_due"
	// KindQuarantine: an incoming message was quarantined (Quarantäne).
	KindQuarantine Kind = "quarantine"
	// KindRegisterEntries: a Wettbewerbsregister answer with entries
	// (Eintragungen) arrived and needs an assessment.
	KindRegisterEntries Kind = "register_entries"
)

// Kinds lists every kind, in the order a settings page shows them.
var Kinds = []Kind{KindNewMail, KindEEBDue, KindQuarantine, KindRegisterEntries}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Channel is how a person is told.
type Channel string

const (
	ChannelEmail   Channel = "email"
	ChannelWebhook Channel = "webhook"
)

// WebhookFormat is the JSON a webhook receives.
type WebhookFormat string

const (
	// FormatTeams is a Microsoft Teams message with an Adaptive Card, as
	// a Teams incoming webhook (Workflows) takes it.
	FormatTeams WebhookFormat = "teams"
	// FormatJSON is the generic object (Payload).
	FormatJSON WebhookFormat = "json"
)

// Subscriber is one person who wants to hear about a kind of event in a
// mailbox, by the channels they chose for that kind.
type Subscriber struct {
	// User is the user's stable name in the web application. It is part
	// of a notification's key, so one person is told once per event and
	// channel; it never enters a log line.
	User string
	// Email is where the e-mail goes; "" when the user did not choose
	// e-mail for this kind.
	Email string
	// Webhook is the user's webhook; nil when not chosen for this kind.
	Webhook *Webhook
}

// Webhook is an HTTPS endpoint (http only on the loopback interface) on
// one of the configured hosts.
type Webhook struct {
	URL    string
	Format WebhookFormat
}

// Recipients answers who wants to hear about what in which mailbox: the
// web application's user store implements it, with the users whose
// mailbox scope holds the mailbox and whose role may see the kind. An
// error is retried (nothing is recorded before it is answered).
type Recipients interface {
	Subscribers(ctx context.Context, mailbox string, kind Kind) ([]Subscriber, error)
}

// RecipientsFunc adapts a function to Recipients.
type RecipientsFunc func(ctx context.Context, mailbox string, kind Kind) ([]Subscriber, error)

// Subscribers implements Recipients.
func (f RecipientsFunc) Subscribers(ctx context.Context, mailbox string, kind Kind) ([]Subscriber, error) {
	return f(ctx, mailbox, kind)
}

// Notice is one event worth telling: its kind, the mailbox it is about,
// and the number of the thing its page shows (a message id, an eEB task
// id, a register procedure id). It never holds content or names.
type Notice struct {
	Kind    Kind
	Mailbox string
	Ref     int64
	// Item tells notices about the same page apart (a register answer's
	// id: a procedure may get several answers with entries); 0 if none.
	Item int64
}

// key identifies a notice; it is told once.
func (n Notice) key() string {
	k := string(n.Kind) + "/" + strconv.FormatInt(n.Ref, 10)
	if n.Item != 0 {
		k += "/" + strconv.FormatInt(n.Item, 10)
	}
	return k
}

// Links turns a notice into the address of its page in the web
// application: BaseURL plus a path per kind, where {mailbox} and {id}
// are replaced (path-escaped).
type Links struct {
	BaseURL string
	Paths   map[Kind]string
}

// DefaultPaths are the web application's pages per kind (gateway/web:
// MessagePath, PathQuarantine, PathEEB, PathRegister). The register's
// procedure page is named by the procedure's number, which a
// notification does not carry: the link goes to the register's page.
var DefaultPaths = map[Kind]string{
	KindNewMail:         "/nachricht/{id}",
	KindQuarantine:      "/quarantaene",
	KindEEBDue:          "/eeb",
	KindRegisterEntries: "/register",
}

// URL is the page of n.
func (l Links) URL(n Notice) (string, error) {
	p, ok := l.Paths[n.Kind]
	if !ok {
		p, ok = DefaultPaths[n.Kind]
	}
	if !ok {
		return "", fmt.Errorf("%w: no page for kind %q", ErrInvalid, n.Kind)
	}
	p = strings.NewReplacer("{mailbox}", url.PathEscape(n.Mailbox), "{id}", strconv.FormatInt(n.Ref, 10)).Replace(p)
	return strings.TrimRight(l.BaseURL, "/") + p, nil
}

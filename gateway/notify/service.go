package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Config is what a Service needs. Mail, Store, Recipients and Links are
// required; Register, Tasks, Mailer and Webhooks are optional (without
// them their notices or channels are off: a job for a channel that is
// not configured fails permanently with ErrNoChannel, logged).
type Config struct {
	Store      *Store
	Mail       Messages
	Recipients Recipients
	Links      Links

	// Register is the register's journal and answers; RegisterMailbox is
	// the mailbox its answers belong to (register.mailbox).
	Register        Answers
	RegisterMailbox string

	// Tasks are the eEB tasks; one is told WarnBefore before it has been
	// open OverdueAfter (the deadline guard's limit).
	Tasks        Tasks
	OverdueAfter time.Duration
	WarnBefore   time.Duration

	Mailer   *Mailer
	Webhooks *Webhooks

	// Policy retries a temporary failure (default DefaultPolicy).
	Policy mailbox.RetryPolicy
	// BatchSize is how many jobs one Send round takes (default 50).
	BatchSize int

	Logger *zap.Logger
	Now    func() time.Time
	Rand   io.Reader
}

// DefaultPolicy retries a notification after 1, 2, 4 … minutes, at most
// every 30 minutes, for a day: a notification older than that has lost
// its point, and the web application shows everything anyway.
func DefaultPolicy() mailbox.RetryPolicy {
	return mailbox.RetryPolicy{Initial: time.Minute, Factor: 2, Max: 30 * time.Minute, Lifetime: 24 * time.Hour, Jitter: mailbox.EqualJitter}
}

// DefaultWarnBefore is how long before an eEB task becomes overdue its
// users are told.
const DefaultWarnBefore = 24 * time.Hour

// Service follows the journals into the queue and sends the queue.
type Service struct {
	c Config
}

// New checks c and fills in its defaults.
func New(c Config) (*Service, error) {
	switch {
	case c.Store == nil || c.Mail == nil || c.Recipients == nil:
		return nil, fmt.Errorf("%w: store, message store and recipients are required", ErrInvalid)
	case c.Links.BaseURL == "":
		return nil, fmt.Errorf("%w: base URL is required", ErrInvalid)
	case c.Tasks != nil && c.OverdueAfter <= 0:
		return nil, fmt.Errorf("%w: eEB tasks need the overdue limit", ErrInvalid)
	}
	if c.Policy == (mailbox.RetryPolicy{}) {
		c.Policy = DefaultPolicy()
	}
	if err := c.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.WarnBefore == 0 {
		c.WarnBefore = DefaultWarnBefore
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 50
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Service{c: c}, nil
}

// Store is the queue.
func (s *Service) Store() *Store { return s.c.Store }

// Send makes one attempt at each due job: sent, retried later after a
// temporary failure, or given up after a permanent one or when Policy
// is exhausted. Each outcome is stored before the next job, and logged
// once. A job is sent again only when the process dies between the
// server's acceptance and that commit.
func (s *Service) Send(ctx context.Context) (bool, error) {
	jobs, err := s.c.Store.Due(ctx, s.c.Now(), s.c.BatchSize)
	if err != nil {
		return false, err
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		serr := s.deliver(ctx, j)
		if serr != nil && ctx.Err() != nil {
			return false, ctx.Err() // stopped mid-attempt: try again, count nothing
		}
		if err := s.finish(ctx, j, serr); err != nil {
			return false, err
		}
	}
	return len(jobs) == s.c.BatchSize, nil
}

// deliver makes one attempt.
func (s *Service) deliver(ctx context.Context, j Job) error {
	link, err := s.c.Links.URL(j.Notice)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	t := render(j.Notice, link)
	switch j.Channel {
	case ChannelEmail:
		if s.c.Mailer == nil {
			return fmt.Errorf("%w: %w: e-mail", ErrPermanent, ErrNoChannel)
		}
		msg, err := email(s.c.Mailer.From, j.Address, j, t, s.c.Now())
		if err != nil {
			return err
		}
		return s.c.Mailer.Send(ctx, j.Address, msg)
	case ChannelWebhook:
		if s.c.Webhooks == nil {
			return fmt.Errorf("%w: %w: webhook", ErrPermanent, ErrNoChannel)
		}
		body, err := webhookBody(j.Format, j, t)
		if err != nil {
			return err
		}
		return s.c.Webhooks.Post(ctx, j.Address, body)
	}
	return fmt.Errorf("%w: unknown channel %q", ErrPermanent, j.Channel)
}

// finish stores and logs the outcome of an attempt.
func (s *Service) finish(ctx context.Context, j Job, serr error) error {
	now := s.c.Now()
	j.Attempts++
	log := s.c.Logger.With(zap.Int64("notificationId", j.ID), zap.String("kind", string(j.Notice.Kind)),
		zap.String(logging.KeyMailbox, j.Notice.Mailbox), zap.Int64("ref", j.Notice.Ref), zap.String("channel", string(j.Channel)),
		zap.String("to", MaskAddress(j.Address)), zap.Int("attempts", j.Attempts))
	if serr == nil {
		j.State, j.DoneAt, j.Reason = StateSent, now, ""
		if err := s.c.Store.Finish(ctx, j); err != nil {
			return err
		}
		log.Info("notification sent")
		return nil
	}
	j.Reason = Reason(serr)
	switch {
	case errors.Is(serr, ErrPermanent):
		j.State, j.DoneAt = StateFailed, now
		if err := s.c.Store.Finish(ctx, j); err != nil {
			return err
		}
		log.Warn("notification failed permanently; not retried", zap.String(logging.KeyReason, j.Reason))
	case s.c.Policy.Exhausted(j.Attempts, j.CreatedAt, now):
		j.State, j.DoneAt = StateFailed, now
		if err := s.c.Store.Finish(ctx, j); err != nil {
			return err
		}
		log.Warn("notification given up: retries exhausted", zap.String(logging.KeyReason, "retries_exhausted"), zap.String("lastError", j.Reason))
	default:
		j.NextAt = now.Add(s.c.Policy.Delay(j.Attempts, s.c.Rand))
		if err := s.c.Store.Finish(ctx, j); err != nil {
			return err
		}
		log.Info("notification not sent; retried later", zap.String(logging.KeyReason, j.Reason), zap.Time("next", j.NextAt))
	}
	return nil
}

// Reason names why an attempt failed, without an address or URL: the
// mail server's or webhook's code, or the kind of transport failure.
func Reason(err error) string {
	var se *SMTPError
	var he *HTTPError
	var ue *url.Error
	var ne net.Error
	var ce *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &se):
		r := "smtp_" + se.Step + "_" + strconv.Itoa(se.Code)
		if se.Enhanced != "" {
			r += "_" + se.Enhanced
		}
		return r
	case errors.As(err, &he):
		return "http_" + strconv.Itoa(he.Status)
	case errors.Is(err, ErrNoSTARTTLS):
		return "starttls_missing"
	case errors.Is(err, ErrHostRefused):
		return "webhook_host_refused"
	case errors.Is(err, ErrNoChannel):
		return "channel_not_configured"
	case errors.As(err, &ce), errors.As(err, &ua), errors.As(err, &hn):
		return "tls_certificate"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &ue):
		return "webhook_transport"
	case errors.Is(err, ErrPermanent):
		return "refused"
	}
	if strings.Contains(err.Error(), "tls:") {
		return "tls"
	}
	if strings.Contains(err.Error(), "smtp connect") {
		return "connect"
	}
	return "transport"
}

// MaskAddress shows an address without naming the person: the first
// character and the domain of an e-mail address, the host of a URL.
func MaskAddress(a string) string {
	if a == "" {
		return ""
	}
	if i := strings.LastIndexByte(a, '@'); i > 0 && !strings.Contains(a, "/") {
		return a[:1] + "…@" + a[i+1:]
	}
	if u, err := url.Parse(a); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + "/…"
	}
	return "…"
}

package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"time"
)

// Mailer sends e-mail through the authority's mail server (submission,
// RFC 6409) with net/smtp. With RequireSTARTTLS (the default in the
// configuration) a server that offers no STARTTLS gets nothing, not even
// the sender's address; credentials are sent only inside TLS (net/smtp's
// PLAIN refuses otherwise, except to localhost).
type Mailer struct {
	Addr            string // host:port
	From            string // the envelope and header sender
	Username        string // "" = no AUTH
	Password        string
	RequireSTARTTLS bool
	// TLS verifies the server (RootCAs; ServerName defaults to Addr's
	// host). Nil: the system roots.
	TLS *tls.Config
	// HelloName is sent in EHLO (default: "localhost").
	HelloName string
	// Timeout bounds one whole session (default 60s).
	Timeout time.Duration
}

// DefaultSMTPTimeout bounds one SMTP session when Mailer.Timeout is 0.
const DefaultSMTPTimeout = 60 * time.Second

// Send delivers msg to one recipient. A 5xx answer (and an address that
// cannot be one) wraps ErrPermanent; a 4xx answer, a lost connection, a
// failed handshake and a server without STARTTLS are temporary.
func (m *Mailer) Send(ctx context.Context, to string, msg []byte) error {
	if _, err := mail.ParseAddress(to); err != nil {
		return fmt.Errorf("%w: recipient is no e-mail address", ErrPermanent)
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("%w: smtp address: %w", ErrPermanent, err)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("notify: smtp connect: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpErr("greeting", err)
	}
	defer c.Close()
	name := m.HelloName
	if name == "" {
		name = "localhost"
	}
	if err := c.Hello(name); err != nil {
		return smtpErr("ehlo", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if m.TLS != nil {
			cfg = m.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return smtpErr("starttls", err)
		}
	} else if m.RequireSTARTTLS {
		return ErrNoSTARTTLS
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return smtpErr("auth", err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return smtpErr("mail", err)
	}
	if err := c.Rcpt(to); err != nil {
		return smtpErr("rcpt", err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpErr("data", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("data", err)
	}
	_ = c.Quit() // accepted: a failing QUIT changes nothing
	return nil
}

// SMTPError is a mail server's answer refusing a step: its reply code
// and, where sent, the enhanced status code (RFC 3463). The server's text
// is left out: it often repeats the recipient's address.
type SMTPError struct {
	Step     string // ehlo, starttls, auth, mail, rcpt, data
	Code     int
	Enhanced string // "5.1.1", "" if none
}

func (e *SMTPError) Error() string {
	s := "notify: smtp " + e.Step + ": " + strconv.Itoa(e.Code)
	if e.Enhanced != "" {
		s += " " + e.Enhanced
	}
	return s
}

// Temporary reports a 4xx answer: worth trying again later.
func (e *SMTPError) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// Unwrap makes a 5xx answer ErrPermanent.
func (e *SMTPError) Unwrap() error {
	if e.Code >= 500 {
		return ErrPermanent
	}
	return nil
}

// smtpErr turns a server's answer into an SMTPError; anything else (a
// lost connection, a handshake) stays as it is: temporary.
func smtpErr(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		e := &SMTPError{Step: step, Code: te.Code}
		if f := enhanced(te.Msg); f != "" {
			e.Enhanced = f
		}
		return e
	}
	return fmt.Errorf("notify: smtp %s: %w", step, err)
}

// enhanced reads a leading enhanced status code ("5.1.1 ...").
func enhanced(msg string) string {
	var a, b, c int
	var rest string
	if n, _ := fmt.Sscanf(msg, "%d.%d.%d%s", &a, &b, &c, &rest); n < 3 || a < 2 || a > 5 {
		return ""
	}
	return strconv.Itoa(a) + "." + strconv.Itoa(b) + "." + strconv.Itoa(c)
}

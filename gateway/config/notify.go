package config

import (
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// NotifyConfig is the `notify:` section: users are told about new mail,
// eEB deadlines, quarantined messages and register answers with entries
// by e-mail and webhook (gateway/notify). Without it nobody is told.
type NotifyConfig struct {
	// BaseURL is the web application's address; links in notifications
	// point below it.
	BaseURL string `yaml:"base_url"`
	// SMTP is the authority's mail server; without it no e-mail is sent.
	SMTP *SMTPConfig `yaml:"smtp"`
	// Webhooks lists the hosts webhooks may be posted to; without any,
	// no webhook is posted.
	Webhooks WebhookConfig `yaml:"webhooks"`
	// EEBWarnBefore is how long before an eEB task is overdue
	// (eeb.overdue_after_days) its users are told (default 24h).
	EEBWarnBefore time.Duration `yaml:"eeb_warn_before"`
}

// SMTPConfig is the mail server notifications are submitted to.
type SMTPConfig struct {
	Host     string    `yaml:"host"`
	Port     int       `yaml:"port"` // default 587 (submission)
	From     string    `yaml:"from"`
	Username string    `yaml:"username"`
	Password SecretRef `yaml:"password"`
	// RequireSTARTTLS refuses a server that offers no STARTTLS (default
	// true); false sends in the clear to such a server, and never the
	// password.
	RequireSTARTTLS *bool `yaml:"require_starttls"`
	// TLSCAs verify the mail server (default: the system roots).
	TLSCAs    []string      `yaml:"tls_cas"`
	HelloName string        `yaml:"hello_name"`
	Timeout   time.Duration `yaml:"timeout"` // one session, default 60s
}

// WebhookConfig limits where webhooks go.
type WebhookConfig struct {
	AllowedHosts []string `yaml:"allowed_hosts"` // host names, no scheme or port
}

// DefaultSMTPPort is the submission port.
const DefaultSMTPPort = 587

// DefaultEEBWarnBefore is NotifyConfig.EEBWarnBefore's default.
const DefaultEEBWarnBefore = 24 * time.Hour

// STARTTLSRequired reports require_starttls, true unless set false.
func (s *SMTPConfig) STARTTLSRequired() bool { return s.RequireSTARTTLS == nil || *s.RequireSTARTTLS }

// Addr is host:port.
func (s *SMTPConfig) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

func (n *NotifyConfig) applyDefaults() {
	if n.EEBWarnBefore == 0 {
		n.EEBWarnBefore = DefaultEEBWarnBefore
	}
	if n.SMTP != nil && n.SMTP.Port == 0 {
		n.SMTP.Port = DefaultSMTPPort
	}
}

func (n *NotifyConfig) resolvePaths(abs func(*string)) {
	if n.SMTP == nil {
		return
	}
	abs(&n.SMTP.Password.File)
	for i := range n.SMTP.TLSCAs {
		abs(&n.SMTP.TLSCAs[i])
	}
}

func (n *NotifyConfig) validate(p *problems) {
	n.applyDefaults()
	checkURL(p, "notify.base_url", n.BaseURL, false)
	if n.EEBWarnBefore < 0 {
		p.add("notify.eeb_warn_before", "must not be negative, not %s", n.EEBWarnBefore)
	}
	if n.SMTP == nil && len(n.Webhooks.AllowedHosts) == 0 {
		p.add("notify", "needs smtp or webhooks.allowed_hosts: otherwise nobody can be told")
	}
	if s := n.SMTP; s != nil {
		s.validate(p)
	}
	for i, h := range n.Webhooks.AllowedHosts {
		if h == "" || strings.ContainsAny(h, ":/@?# ") || strings.Trim(h, ".") != h {
			p.add("notify.webhooks.allowed_hosts["+strconv.Itoa(i)+"]", "must be a host name without scheme, port or path, not %q", h)
		}
	}
}

func (s *SMTPConfig) validate(p *problems) {
	if s.Host == "" || strings.ContainsAny(s.Host, ":/ ") {
		p.add("notify.smtp.host", "must be a host name or address without port, not %q", s.Host)
	}
	if s.Port < 1 || s.Port > 65535 {
		p.add("notify.smtp.port", "must be 1-65535, not %d", s.Port)
	}
	if a, err := mail.ParseAddress(s.From); err != nil || strings.ContainsAny(s.From, "\r\n") {
		p.add("notify.smtp.from", "must be an e-mail address, not %q", s.From)
	} else if a.Name != "" {
		p.add("notify.smtp.from", "must be a bare address (%s), without a display name", a.Address)
	}
	if s.Password.File != "" && s.Password.Env != "" {
		p.add("notify.smtp.password", "give file or env, not both")
	}
	hasPW := s.Password.File != "" || s.Password.Env != ""
	switch {
	case s.Username != "" && !hasPW:
		p.add("notify.smtp.password", "is required with notify.smtp.username")
	case s.Username == "" && hasPW:
		p.add("notify.smtp.username", "is required with notify.smtp.password")
	case strings.ContainsAny(s.Username, "\r\n\x00"):
		p.add("notify.smtp.username", "must be a single line")
	}
	if s.Username != "" && !s.STARTTLSRequired() {
		p.add("notify.smtp.require_starttls", "must stay true when a password is configured: it never goes over an unencrypted connection")
	}
	if s.Timeout < 0 {
		p.add("notify.smtp.timeout", "must not be negative, not %s", s.Timeout)
	}
	if strings.ContainsAny(s.HelloName, " \r\n") {
		p.add("notify.smtp.hello_name", "must be a host name, not %q", s.HelloName)
	}
}

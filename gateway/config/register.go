package config

import (
	"strings"
	"time"
)

// RegisterConfig is the `register:` section: the procurement office's
// Wettbewerbsregister workflow (gateway/register). Without it the
// workflow is off and the API's /v1/register routes answer 503.
type RegisterConfig struct {
	// Mailbox is the configured mailbox whose eAkte intake receives the
	// answers and query sheets, and which sends the registration form.
	Mailbox string `yaml:"mailbox"`
	// Retention is how long the gateway keeps an answer's document after
	// receiving it (default 90 days, at least 63 days: two months and a
	// day, so reuse stays possible); the eAkte keeps its copy.
	Retention time.Duration `yaml:"retention"`
	// Interface, when set, sends queries through the register's official
	// interface (amtliche Schnittstelle) instead of the portal only.
	Interface *RegisterInterfaceConfig `yaml:"interface"`
}

// RegisterInterfaceConfig is the register's official interface.
type RegisterInterfaceConfig struct {
	URL string `yaml:"url"`
	// Certificate is the authority's software certificate for the
	// register (PKCS#12 and its password).
	Certificate KeystoreConfig `yaml:"certificate"`
	// TLSCAs verify the register's server (default: the system roots).
	TLSCAs       []string      `yaml:"tls_cas"`
	PollInterval time.Duration `yaml:"poll_interval"` // default 1 minute
}

// DefaultRegisterRetention is RegisterConfig.Retention's default.
const DefaultRegisterRetention = 90 * 24 * time.Hour

func (r *RegisterConfig) applyDefaults() {
	if r.Retention == 0 {
		r.Retention = DefaultRegisterRetention
	}
	if r.Interface != nil && r.Interface.PollInterval == 0 {
		r.Interface.PollInterval = time.Minute
	}
}

func (r *RegisterConfig) resolvePaths(abs func(*string)) {
	if r.Interface == nil {
		return
	}
	abs(&r.Interface.Certificate.PKCS12)
	abs(&r.Interface.Certificate.Password.File)
	for i := range r.Interface.TLSCAs {
		abs(&r.Interface.TLSCAs[i])
	}
}

func (r *RegisterConfig) validate(p *problems, mailboxes map[string]bool) {
	r.applyDefaults()
	if !mailboxes[r.Mailbox] {
		p.add("register.mailbox", "names no mailbox %q", r.Mailbox)
	}
	if r.Retention < 63*24*time.Hour {
		p.add("register.retention", "must be at least 63 days (two months and a day), not %s", r.Retention)
	}
	if i := r.Interface; i != nil {
		// Plain http only to this host (the simulator).
		checkURL(p, "register.interface.url", i.URL, false)
		if i.Certificate.PKCS12 == "" && !strings.HasPrefix(i.URL, "http:") {
			p.add("register.interface.certificate.pkcs12", "is required: the register authenticates the authority's software certificate")
		}
		if i.PollInterval < time.Second {
			p.add("register.interface.poll_interval", "must be at least 1s, not %s", i.PollInterval)
		}
	}
}

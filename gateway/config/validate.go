package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/safeid"
)

// namePattern is what mailbox and intake names may be: they appear in
// paths, metrics labels and URLs.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// problems collects every configuration problem of one validation.
type problems []error

func (p *problems) add(key, format string, a ...any) {
	*p = append(*p, NewProblem(ErrConfig, key, fmt.Errorf(format, a...)))
}

func (p problems) err() error { return errors.Join(p...) }

// Validate checks every section and returns all problems at once, each
// naming its key and matching ErrConfig.
func (c *Config) Validate() error {
	var p problems
	if c.DataDir == "" {
		p.add("data_dir", "is required")
	}
	c.validateLog(&p)
	c.Store.validate(&p)
	c.Blobs.validate(&p, c)
	c.API.validate(&p)
	c.Trust.validate(&p)
	intakes := map[string]bool{}
	for i := range c.Intakes {
		in := &c.Intakes[i]
		key := fmt.Sprintf("intakes[%d]", i)
		in.validate(&p, key)
		if intakes[in.Name] {
			p.add(key+".name", "%q is used twice", in.Name)
		}
		intakes[in.Name] = true
	}
	inter := map[string]bool{}
	for i := range c.Intermediaries {
		ic := &c.Intermediaries[i]
		key := fmt.Sprintf("intermediaries[%d]", i)
		if !namePattern.MatchString(ic.Name) {
			p.add(key+".name", "must be 1-63 lowercase letters, digits, '-' or '_', not %q", ic.Name)
		}
		if inter[ic.Name] {
			p.add(key+".name", "%q is used twice", ic.Name)
		}
		inter[ic.Name] = true
		ic.validate(&p, key)
		if ic.Key == "" {
			ic.Key = key
		}
	}
	if c.Sending.ConfirmFirst < time.Second || c.Sending.ConfirmMax < c.Sending.ConfirmFirst || c.Sending.ConfirmFor < c.Sending.ConfirmMax {
		p.add("sending", "needs 1s <= confirm_first <= confirm_max <= confirm_for, not %s, %s, %s",
			c.Sending.ConfirmFirst, c.Sending.ConfirmMax, c.Sending.ConfirmFor)
	}
	c.Leases.validate(&p)
	if len(c.Mailboxes) == 0 {
		p.add("mailboxes", "at least one mailbox is required")
	}
	names := map[string]bool{}
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		key := fmt.Sprintf("mailboxes[%d]", i)
		m.validate(&p, key)
		c.resolveIntermediary(&p, key+".intermediary", m)
		if names[m.Name] {
			p.add(key+".name", "%q is used twice", m.Name)
		}
		names[m.Name] = true
		if m.Intake != "" && !intakes[m.Intake] {
			p.add(key+".intake", "names no intake %q (defined: %s)", m.Intake, strings.Join(sortedKeys(intakes), ", "))
		}
		m.validateRoutes(&p, key, intakes)
	}
	if o := c.OutgoingFolder; o != nil {
		if o.Path == "" {
			p.add("outgoing_folder.path", "is required")
		}
		if !names[o.Mailbox] {
			p.add("outgoing_folder.mailbox", "names no mailbox %q", o.Mailbox)
		}
		if o.Interval < 100*time.Millisecond {
			p.add("outgoing_folder.interval", "must be at least 100ms, not %s", o.Interval)
		}
	}
	if c.Register != nil {
		c.Register.validate(&p, names)
	}
	if c.Notify != nil {
		c.Notify.validate(&p)
	}
	if c.Web != nil {
		c.Web.validate(&p)
		c.Web.validateOIDC(&p, names)
	}
	return p.err()
}

func (c *Config) validateLog(p *problems) {
	switch c.Log.Format {
	case "json", "console":
	default:
		p.add("log.format", "must be json or console, not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
}

func (a *APIConfig) validate(p *problems) {
	host, _, err := net.SplitHostPort(a.Listen)
	switch {
	case err != nil:
		p.add("api.listen", "must be host:port: %v", err)
	case !IsLoopback(host) && a.TLSCert == "":
		p.add("api.listen", "%q is not a loopback address; serving beyond this host needs api.tls_cert and api.tls_key", a.Listen)
	}
	switch {
	case a.TokensFile == "" && a.ClientCA == "":
		p.add("api.tokens_file", "is required unless api.client_ca is set (the API never runs without authentication)")
	case a.ClientCA != "" && (a.TLSCert == "" || a.TLSKey == ""):
		p.add("api.client_ca", "needs api.tls_cert and api.tls_key")
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		p.add("api.tls_cert", "and api.tls_key go together")
	}
	if a.MaxUploadBytes < 0 {
		p.add("api.max_upload_bytes", "must not be negative")
	}
}

// IsLoopback reports whether host (a name or an address) is this host's
// loopback interface.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (t *TrustConfig) validate(p *problems) {
	switch t.Revocation {
	case "off", "prefer", "require":
	default:
		p.add("trust.revocation", "must be off, prefer or require, not %q", t.Revocation)
	}
	for _, l := range []struct {
		key   string
		paths []string
	}{{"cas", t.CAs}, {"content_cas", t.ContentCAs}, {"vhn_cas", t.VHNCAs}, {"tls_cas", t.TLSCAs}} {
		for i, path := range l.paths {
			if path == "" {
				p.add(fmt.Sprintf("trust.%s[%d]", l.key, i), "is empty")
			}
		}
	}
}

func (m *MailboxConfig) validate(p *problems, key string) {
	if !namePattern.MatchString(m.Name) {
		p.add(key+".name", "must be 1-63 lowercase letters, digits, '-' or '_', not %q", m.Name)
	}
	if !safeid.Valid(m.SafeID) {
		p.add(key+".safe_id", "%q is not a SAFE-ID (e.g. %s)", m.SafeID, safeid.Example)
	}
	if m.PollInterval < MinPollInterval {
		p.add(key+".poll_interval", "must be at least %s, not %s", MinPollInterval, m.PollInterval)
	}
	if m.Intake == "" {
		p.add(key+".intake", "is required")
	}
	m.Retention.validate(p, key+".retention")
	if x := m.XMLLimits; x.MaxBytes < 0 || x.MaxDepth < 0 || x.MaxElements < 0 || x.MaxAttributes < 0 || x.MaxNamespaceDecls < 0 {
		p.add(key+".xml_limits", "must not be negative")
	}
	m.Signature.validate(p, key+".signature")
	m.Cipher.validate(p, key+".cipher")
	m.Card.validate(p, key+".business_card")
}

func (ic *IntermediaryConfig) applyDefaults() {
	if ic.CircuitFailures == 0 {
		ic.CircuitFailures = DefaultCircuitFailures
	}
	if ic.CircuitOpen == 0 {
		ic.CircuitOpen = DefaultCircuitOpen
	}
}

func (ic *IntermediaryConfig) validate(p *problems, key string) {
	checkURL(p, key+".url", ic.URL, ic.AllowInsecureHTTP)
	if ic.CipherCert == "" {
		p.add(key+".cipher_cert", "is required: requests are encrypted to the intermediary's pinned cipher certificate")
	}
	if len(ic.SignCerts) == 0 {
		p.add(key+".signature_certs", "at least one pinned intermediary signature certificate is required")
	}
	for i, path := range ic.SignCerts {
		if path == "" {
			p.add(fmt.Sprintf("%s.signature_certs[%d]", key, i), "is empty")
		}
	}
	if ic.CircuitFailures < 1 {
		p.add(key+".circuit_failures", "must be at least 1, not %d", ic.CircuitFailures)
	}
	if ic.CircuitOpen < time.Second || ic.CircuitOpen > MaxCircuitOpen {
		p.add(key+".circuit_open", "must be between 1s and %s, not %s", MaxCircuitOpen, ic.CircuitOpen)
	}
}

// resolveIntermediary gives the mailbox the intermediary it names, or
// lists its inline one among the intermediaries (under its own name, else
// the mailbox's; an identical inline one is listed once; one at the same
// URL with other pins stays apart, for a mailbox whose intermediary
// certificates change before another's),
// so that afterwards every mailbox's Intermediary is complete and named.
func (c *Config) resolveIntermediary(p *problems, key string, m *MailboxConfig) {
	ic := &m.Intermediary
	defined := "none"
	if names := c.IntermediaryNames(); len(names) > 0 {
		defined = strings.Join(names, ", ")
	}
	if ic.URL == "" {
		if ic.Name == "" {
			p.add(key, "is required: the name of one of intermediaries (defined: %s), or url, cipher_cert and signature_certs", defined)
			return
		}
		named, ok := c.Intermediary(ic.Name)
		if !ok {
			p.add(key, "names no intermediary %q (defined: %s)", ic.Name, defined)
			return
		}
		*ic = named
		return
	}
	ic.applyDefaults()
	n := len(*p)
	ic.validate(p, key)
	if ic.Name != "" && !namePattern.MatchString(ic.Name) {
		p.add(key+".name", "must be 1-63 lowercase letters, digits, '-' or '_', not %q", ic.Name)
	}
	if len(*p) > n {
		return
	}
	same := func(a, b IntermediaryConfig) bool {
		a.Name, b.Name, a.Key, b.Key = "", "", "", ""
		return reflect.DeepEqual(a, b)
	}
	for i, other := range c.Intermediaries {
		switch {
		case ic.Name != "" && other.Name == ic.Name && !same(*ic, other):
			p.add(key+".name", "%q is also the name of intermediaries[%d], with other settings", ic.Name, i)
			return
		case (ic.Name == "" || ic.Name == other.Name) && same(*ic, other):
			ic.Name = other.Name
			return
		}
	}
	if ic.Name == "" {
		ic.Name = m.Name
		if _, taken := c.Intermediary(ic.Name); taken {
			p.add(key+".name", "the inline intermediary needs a name: %q is taken", ic.Name)
			return
		}
	}
	ic.Key = key
	c.Intermediaries = append(c.Intermediaries, *ic)
}

// checkURL requires an http(s) URL with a host; plain http only to the
// loopback interface unless allowed.
func checkURL(p *problems, key, raw string, allowHTTP bool) {
	if raw == "" {
		p.add(key, "is required")
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		p.add(key, "must be an http(s) URL, not %q", raw)
		return
	}
	if u.Scheme == "http" && !IsLoopback(u.Hostname()) && !allowHTTP {
		p.add(key, "%q is plain http to another host: use https, or set allow_insecure_http beside it", raw)
	}
}

func (b *BusinessCardConfig) validate(p *problems, key string) {
	for _, f := range []struct{ name, v string }{{"organisation", b.Organisation}, {"organisation_suffix", b.OrganisationSuffix},
		{"name", b.Name}, {"street", b.Street}, {"house_number", b.HouseNumber}, {"postal_code", b.PostalCode},
		{"city", b.City}, {"state", b.State}, {"country", b.Country}, {"email", b.Email}, {"phone", b.Phone}} {
		switch {
		case len(f.v) > 200:
			p.add(key+"."+f.name, "longer than 200 bytes")
		case strings.ContainsAny(f.v, "\r\n\x00"):
			p.add(key+"."+f.name, "must be a single line")
		}
	}
}

func (k *KeystoreConfig) validate(p *problems, key string) {
	switch {
	case k.PKCS12 != "" && (k.Key != "" || k.Cert != ""):
		p.add(key, "give either pkcs12 or key and cert, not both")
	case k.PKCS12 == "" && (k.Key == "" || k.Cert == ""):
		p.add(key, "needs pkcs12, or key and cert")
	case k.PKCS12 != "" && k.Password.File == "" && k.Password.Env == "":
		p.add(key+".password", "a PKCS#12 keystore needs password.file or password.env")
	}
	if k.Password.File != "" && k.Password.Env != "" {
		p.add(key+".password", "give file or env, not both")
	}
}

func (in *IntakeConfig) validate(p *problems, key string) {
	if !namePattern.MatchString(in.Name) {
		p.add(key+".name", "must be 1-63 lowercase letters, digits, '-' or '_', not %q", in.Name)
	}
	switch in.Type {
	case "folder":
		if in.Path == "" {
			p.add(key+".path", "is required for a folder intake")
		}
		if in.URL != "" {
			p.add(key+".url", "is for http intakes only")
		}
	case "http":
		checkURL(p, key+".url", in.URL, in.AllowInsecureHTTP)
		if in.Timeout < 0 || in.TimeoutPerMiB < 0 {
			p.add(key+".timeout", "must not be negative")
		}
		if in.Path != "" {
			p.add(key+".path", "is for folder intakes only")
		}
	case "xdomea":
		in.validateXDomea(p, key)
	default:
		p.add(key+".type", "must be folder, http or xdomea, not %q", in.Type)
	}
	if in.XDomea != nil && in.Type != "xdomea" {
		p.add(key+".xdomea", "is for xdomea intakes only")
	}
	if in.Auth.File != "" && in.Auth.Env != "" {
		p.add(key+".token", "give file or env, not both")
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	sort.Strings(out)
	return out
}

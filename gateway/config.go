package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrConfig marks every configuration error; the message names the key.
var ErrConfig = errors.New("gateway: invalid configuration")

// Config is the daemon's configuration: one YAML file, decoded strictly.
// Secrets never appear in it: they are referenced as files or environment
// variables (SecretRef).
type Config struct {
	DataDir        string          `yaml:"data_dir"`
	Log            LogConfig       `yaml:"log"`
	API            APIConfig       `yaml:"api"`
	Trust          TrustConfig     `yaml:"trust"`
	Mailboxes      []MailboxConfig `yaml:"mailboxes"`
	Intakes        []IntakeConfig  `yaml:"intakes"`
	OutgoingFolder *OutgoingConfig `yaml:"outgoing_folder"`
	AddressBook    string          `yaml:"address_book"`
}

// LogConfig selects the log format and level.
type LogConfig struct {
	Format string `yaml:"format"` // json (default) or console
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

// APIConfig configures the admin HTTP API.
type APIConfig struct {
	Listen     string `yaml:"listen"`      // default 127.0.0.1:8440
	TokensFile string `yaml:"tokens_file"` // one bearer token per line
	ClientCA   string `yaml:"client_ca"`   // PEM; enables TLS client certificates
	TLSCert    string `yaml:"tls_cert"`
	TLSKey     string `yaml:"tls_key"`
}

// TrustConfig lists the CA certificates per use (certs.TrustSets); a CA
// in one list vouches for nothing the others cover. The intermediary's
// signature certificates are pinned per mailbox
// (mailboxes[].intermediary.signature_certs) and recipients' cipher
// certificates come from the address book.
type TrustConfig struct {
	// ContentCAs vouch for parties' signatures: content signatures and a
	// transport signature that is not a VHN. CAs is the older name of the
	// same list; both are read.
	ContentCAs []string `yaml:"content_cas"`
	CAs        []string `yaml:"cas"`
	// VHNCAs are the beBPo VHN CAs; without them no message gets the VHN mark.
	VHNCAs []string `yaml:"vhn_cas"`
	// TLSCAs, when set, are the only roots for TLS to the intermediaries
	// (default: the system roots).
	TLSCAs     []string `yaml:"tls_cas"`
	Revocation string   `yaml:"revocation"` // off, prefer, require (default require)
}

// SecretRef names where a secret is: a file or an environment variable.
type SecretRef struct {
	File string `yaml:"file"`
	Env  string `yaml:"env"`
}

// Resolve reads the secret.
func (s SecretRef) Resolve(getenv func(string) string) (string, error) {
	env := &Env{Getenv: getenv}
	return ReadSecret(env, s.File, s.Env)
}

// KeystoreConfig is one key pair: a PKCS#12 file or PEM key and certificate.
type KeystoreConfig struct {
	PKCS12   string    `yaml:"pkcs12"`
	Key      string    `yaml:"key"`
	Cert     string    `yaml:"cert"`
	Password SecretRef `yaml:"password"`
}

// IntermediaryConfig is the OSCI intermediary a mailbox lives at.
type IntermediaryConfig struct {
	URL        string   `yaml:"url"`
	CipherCert string   `yaml:"cipher_cert"` // pinned; requests are encrypted to it
	SignCerts  []string `yaml:"signature_certs"`
}

// MailboxConfig is one beBPo mailbox served by the gateway.
type MailboxConfig struct {
	Name         string             `yaml:"name"`
	SafeID       string             `yaml:"safe_id"`
	Intermediary IntermediaryConfig `yaml:"intermediary"`
	Signature    KeystoreConfig     `yaml:"signature"`
	Cipher       KeystoreConfig     `yaml:"cipher"`
	PollInterval time.Duration      `yaml:"poll_interval"`
	Intake       string             `yaml:"intake"`
	Card         BusinessCardConfig `yaml:"business_card"`
}

// BusinessCardConfig is the mailbox's Visitenkarte, sent with every
// message as SAFE lists the mailbox (all fields optional; Nutzer_ID is
// the SAFE-ID).
type BusinessCardConfig struct {
	Organisation       string `yaml:"organisation"`
	OrganisationSuffix string `yaml:"organisation_suffix"`
	Name               string `yaml:"name"`
	Street             string `yaml:"street"`
	HouseNumber        string `yaml:"house_number"`
	PostalCode         string `yaml:"postal_code"`
	City               string `yaml:"city"`
	State              string `yaml:"state"`
	Country            string `yaml:"country"`
	Email              string `yaml:"email"`
	Phone              string `yaml:"phone"`
}

// IntakeConfig is one eAkte intake sink.
type IntakeConfig struct {
	Name string            `yaml:"name"`
	Type string            `yaml:"type"` // folder or http
	Path string            `yaml:"path"` // folder
	URL  string            `yaml:"url"`  // http
	Auth SecretRef         `yaml:"token"`
	Meta map[string]string `yaml:"headers"`
}

// OutgoingConfig is the watched folder for specialist applications.
type OutgoingConfig struct {
	Path     string        `yaml:"path"`
	Mailbox  string        `yaml:"mailbox"`
	Interval time.Duration `yaml:"interval"`
}

// Defaults applied by LoadConfig before validation.
const (
	DefaultAPIListen    = "127.0.0.1:8440"
	DefaultPollInterval = 5 * time.Minute
	MinPollInterval     = time.Second
	maxConfigBytes      = 1 << 20
)

// safeIDPattern accepts SAFE-IDs as issued for the justice network
// (DE.Justiz.<uuid>.<hex>, DE.BRAK..., govello-...) without being stricter
// than the directory itself: a dotted or dashed token of safe characters.
var safeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,127}$`)

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// LoadConfig reads, strictly decodes, defaults and validates a config file.
// Relative paths in the file are taken relative to the file's directory.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	defer f.Close()
	c, err := DecodeConfig(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.resolvePaths(filepath.Dir(path))
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// DecodeConfig decodes YAML strictly (unknown keys are errors) and applies
// defaults. It does not validate.
func DecodeConfig(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrConfig, maxConfigBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrConfig)
		}
		return nil, fmt.Errorf("%w: %s", ErrConfig, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrConfig)
	}
	c.applyDefaults()
	return &c, nil
}

func (c *Config) applyDefaults() {
	if c.API.Listen == "" {
		c.API.Listen = DefaultAPIListen
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Trust.Revocation == "" {
		c.Trust.Revocation = "require"
	}
	for i := range c.Mailboxes {
		if c.Mailboxes[i].PollInterval == 0 {
			c.Mailboxes[i].PollInterval = DefaultPollInterval
		}
	}
	if c.OutgoingFolder != nil && c.OutgoingFolder.Interval == 0 {
		c.OutgoingFolder.Interval = 5 * time.Second
	}
}

func (c *Config) resolvePaths(base string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.API.TokensFile)
	abs(&c.API.ClientCA)
	abs(&c.API.TLSCert)
	abs(&c.API.TLSKey)
	abs(&c.AddressBook)
	for _, list := range [][]string{c.Trust.CAs, c.Trust.ContentCAs, c.Trust.VHNCAs, c.Trust.TLSCAs} {
		for i := range list {
			abs(&list[i])
		}
	}
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		abs(&m.Intermediary.CipherCert)
		for j := range m.Intermediary.SignCerts {
			abs(&m.Intermediary.SignCerts[j])
		}
		for _, k := range []*KeystoreConfig{&m.Signature, &m.Cipher} {
			abs(&k.PKCS12)
			abs(&k.Key)
			abs(&k.Cert)
			abs(&k.Password.File)
		}
	}
	for i := range c.Intakes {
		abs(&c.Intakes[i].Path)
		abs(&c.Intakes[i].Auth.File)
	}
	if c.OutgoingFolder != nil {
		abs(&c.OutgoingFolder.Path)
	}
}

// configErr formats "key: problem" wrapped in ErrConfig.
func configErr(key, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, a...))
}

// Validate checks every section and returns the first problem, naming the key.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return configErr("data_dir", "is required")
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if err := c.API.Validate(); err != nil {
		return err
	}
	if err := c.Trust.Validate(); err != nil {
		return err
	}
	intakes := map[string]bool{}
	for i := range c.Intakes {
		in := &c.Intakes[i]
		if err := in.Validate(fmt.Sprintf("intakes[%d]", i)); err != nil {
			return err
		}
		if intakes[in.Name] {
			return configErr(fmt.Sprintf("intakes[%d].name", i), "%q is used twice", in.Name)
		}
		intakes[in.Name] = true
	}
	if len(c.Mailboxes) == 0 {
		return configErr("mailboxes", "at least one mailbox is required")
	}
	names := map[string]bool{}
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		key := fmt.Sprintf("mailboxes[%d]", i)
		if err := m.Validate(key); err != nil {
			return err
		}
		if names[m.Name] {
			return configErr(key+".name", "%q is used twice", m.Name)
		}
		names[m.Name] = true
		if !intakes[m.Intake] {
			return configErr(key+".intake", "names no intake %q (defined: %s)", m.Intake, strings.Join(keys(intakes), ", "))
		}
	}
	if o := c.OutgoingFolder; o != nil {
		switch {
		case o.Path == "":
			return configErr("outgoing_folder.path", "is required")
		case !names[o.Mailbox]:
			return configErr("outgoing_folder.mailbox", "names no mailbox %q", o.Mailbox)
		case o.Interval < 100*time.Millisecond:
			return configErr("outgoing_folder.interval", "must be at least 100ms, not %s", o.Interval)
		}
	}
	return nil
}

// Validate checks the log section.
func (l *LogConfig) Validate() error {
	switch l.Format {
	case "json", "console":
	default:
		return configErr("log.format", "must be json or console, not %q", l.Format)
	}
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		return configErr("log.level", "must be debug, info, warn or error, not %q", l.Level)
	}
	return nil
}

// Validate checks the API section.
func (a *APIConfig) Validate() error {
	host, _, err := net.SplitHostPort(a.Listen)
	switch {
	case err != nil:
		return configErr("api.listen", "must be host:port: %v", err)
	case a.TokensFile == "" && a.ClientCA == "":
		return configErr("api.tokens_file", "is required unless api.client_ca is set (the API never runs without authentication)")
	case a.ClientCA != "" && (a.TLSCert == "" || a.TLSKey == ""):
		return configErr("api.client_ca", "needs api.tls_cert and api.tls_key")
	case (a.TLSCert == "") != (a.TLSKey == ""):
		return configErr("api.tls_cert", "and api.tls_key go together")
	case !isLoopback(host) && a.TLSCert == "":
		return configErr("api.listen", "%q is not a loopback address; serving beyond this host needs api.tls_cert and api.tls_key", a.Listen)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks the trust section.
func (t *TrustConfig) Validate() error {
	switch t.Revocation {
	case "off", "prefer", "require":
	default:
		return configErr("trust.revocation", "must be off, prefer or require, not %q", t.Revocation)
	}
	for _, l := range []struct {
		key   string
		paths []string
	}{{"cas", t.CAs}, {"content_cas", t.ContentCAs}, {"vhn_cas", t.VHNCAs}, {"tls_cas", t.TLSCAs}} {
		for i, p := range l.paths {
			if p == "" {
				return configErr(fmt.Sprintf("trust.%s[%d]", l.key, i), "is empty")
			}
		}
	}
	return nil
}

// Validate checks one mailbox.
func (m *MailboxConfig) Validate(key string) error {
	switch {
	case !namePattern.MatchString(m.Name):
		return configErr(key+".name", "must be 1-63 lowercase letters, digits, '-' or '_', not %q", m.Name)
	case !safeIDPattern.MatchString(m.SafeID):
		return configErr(key+".safe_id", "%q is not a SAFE-ID (e.g. DE.Justiz.<uuid>.<hex>)", m.SafeID)
	case m.Intermediary.URL == "":
		return configErr(key+".intermediary.url", "is required")
	case m.Intermediary.CipherCert == "":
		return configErr(key+".intermediary.cipher_cert", "is required: requests are encrypted to the intermediary's pinned cipher certificate")
	case len(m.Intermediary.SignCerts) == 0:
		return configErr(key+".intermediary.signature_certs", "at least one pinned intermediary signature certificate is required")
	case m.PollInterval < MinPollInterval:
		return configErr(key+".poll_interval", "must be at least %s, not %s", MinPollInterval, m.PollInterval)
	case m.Intake == "":
		return configErr(key+".intake", "is required")
	}
	u, err := url.Parse(m.Intermediary.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return configErr(key+".intermediary.url", "must be an http(s) URL, not %q", m.Intermediary.URL)
	}
	if err := m.Signature.Validate(key + ".signature"); err != nil {
		return err
	}
	if err := m.Cipher.Validate(key + ".cipher"); err != nil {
		return err
	}
	return m.Card.Validate(key + ".business_card")
}

// Validate checks the business card: short single-line values.
func (b *BusinessCardConfig) Validate(key string) error {
	for _, f := range []struct{ name, v string }{{"organisation", b.Organisation}, {"organisation_suffix", b.OrganisationSuffix},
		{"name", b.Name}, {"street", b.Street}, {"house_number", b.HouseNumber}, {"postal_code", b.PostalCode},
		{"city", b.City}, {"state", b.State}, {"country", b.Country}, {"email", b.Email}, {"phone", b.Phone}} {
		switch {
		case len(f.v) > 200:
			return configErr(key+"."+f.name, "longer than 200 bytes")
		case strings.ContainsAny(f.v, "\r\n\x00"):
			return configErr(key+"."+f.name, "must be a single line")
		}
	}
	return nil
}

// Validate checks one keystore reference.
func (k *KeystoreConfig) Validate(key string) error {
	switch {
	case k.PKCS12 != "" && (k.Key != "" || k.Cert != ""):
		return configErr(key, "give either pkcs12 or key and cert, not both")
	case k.PKCS12 == "" && (k.Key == "" || k.Cert == ""):
		return configErr(key, "needs pkcs12, or key and cert")
	case k.PKCS12 != "" && k.Password.File == "" && k.Password.Env == "":
		return configErr(key+".password", "a PKCS#12 keystore needs password.file or password.env")
	case k.Password.File != "" && k.Password.Env != "":
		return configErr(key+".password", "give file or env, not both")
	}
	return nil
}

// Validate checks one intake sink.
func (in *IntakeConfig) Validate(key string) error {
	if !namePattern.MatchString(in.Name) {
		return configErr(key+".name", "must be 1-63 lowercase letters, digits, '-' or '_', not %q", in.Name)
	}
	switch in.Type {
	case "folder":
		if in.Path == "" {
			return configErr(key+".path", "is required for a folder intake")
		}
		if in.URL != "" {
			return configErr(key+".url", "is for http intakes only")
		}
	case "http":
		u, err := url.Parse(in.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return configErr(key+".url", "must be an http(s) URL, not %q", in.URL)
		}
		if in.Path != "" {
			return configErr(key+".path", "is for folder intakes only")
		}
	default:
		return configErr(key+".type", "must be folder or http, not %q", in.Type)
	}
	return nil
}

func keys(m map[string]bool) []string {
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

// Package config is the gateway's configuration: one YAML file, decoded
// strictly (an unknown key is an error), with defaults applied and paths
// taken relative to the file. Validate reports every problem at once, each
// a *Problem naming its key ("mailboxes[1].intermediary.url: ...") and
// matching ErrConfig; loading the keys and certificates a configuration
// names fails with ErrKeyMaterial, naming the key too. Load and Read add
// the line of the file that sets each key, and decode past an unknown key
// or a value of the wrong type, so one run reports them all. Secrets are never in the
// file: it names a file or an environment variable, and a secret file that
// group or others may read is refused unless allow_group_readable_secrets
// says otherwise. Nothing here touches a mailbox or the store, so a
// refused configuration leaves everything as it was.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/routing"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// ErrConfig marks every configuration error; the message names the key.
var ErrConfig = errors.New("gateway: invalid configuration")

// Config is the daemon's configuration.
type Config struct {
	DataDir string         `yaml:"data_dir"`
	Log     logging.Config `yaml:"log"`
	API     APIConfig      `yaml:"api"`
	Trust   TrustConfig    `yaml:"trust"`
	// Intermediaries are the OSCI intermediaries the gateway speaks to by
	// name: its mailboxes' own and the ones recipients live at. A mailbox's
	// inline intermediary is added here by Validate, under its name or, when
	// it has none, under the mailbox's name.
	Intermediaries []IntermediaryConfig `yaml:"intermediaries"`
	Mailboxes      []MailboxConfig      `yaml:"mailboxes"`
	Sending        SendingConfig        `yaml:"sending"`
	Intakes        []IntakeConfig       `yaml:"intakes"`
	OutgoingFolder *OutgoingConfig      `yaml:"outgoing_folder"`
	AddressBook    string               `yaml:"address_book"`
	Register       *RegisterConfig      `yaml:"register"`
	EEB            EEBConfig            `yaml:"eeb"`
	Store          StoreConfig          `yaml:"store"`
	Blobs          BlobsConfig          `yaml:"blobs"`
	Leases         LeaseConfig          `yaml:"leases"`
	Notify         *NotifyConfig        `yaml:"notify"`
	// Web serves the clerks' web application; nil: none.
	Web *WebConfig `yaml:"web"`
	// AllowGroupReadableSecrets accepts password and token files that the
	// file's group may read (mode 0640, for a deployment where an
	// administrators' group owns them). Files others may read are refused
	// whatever this says, and so are private-key files readable by group.
	AllowGroupReadableSecrets bool `yaml:"allow_group_readable_secrets"`
}

// APIConfig configures the admin HTTP API.
type APIConfig struct {
	Listen     string `yaml:"listen"`      // default 127.0.0.1:8440
	TokensFile string `yaml:"tokens_file"` // one bearer token per line
	ClientCA   string `yaml:"client_ca"`   // PEM; enables TLS client certificates
	TLSCert    string `yaml:"tls_cert"`
	TLSKey     string `yaml:"tls_key"`
	// MaxUploadBytes bounds the bytes of the submissions being uploaded
	// at once (default 256 MiB); past it a submission is answered 503
	// with Retry-After, except one of at most 1 MiB, which is never held
	// back.
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
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

// KeystoreConfig is one key pair: a PKCS#12 file or PEM key and certificate.
type KeystoreConfig struct {
	PKCS12   string    `yaml:"pkcs12"`
	Key      string    `yaml:"key"`
	Cert     string    `yaml:"cert"`
	Password SecretRef `yaml:"password"`
}

// IntermediaryConfig is one OSCI intermediary: where it is, the cipher
// certificate requests to it are encrypted to, and the certificates whose
// signatures are accepted from it (for its responses and process cards
// only). In a mailbox, `intermediary: NAME` names one of the top-level
// intermediaries; the inline form (url, cipher_cert, ...) stays valid.
type IntermediaryConfig struct {
	Name       string   `yaml:"name"`
	URL        string   `yaml:"url"`
	CipherCert string   `yaml:"cipher_cert"` // pinned; requests are encrypted to it
	SignCerts  []string `yaml:"signature_certs"`
	// AllowInsecureHTTP permits a plain http URL that is not on the
	// loopback interface (a test intermediary behind a TLS-terminating
	// proxy on the same host, say). Off by default.
	AllowInsecureHTTP bool `yaml:"allow_insecure_http"`
	// CircuitFailures is how many requests in a row must fail to reach the
	// intermediary before its circuit opens (default 3); while open, sends
	// to it wait without a request, so an outage costs no other recipient
	// time. CircuitOpen is how long it stays open before one request tries
	// again (default 1 minute, doubling while the tries fail, at most 15).
	CircuitFailures int           `yaml:"circuit_failures"`
	CircuitOpen     time.Duration `yaml:"circuit_open"`

	// Key is where the file defines it ("intermediaries[0]",
	// "mailboxes[1].intermediary"), set by Validate for error messages.
	Key string `yaml:"-"`
}

// UnmarshalYAML reads either a plain name (`intermediary: bebpo`) or the
// inline form, strictly (an unknown key is an error).
func (ic *IntermediaryConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*ic = IntermediaryConfig{Name: n.Value}
		return nil
	}
	type plain IntermediaryConfig
	return decodeStrict(n, (*plain)(ic))
}

// decodeStrict decodes a node with unknown keys refused, as Decode does
// for the whole file (a node's own Decode would accept them).
func decodeStrict(n *yaml.Node, v any) error {
	data, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		// The decoder counts lines of the node alone; name the file's. A
		// *yaml.TypeError lets the file's decoder go on past this node.
		fix := func(msg string) string {
			msg = lineRef.ReplaceAllStringFunc(msg, func(m string) string {
				var l int
				fmt.Sscanf(m, "line %d", &l)
				return fmt.Sprintf("line %d", n.Line+l-1)
			})
			return strings.ReplaceAll(msg, "config.plain", "config.IntermediaryConfig")
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			out := &yaml.TypeError{}
			for _, m := range te.Errors {
				out.Errors = append(out.Errors, fix(m))
			}
			return out
		}
		return errors.New(fix(strings.TrimSpace(err.Error())))
	}
	return nil
}

var lineRef = regexp.MustCompile(`line \d+`)

// Circuit defaults.
const (
	DefaultCircuitFailures = 3
	DefaultCircuitOpen     = time.Minute
	MaxCircuitOpen         = 15 * time.Minute
)

// SendingConfig paces what follows a send.
type SendingConfig struct {
	// ConfirmFirst is when the process card of a sent message is first
	// asked for its reception (default 10s): the recipient's intermediary
	// records the reception as soon as the message is stored in the
	// recipient's mailbox, usually at once. The checks then back off,
	// doubling up to ConfirmMax (default 10 minutes), for ConfirmFor
	// (default 14 days) after which the message stays "sent".
	// `messages requeue ID` asks at once.
	ConfirmFirst time.Duration `yaml:"confirm_first"`
	ConfirmMax   time.Duration `yaml:"confirm_max"`
	ConfirmFor   time.Duration `yaml:"confirm_for"`
}

// Sending defaults.
const (
	DefaultConfirmFirst = 10 * time.Second
	DefaultConfirmMax   = 10 * time.Minute
	DefaultConfirmFor   = 14 * 24 * time.Hour
)

// MailboxConfig is one beBPo mailbox served by the gateway.
type MailboxConfig struct {
	Name         string             `yaml:"name"`
	SafeID       string             `yaml:"safe_id"`
	Intermediary IntermediaryConfig `yaml:"intermediary"`
	Signature    KeystoreConfig     `yaml:"signature"`
	Cipher       KeystoreConfig     `yaml:"cipher"`
	PollInterval time.Duration      `yaml:"poll_interval"`
	Intake       string             `yaml:"intake"`
	// Routes choose another intake than Intake (the default) for the
	// messages they match; the first match wins (gateway/routing).
	Routes []routing.Rule     `yaml:"routes"`
	Card   BusinessCardConfig `yaml:"business_card"`
	// SignatureAlgorithm signs this mailbox's orders (its transport
	// signature, the VHN) and its content: rsa-sha256 (default, what the
	// EGVP clients send), rsa-pss-sha256, rsa-sha512 or rsa-pss-sha512.
	SignatureAlgorithm xmlsec.SignatureAlgorithm `yaml:"signature_algorithm"`
	// RequireEndToEnd quarantines a delivery with a content container that
	// was only transport-encrypted (reason policy_end_to_end_required);
	// off by default, because OSCI allows such containers and many senders'
	// software writes them.
	RequireEndToEnd bool `yaml:"require_end_to_end"`
	// QuarantineInvalidDocumentSignatures quarantines a delivery with a
	// document whose own signature (a .p7s beside it, or one inside a PDF)
	// is broken (reason policy_document_signature_invalid). Off by default:
	// the author's signature is for the recipient to judge, so the
	// delivery arrives with the broken signature shown in its
	// Prüfprotokoll and metadata.
	QuarantineInvalidDocumentSignatures bool `yaml:"quarantine_invalid_document_signatures"`
	// XMLLimits bound every XML document the mailbox reads; zero fields
	// keep the defaults. Raise one to read a parked delivery that broke a
	// limit again (messages reprocess).
	XMLLimits XMLLimitsConfig `yaml:"xml_limits"`
	// Retention removes the documents of finished messages after a time.
	Retention RetentionConfig `yaml:"retention"`
}

// XMLLimitsConfig are the limits of the hardened XML parser
// (osci/xmlsec.Limits); zero means the default.
type XMLLimitsConfig struct {
	MaxBytes          int64 `yaml:"max_bytes"`           // default 32 MiB
	MaxDepth          int   `yaml:"max_depth"`           // default 64
	MaxElements       int   `yaml:"max_elements"`        // default 100000
	MaxAttributes     int   `yaml:"max_attributes"`      // default 64 per element
	MaxNamespaceDecls int   `yaml:"max_namespace_decls"` // default 1024
}

// Limits returns the parser limits: the defaults, with every field set
// here in their place.
func (x XMLLimitsConfig) Limits() xmlsec.Limits {
	l := xmlsec.DefaultLimits()
	if x.MaxBytes > 0 {
		l.MaxBytes = x.MaxBytes
	}
	if x.MaxDepth > 0 {
		l.MaxDepth = x.MaxDepth
	}
	if x.MaxElements > 0 {
		l.MaxElements = x.MaxElements
	}
	if x.MaxAttributes > 0 {
		l.MaxAttributes = x.MaxAttributes
	}
	if x.MaxNamespaceDecls > 0 {
		l.MaxNamespaceDecls = x.MaxNamespaceDecls
	}
	return l
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
	Type string            `yaml:"type"` // folder, http or xdomea
	Path string            `yaml:"path"` // folder, xdomea
	URL  string            `yaml:"url"`  // http
	Auth SecretRef         `yaml:"token"`
	Meta map[string]string `yaml:"headers"`
	// AllowInsecureHTTP permits a plain http URL that is not on the
	// loopback interface. Off by default.
	AllowInsecureHTTP bool `yaml:"allow_insecure_http"`
	// Timeout and TimeoutPerMiB bound one hand-over: Timeout plus
	// TimeoutPerMiB for every MiB of the entry (defaults 60s and 5s, so a
	// 200 MB delivery gets about 17 minutes).
	Timeout       time.Duration `yaml:"timeout"`
	TimeoutPerMiB time.Duration `yaml:"timeout_per_mib"`
	// XDomea configures an xdomea intake (type xdomea).
	XDomea *XDomeaConfig `yaml:"xdomea"`
}

// OutgoingConfig is the watched folder for specialist applications.
type OutgoingConfig struct {
	Path     string        `yaml:"path"`
	Mailbox  string        `yaml:"mailbox"`
	Interval time.Duration `yaml:"interval"`
}

// Defaults applied by Decode before validation.
const (
	DefaultAPIListen    = "127.0.0.1:8440"
	DefaultPollInterval = 5 * time.Minute
	MinPollInterval     = time.Second
	maxConfigBytes      = 1 << 20
)

// AddressBookFile is the address book's file name in the data directory.
const AddressBookFile = "addressbook.json"

// Load reads, strictly decodes, defaults and validates a config file.
// Relative paths in the file are taken relative to the file's directory.
// Every problem is reported at once, each a *Problem with its key and
// line (Problems lists them).
func Load(path string) (*Config, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	return f.Config, nil
}

// File is a configuration file as read: the configuration, as far as it
// could be decoded, and where each key stands in the file.
type File struct {
	Path string
	// Config is nil when the file could not be read or parsed at all;
	// otherwise it holds what could be decoded, defaulted and validated.
	Config *Config
	lines  *lines
}

// Read reads path as Load does, but returns the file along with its
// problems, so that a check can go on to the keys and folders of a
// configuration with mistakes elsewhere.
func Read(path string) (*File, error) {
	f := &File{Path: path}
	data, err := readLimited(path)
	if err != nil {
		return f, fmt.Errorf("%s: %w", path, NewProblem(ErrConfig, "", err))
	}
	f.lines = parseLines(data)
	c, ps := decode(data, f.lines)
	if c != nil {
		c.resolvePaths(filepath.Dir(path))
		ps = append(ps, Problems(c.Validate())...)
		f.Config = c
	}
	f.lines.locate(ps)
	if len(ps) > 0 {
		return f, fmt.Errorf("%s: %w", path, joinProblems(ps))
	}
	return f, nil
}

// Line returns the line of the file that sets key, or of the nearest
// enclosing key it sets; 0 when it sets none of it.
func (f *File) Line(key string) int { return f.lines.line(key) }

// Locate gives every problem in err without a line the line of its key,
// and returns err.
func (f *File) Locate(err error) error {
	f.lines.locate(Problems(err))
	return err
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAtMost(f)
}

// readAtMost reads a configuration of at most maxConfigBytes.
func readAtMost(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("file larger than %d bytes", maxConfigBytes)
	}
	return data, nil
}

// Decode decodes YAML strictly (unknown keys are errors) and applies
// defaults. It does not validate.
func Decode(r io.Reader) (*Config, error) {
	data, err := readAtMost(r)
	if err != nil {
		return nil, NewProblem(ErrConfig, "", err)
	}
	l := parseLines(data)
	c, ps := decode(data, l)
	if len(ps) > 0 {
		return nil, joinProblems(ps)
	}
	return c, nil
}

// decode decodes and defaults data. A value of the wrong type or an
// unknown key is a problem, and decoding goes on past it, so that the
// configuration returned holds everything else; a file that does not
// parse returns no configuration.
func decode(data []byte, l *lines) (*Config, []*Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c Config
	var ps []*Problem
	if err := dec.Decode(&c); err != nil {
		var te *yaml.TypeError
		switch {
		case errors.Is(err, io.EOF):
			return nil, []*Problem{NewProblem(ErrConfig, "", errors.New("the file is empty"))}
		case !errors.As(err, &te):
			return nil, decodeProblems(err, l)
		}
		ps = decodeProblems(err, l)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		ps = append(ps, NewProblem(ErrConfig, "", errors.New("more than one YAML document")))
	}
	c.applyDefaults()
	return &c, ps
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
	for i := range c.Intermediaries {
		c.Intermediaries[i].applyDefaults()
	}
	if c.Sending.ConfirmFirst == 0 {
		c.Sending.ConfirmFirst = DefaultConfirmFirst
	}
	if c.Sending.ConfirmMax == 0 {
		c.Sending.ConfirmMax = DefaultConfirmMax
	}
	if c.Sending.ConfirmFor == 0 {
		c.Sending.ConfirmFor = DefaultConfirmFor
	}
	c.Leases.applyDefaults()
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
	absIntermediary := func(ic *IntermediaryConfig) {
		abs(&ic.CipherCert)
		for j := range ic.SignCerts {
			abs(&ic.SignCerts[j])
		}
	}
	for i := range c.Intermediaries {
		absIntermediary(&c.Intermediaries[i])
	}
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		absIntermediary(&m.Intermediary)
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
		if x := c.Intakes[i].XDomea; x != nil {
			abs(&x.Confirmations)
		}
	}
	if c.OutgoingFolder != nil {
		abs(&c.OutgoingFolder.Path)
	}
	if c.Web != nil && c.Web.OIDC != nil {
		c.Web.OIDC.resolvePaths(abs)
	}
	if c.Register != nil {
		c.Register.resolvePaths(abs)
	}
	if c.Notify != nil {
		c.Notify.resolvePaths(abs)
	}
}

// AddressBookPath is where the address book lives: address_book from the
// configuration, else AddressBookFile in the data directory.
func (c *Config) AddressBookPath() string {
	if c.AddressBook != "" {
		return c.AddressBook
	}
	return filepath.Join(c.DataDir, AddressBookFile)
}

// MailboxNames returns the configured mailbox names in order; the first is
// the default sender.
func (c *Config) MailboxNames() []string { return names(c.Mailboxes, MailboxConfig.name) }

// Intermediary returns the intermediary named name (after Validate, a
// mailbox's inline one too).
func (c *Config) Intermediary(name string) (IntermediaryConfig, bool) {
	return byName(c.Intermediaries, name, IntermediaryConfig.name)
}

// IntermediaryNames returns the names of the configured intermediaries in order.
func (c *Config) IntermediaryNames() []string {
	return names(c.Intermediaries, IntermediaryConfig.name)
}

// Mailbox returns the mailbox named name.
func (c *Config) Mailbox(name string) (MailboxConfig, bool) {
	return byName(c.Mailboxes, name, MailboxConfig.name)
}

func (m MailboxConfig) name() string       { return m.Name }
func (ic IntermediaryConfig) name() string { return ic.Name }

// names returns the name of each of xs, in order.
func names[T any](xs []T, nameOf func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = nameOf(x)
	}
	return out
}

// byName returns the first of xs named name.
func byName[T any](xs []T, name string, nameOf func(T) string) (T, bool) {
	for _, x := range xs {
		if nameOf(x) == name {
			return x, true
		}
	}
	var zero T
	return zero, false
}

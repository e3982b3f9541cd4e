package configcheck

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// ExpiryWarning is how close to its end a certificate is reported.
const ExpiryWarning = 30 * 24 * time.Hour

// Finding levels: an error refuses the configuration (start, reload and
// check-config alike), a warning does not.
const (
	LevelError   = "error"
	LevelWarning = "warning"
	LevelOK      = "ok"
)

// Finding is one result of checking a configuration: a key, the line of
// the file that sets it, and what was found.
type Finding struct {
	Level string `json:"level"`
	Key   string `json:"key,omitempty"`
	Line  int    `json:"line,omitempty"`
	Text  string `json:"text"`
	// Online marks the result of asking an intermediary (Options.Online).
	Online bool `json:"online,omitempty"`
	err    *config.Problem
}

// Options say what to check a configuration with.
type Options struct {
	ConfigPath string
	Getenv     func(string) string // default os.Getenv
	Now        func() time.Time    // default time.Now
	// Online asks every intermediary for a message id (an OSCI
	// getMessageId, signed and encrypted with a mailbox's keys), which
	// also proves the pinned certificates match it.
	Online     bool
	HTTPClient *http.Client  // for Online; default one with trust.tls_cas or the system roots
	Timeout    time.Duration // per intermediary, for Online; default 30s
}

// Report is what Check found.
type Report struct {
	Path     string
	Config   *config.Config // nil when the file could not be read or parsed
	Findings []Finding
}

// Err returns the errors among the findings, every one a *config.Problem
// matching config.ErrConfig or config.ErrKeyMaterial (intermediaries that
// did not answer match neither); nil when there are none.
func (r *Report) Err() error {
	var errs []error
	for _, f := range r.Findings {
		if f.err != nil {
			errs = append(errs, f.err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %w", r.Path, errors.Join(errs...))
}

// Count returns how many findings have level.
func (r *Report) Count(level string) int {
	n := 0
	for _, f := range r.Findings {
		if f.Level == level {
			n++
		}
	}
	return n
}

// checker collects the findings of one check.
type checker struct {
	rep  *Report
	file *config.File
	now  time.Time
}

func (c *checker) problem(p *config.Problem) {
	if p.Line == 0 && c.file != nil {
		p.Line = c.file.Line(p.Key)
	}
	c.rep.Findings = append(c.rep.Findings, Finding{Level: LevelError, Key: p.Key, Line: p.Line, Text: p.Err.Error(), err: p})
}

// fail records every problem in err; kind classes parts that are not a
// *config.Problem yet.
func (c *checker) fail(kind error, key string, err error) {
	var p *config.Problem
	if !errors.As(err, &p) {
		c.problem(config.NewProblem(kind, key, err))
		return
	}
	for _, p := range config.Problems(err) {
		c.problem(p)
	}
}

func (c *checker) note(level, key, format string, a ...any) {
	line := 0
	if c.file != nil {
		line = c.file.Line(key)
	}
	c.rep.Findings = append(c.rep.Findings, Finding{Level: level, Key: key, Line: line, Text: fmt.Sprintf(format, a...)})
}

// Check checks a configuration file as the daemon does before it starts
// or reloads, reporting everything at once: the file itself
// (every key with its line), every key and certificate it names (usable
// for its purpose, with the days left), the secrets, the address book,
// and that the data, intake and outgoing folders can be written. It
// changes nothing. The daemon refuses a configuration with any error;
// check-config shows the warnings and what was found in order too.
func Check(ctx context.Context, opt Options) *Report {
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	rep := &Report{Path: opt.ConfigPath}
	f, err := config.Read(opt.ConfigPath)
	c := &checker{rep: rep, file: f, now: opt.Now()}
	if err != nil {
		c.fail(config.ErrConfig, "", err)
	}
	if f == nil || f.Config == nil {
		return rep
	}
	cfg := f.Config
	rep.Config = cfg
	c.folders(cfg)
	c.api(cfg)
	if _, err := addressbook.Open(cfg.AddressBookPath(), opt.Now); err != nil {
		c.fail(config.ErrConfig, "address_book", err)
	}
	c.trust(cfg)
	c.intermediaries(cfg)
	ids := c.mailboxes(cfg, opt.Getenv)
	for i, in := range cfg.Intakes {
		if in.Auth.File != "" || in.Auth.Env != "" {
			if _, err := cfg.Resolve(in.Auth, opt.Getenv); err != nil {
				c.fail(config.ErrConfig, fmt.Sprintf("intakes[%d].token", i), err)
			}
		}
	}
	if opt.Online {
		c.online(ctx, cfg, ids, opt)
	}
	return rep
}

// folders checks that the gateway can write where it writes: the data
// directory, the address book's directory, folder intakes and the
// outgoing folder (each existing, or creatable in its nearest existing
// parent).
func (c *checker) folders(cfg *config.Config) {
	check := func(key, dir string) {
		if dir == "" {
			return
		}
		if err := writableDir(dir); err != nil {
			c.fail(config.ErrConfig, key, err)
			return
		}
		c.note(LevelOK, key, "%s is writable", dir)
	}
	check("data_dir", cfg.DataDir)
	if cfg.AddressBook != "" {
		check("address_book", filepath.Dir(cfg.AddressBook))
	}
	for i, in := range cfg.Intakes {
		if in.Type == "folder" {
			check(fmt.Sprintf("intakes[%d].path", i), in.Path)
		}
	}
	if o := cfg.OutgoingFolder; o != nil {
		check("outgoing_folder.path", o.Path)
	}
}

// writableDir reports whether this process may create files in dir, or
// create dir in its nearest existing parent. It asks the kernel
// (access(2) with the effective user), so it writes nothing.
func writableDir(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist) && p != filepath.Dir(p):
			continue
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("%s is not a directory", p)
		}
		if err := unix.Faccessat(unix.AT_FDCWD, p, unix.W_OK|unix.X_OK, unix.AT_EACCESS); err != nil {
			if p != dir {
				return fmt.Errorf("%s does not exist and %s is not writable: %w", dir, p, err)
			}
			return fmt.Errorf("%s is not writable: %w", dir, err)
		}
		return nil
	}
}

func (c *checker) api(cfg *config.Config) {
	if cfg.API.TokensFile != "" {
		if _, err := api.LoadTokens(cfg.API.TokensFile, cfg.AllowGroupReadableSecrets); err != nil {
			c.fail(config.ErrConfig, "api.tokens_file", err)
		}
	}
	if _, err := api.TLSConfig(cfg.API); err != nil {
		c.fail(config.ErrConfig, "api.tls_cert", err)
	}
}

// trust loads every CA file on its own, so that each broken one is named.
func (c *checker) trust(cfg *config.Config) {
	for _, l := range []struct {
		key   string
		paths []string
	}{{"content_cas", cfg.Trust.ContentCAs}, {"cas", cfg.Trust.CAs}, {"vhn_cas", cfg.Trust.VHNCAs}, {"tls_cas", cfg.Trust.TLSCAs}} {
		for i, p := range l.paths {
			key := fmt.Sprintf("trust.%s[%d]", l.key, i)
			if err := certs.NewTrustStore().LoadCAs(p); err != nil {
				c.fail(config.ErrKeyMaterial, key, err)
				continue
			}
			if cs, err := certs.LoadCertificates(p); err == nil {
				c.expiry(key, "CA certificate", soonest(cs))
			}
		}
	}
}

// intermediaries loads each intermediary's pinned certificates on their
// own. An intermediary's certificate that expired or does not serve its
// purpose is a warning, not an error: it concerns the messages to that
// intermediary alone, which then fail with the reason.
func (c *checker) intermediaries(cfg *config.Config) {
	for i, ic := range cfg.Intermediaries {
		key := ic.Key
		if key == "" {
			key = fmt.Sprintf("intermediaries[%d]", i)
		}
		if ic.CipherCert != "" {
			if cert, err := config.LoadCertificate(key+".cipher_cert", ic.CipherCert); err != nil {
				c.fail(config.ErrKeyMaterial, key+".cipher_cert", err)
			} else {
				c.purpose(key+".cipher_cert", cert, certs.PurposeCipher)
			}
		}
		for j, p := range ic.SignCerts {
			k := fmt.Sprintf("%s.signature_certs[%d]", key, j)
			if err := certs.NewTrustStore().LoadPins(p); err != nil {
				c.fail(config.ErrKeyMaterial, k, err)
				continue
			}
			if cs, err := certs.LoadCertificates(p); err == nil {
				for _, cert := range cs {
					c.purpose(k, cert, certs.PurposeSignature)
				}
			}
		}
	}
}

// purpose notes whether a pinned certificate serves p, and how long.
func (c *checker) purpose(key string, cert *x509.Certificate, p certs.Purpose) {
	if err := certs.CheckKeyUsage(cert, p); err != nil {
		c.note(LevelWarning, key, "%s: not usable for %s: %v", certs.DN(cert.Subject), p, err)
		return
	}
	c.expiry(key, p.String()+" certificate", cert)
}

// mailboxes loads every mailbox's identity with the daemon's own rule
// (config.LoadIdentity) and notes how long its certificates last.
func (c *checker) mailboxes(cfg *config.Config, getenv func(string) string) map[string]*certs.Identity {
	ids := map[string]*certs.Identity{}
	for i, mc := range cfg.Mailboxes {
		key := fmt.Sprintf("mailboxes[%d]", i)
		id, err := cfg.LoadIdentity(key, mc, c.now, getenv)
		if err != nil {
			c.fail(config.ErrKeyMaterial, key, err)
			continue
		}
		ids[mc.Name] = id
		c.expiry(key+".signature", "signature certificate", id.Signature.Cert)
		c.expiry(key+".cipher", "cipher certificate", id.Cipher.Cert)
	}
	return ids
}

// expiry notes a certificate's remaining days: a warning within
// ExpiryWarning or after its end.
func (c *checker) expiry(key, what string, cert *x509.Certificate) {
	if cert == nil {
		return
	}
	days := certs.DaysUntilExpiry(cert, c.now)
	until := cert.NotAfter.UTC().Format("2006-01-02")
	switch {
	case days < 0:
		c.note(LevelWarning, key, "%s %s expired on %s", what, certs.DN(cert.Subject), until)
	case cert.NotAfter.Sub(c.now) < ExpiryWarning:
		c.note(LevelWarning, key, "%s %s expires on %s: %d days left", what, certs.DN(cert.Subject), until, days)
	default:
		c.note(LevelOK, key, "%s %s valid until %s: %d days left", what, certs.DN(cert.Subject), until, days)
	}
}

// soonest returns the certificate that expires first.
func soonest(cs []*x509.Certificate) *x509.Certificate {
	var out *x509.Certificate
	for _, c := range cs {
		if out == nil || c.NotAfter.Before(out.NotAfter) {
			out = c
		}
	}
	return out
}

// online asks every intermediary for a message id with the keys of a
// mailbox that uses it (else of the first mailbox whose keys loaded).
// An intermediary that does not answer is an error finding that is not
// a configuration error.
func (c *checker) online(ctx context.Context, cfg *config.Config, ids map[string]*certs.Identity, opt Options) {
	inters, err := intermediaries.Load(cfg, intermediaries.NewRegistry(opt.Now, nil))
	if err != nil {
		return // already reported, key by key
	}
	base, err := BaseValidator(cfg, opt.Now)
	if err != nil {
		return // already reported as trust.revocation
	}
	client := opt.HTTPClient
	if client == nil {
		client, err = tlsClient(cfg)
		if err != nil {
			return // already reported as trust.tls_cas
		}
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	spool, err := os.MkdirTemp("", "bebpo-check-*")
	if err != nil {
		c.note(LevelError, "", "no temporary directory for the online check: %v", err)
		return
	}
	defer os.RemoveAll(spool)
	for _, name := range inters.Names() {
		im, _ := inters.Get(name)
		key := "intermediaries"
		for _, ic := range cfg.Intermediaries {
			if ic.Name == name && ic.Key != "" {
				key = ic.Key
			}
		}
		mc, id := identityFor(cfg, ids, name)
		if id == nil {
			c.onlineResult(key, LevelWarning, "%s (%s) not asked: no mailbox's keys could be loaded", name, im.URL)
			continue
		}
		oc, err := osci.NewClient(osci.ClientConfig{URL: im.URL, AllowInsecureHTTP: im.AllowInsecureHTTP,
			Signature: id.Signature, Cipher: id.Cipher, SignatureAlgorithm: mc.SignatureAlgorithm, XML: mc.XMLLimits.Limits(),
			IntermediaryCipher: im.Cipher, IntermediaryKeys: xmlsec.ValidatorSelector{V: certs.TrustSets{Intermediary: im.Signers}.Validators(base).Intermediary},
			RequestTimeout: timeout, ConnectRetries: 1, RetryWaitMax: time.Second,
			Rand: rand.Reader, SpoolDir: spool, HTTPClient: client})
		if err != nil {
			c.onlineResult(key, LevelError, "%s (%s): %v", name, im.URL, err)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		_, err = oc.GetMessageID(rctx)
		cancel()
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case err == nil:
			c.onlineResult(key, LevelOK, "%s (%s) answered getMessageId in %s, signed with a pinned certificate (asked as mailbox %s)", name, im.URL, took, mc.Name)
		case intermediaries.Reached(err):
			c.onlineResult(key, LevelError, "%s (%s) answers, but not as expected (asked as mailbox %s): %v", name, im.URL, mc.Name, err)
		default:
			c.onlineResult(key, LevelError, "%s (%s) does not answer: %v", name, im.URL, err)
		}
	}
}

func (c *checker) onlineResult(key, level, format string, a ...any) {
	c.note(level, key, format, a...)
	c.rep.Findings[len(c.rep.Findings)-1].Online = true
}

// identityFor picks the mailbox whose keys ask intermediary name: one
// that uses it, else the first with loaded keys, in configuration order.
func identityFor(cfg *config.Config, ids map[string]*certs.Identity, name string) (config.MailboxConfig, *certs.Identity) {
	for _, mc := range cfg.Mailboxes {
		if id := ids[mc.Name]; id != nil && mc.Intermediary.Name == name {
			return mc, id
		}
	}
	for _, mc := range cfg.Mailboxes {
		if id := ids[mc.Name]; id != nil {
			return mc, id
		}
	}
	return config.MailboxConfig{}, nil
}

// tlsClient is an HTTP client with trust.tls_cas as its roots, or the
// system roots.
func tlsClient(cfg *config.Config) (*http.Client, error) {
	if len(cfg.Trust.TLSCAs) == 0 {
		return http.DefaultClient, nil
	}
	ts := certs.NewTrustStore()
	for _, p := range cfg.Trust.TLSCAs {
		if err := ts.LoadCAs(p); err != nil {
			return nil, err
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: certs.TrustSets{TLS: ts}.TLSRoots()}
	return &http.Client{Transport: tr}, nil
}

// BaseValidator is what every validator of a daemon's runtime shares, and
// what the online check validates the intermediaries' answers with: the
// clock, the revocation policy of trust.revocation and the revocation
// checker. A policy it does not know is a *config.Problem at
// trust.revocation.
func BaseValidator(cfg *config.Config, now func() time.Time) (certs.Validator, error) {
	mode, err := certs.ParseRevocationMode(cfg.Trust.Revocation)
	if err != nil {
		return certs.Validator{}, config.NewProblem(config.ErrConfig, "trust.revocation", err)
	}
	return certs.Validator{Now: now,
		Policy:     certs.Policy{SignatureRevocation: mode, CipherRevocation: mode},
		Revocation: &certs.RevocationChecker{Timeout: 15 * time.Second}}, nil
}

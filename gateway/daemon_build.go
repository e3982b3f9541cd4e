package gateway

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ErrKeyMaterial marks a configured keystore or certificate the daemon
// cannot use (unreadable, wrong password, weak key, expired). Like
// ErrConfig it is refused at start with exit code 2 and, on SIGHUP, keeps
// the running configuration in place.
var ErrKeyMaterial = errors.New("gateway: unusable key material")

// mailboxEndpoint is what the workers need of one mailbox's OSCI side:
// the send transport and the fetch dialog (OSCIMailbox).
type mailboxEndpoint interface {
	Transport() mailbox.Transport
	OpenSession(ctx context.Context) (mailbox.Session, error)
}

// runtimeConfig is one generation of everything built from a
// configuration: keys, trust, OSCI endpoints and intake sinks. SIGHUP
// builds a new one beside the old and swaps it in between worker rounds;
// a round that started keeps the generation it began with.
type runtimeConfig struct {
	cfg *Config
	// sets are the trust sets all mailboxes share (all but the
	// intermediary's, which each mailbox pins for itself); base carries
	// the clock, policy and revocation checker of every validator.
	sets      certs.TrustSets
	base      certs.Validator
	mailboxes map[string]*mailboxRuntime
	intakes   map[string]mailbox.Intake // by intake name
	intakeCfg map[string]IntakeConfig
}

// mailboxRuntime is one configured mailbox with its loaded identity.
type mailboxRuntime struct {
	cfg      MailboxConfig
	identity *certs.Identity
	endpoint mailboxEndpoint
}

// buildDeps is what building a runtime needs from the daemon.
type buildDeps struct {
	book     *AddressBook
	logger   *zap.Logger
	now      func() time.Time
	rand     io.Reader
	getenv   func(string) string
	spoolDir string
	client   *http.Client
	previous *runtimeConfig // intake sinks whose configuration is unchanged are kept
}

// buildRuntime loads every key, certificate and sink the configuration
// names. It touches no mailbox and no store: a failure leaves nothing
// behind, and every error names the configuration key.
func buildRuntime(ctx context.Context, cfg *Config, d buildDeps) (*runtimeConfig, error) {
	rt := &runtimeConfig{cfg: cfg, mailboxes: map[string]*mailboxRuntime{},
		intakes: map[string]mailbox.Intake{}, intakeCfg: map[string]IntakeConfig{}}
	sets, err := buildTrust(cfg, d.book)
	if err != nil {
		return nil, err
	}
	mode, err := certs.ParseRevocationMode(cfg.Trust.Revocation)
	if err != nil {
		return nil, configErr("trust.revocation", "%v", err)
	}
	rt.sets = sets
	rt.base = certs.Validator{Now: d.now,
		Policy:     certs.Policy{SignatureRevocation: mode, CipherRevocation: mode},
		Revocation: &certs.RevocationChecker{Timeout: 15 * time.Second}}
	for i, in := range cfg.Intakes {
		sink, err := buildIntake(fmt.Sprintf("intakes[%d]", i), in, d)
		if err != nil {
			return nil, err
		}
		rt.intakes[in.Name], rt.intakeCfg[in.Name] = sink, in
	}
	for i, mc := range cfg.Mailboxes {
		key := fmt.Sprintf("mailboxes[%d]", i)
		mr, err := buildMailbox(ctx, key, mc, rt, d)
		if err != nil {
			return nil, err
		}
		rt.mailboxes[mc.Name] = mr
	}
	return rt, nil
}

// buildTrust assembles the trust sets the mailboxes share: party
// signature CAs (trust.content_cas and trust.cas), VHN CAs
// (trust.vhn_cas), TLS roots (trust.tls_cas) and the address book's
// cipher certificates as recipient cipher keys only. The intermediaries'
// signature pins are per mailbox (intermediaryTrust).
func buildTrust(cfg *Config, book *AddressBook) (certs.TrustSets, error) {
	load := func(ts *certs.TrustStore, key string, paths []string) error {
		for i, p := range paths {
			if err := ts.LoadCAs(p); err != nil {
				return fmt.Errorf("%w: trust.%s[%d]: %w", ErrKeyMaterial, key, i, err)
			}
		}
		return nil
	}
	sets := certs.TrustSets{ContentSigner: certs.NewTrustStore(), VHN: certs.NewTrustStore()}
	if err := load(sets.ContentSigner, "content_cas", cfg.Trust.ContentCAs); err != nil {
		return sets, err
	}
	if err := load(sets.ContentSigner, "cas", cfg.Trust.CAs); err != nil {
		return sets, err
	}
	if err := load(sets.VHN, "vhn_cas", cfg.Trust.VHNCAs); err != nil {
		return sets, err
	}
	if len(cfg.Trust.TLSCAs) > 0 {
		sets.TLS = certs.NewTrustStore()
		if err := load(sets.TLS, "tls_cas", cfg.Trust.TLSCAs); err != nil {
			return sets, err
		}
	}
	sets.RecipientCipher = certs.NewTrustStore()
	if book != nil {
		for _, r := range book.List() {
			if c, err := parseRecipientCert(r); err == nil {
				sets.RecipientCipher.Pin(c)
			}
		}
	}
	return sets, nil
}

// intermediaryTrust pins one mailbox's intermediary signature
// certificates: the only certificates trusted to sign its responses.
func intermediaryTrust(key string, mc MailboxConfig) (*certs.TrustStore, error) {
	ts := certs.NewTrustStore()
	for j, p := range mc.Intermediary.SignCerts {
		if err := ts.LoadPins(p); err != nil {
			return nil, fmt.Errorf("%w: %s.intermediary.signature_certs[%d]: %w", ErrKeyMaterial, key, j, err)
		}
	}
	return ts, nil
}

func loadOneCert(path string) (*x509.Certificate, error) {
	cs, err := certs.LoadCertificates(path)
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("%s holds %d certificates, want exactly one", path, len(cs))
	}
	return cs[0], nil
}

func parseRecipientCert(r Recipient) (*x509.Certificate, error) {
	cs, err := certs.ParseCertificates([]byte(r.CipherCert))
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, certs.ErrNoCertificate
	}
	return cs[0], nil
}

// loadKeystore reads one configured key pair. Passwords are read here and
// dropped; they reach no log and no error message.
func loadKeystore(key string, k KeystoreConfig, getenv func(string) string) (*certs.KeyPair, error) {
	if k.PKCS12 != "" {
		pw, err := k.Password.Resolve(getenv)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.password: %w", ErrKeyMaterial, key, err)
		}
		kp, err := certs.LoadPKCS12(k.PKCS12, pw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.pkcs12: %w", ErrKeyMaterial, key, err)
		}
		return kp, nil
	}
	kp, err := certs.LoadPEM(k.Key, k.Cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyMaterial, key, err)
	}
	return kp, nil
}

// loadIdentity loads and checks a mailbox's own key pairs against the
// own-key policy (RSA ≥ 3072, key usage, validity).
func loadIdentity(key string, mc MailboxConfig, now time.Time, getenv func(string) string) (*certs.Identity, error) {
	sig, err := loadKeystore(key+".signature", mc.Signature, getenv)
	if err != nil {
		return nil, err
	}
	ciph, err := loadKeystore(key+".cipher", mc.Cipher, getenv)
	if err != nil {
		return nil, err
	}
	if err := certs.CheckOwnKeyPair(sig, certs.PurposeSignature, now); err != nil {
		return nil, fmt.Errorf("%w: %s.signature: %w", ErrKeyMaterial, key, err)
	}
	if err := certs.CheckOwnKeyPair(ciph, certs.PurposeCipher, now); err != nil {
		return nil, fmt.Errorf("%w: %s.cipher: %w", ErrKeyMaterial, key, err)
	}
	id := &certs.Identity{Signature: sig, Cipher: ciph}
	if err := id.Check(now); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyMaterial, key, err)
	}
	return id, nil
}

func buildMailbox(ctx context.Context, key string, mc MailboxConfig, rt *runtimeConfig, d buildDeps) (*mailboxRuntime, error) {
	id, err := loadIdentity(key, mc, d.now(), d.getenv)
	if err != nil {
		return nil, err
	}
	ic, err := loadOneCert(mc.Intermediary.CipherCert)
	if err != nil {
		return nil, fmt.Errorf("%w: %s.intermediary.cipher_cert: %w", ErrKeyMaterial, key, err)
	}
	sets := rt.sets
	if sets.Intermediary, err = intermediaryTrust(key, mc); err != nil {
		return nil, err
	}
	spool := filepath.Join(d.spoolDir, mc.Name)
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: spool directory: %w", err)
	}
	ep, err := newEndpoint(ctx, endpointParams{cfg: mc, identity: id, intermediaryCipher: ic, rt: rt, sets: sets, deps: d, spoolDir: spool})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyMaterial, key, err)
	}
	return &mailboxRuntime{cfg: mc, identity: id, endpoint: ep}, nil
}

// buildIntake returns the sink for one intake section, reusing the
// previous generation's sink when its configuration is unchanged (so a
// reload never disturbs a hand-over in progress).
func buildIntake(key string, in IntakeConfig, d buildDeps) (mailbox.Intake, error) {
	if p := d.previous; p != nil {
		if old, ok := p.intakeCfg[in.Name]; ok && reflect.DeepEqual(old, in) {
			return p.intakes[in.Name], nil
		}
	}
	switch in.Type {
	case "folder":
		fi, err := mailbox.NewFolderIntake(in.Path, nil, d.now)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.path: %w", ErrConfig, key, err)
		}
		return fi, nil
	case "http":
		h := http.Header{}
		for k, v := range in.Meta {
			h.Set(k, v)
		}
		if in.Auth.File != "" || in.Auth.Env != "" {
			tok, err := in.Auth.Resolve(d.getenv)
			if err != nil {
				return nil, fmt.Errorf("%w: %s.token: %w", ErrConfig, key, err)
			}
			h.Set("Authorization", "Bearer "+tok)
		}
		return &mailbox.HTTPIntake{URL: in.URL, Header: h, Rand: d.rand, Now: d.now}, nil
	}
	return nil, configErr(key+".type", "must be folder or http, not %q", in.Type)
}

// intakeRouter is the Deliverer's sink: it hands each message to the
// intake its recipient mailbox is configured with, in the current
// runtime generation.
type intakeRouter struct{ current func() *runtimeConfig }

func (r intakeRouter) Name() string { return "router" }

func (r intakeRouter) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	rt := r.current()
	mb, ok := rt.mailboxes[m.Metadata.Mailbox]
	if !ok {
		return mailbox.IntakeRecord{}, fmt.Errorf("gateway: mailbox %q is not configured; the message waits for it", m.Metadata.Mailbox)
	}
	sink, ok := rt.intakes[mb.cfg.Intake]
	if !ok {
		return mailbox.IntakeRecord{}, fmt.Errorf("gateway: intake %q is not configured", mb.cfg.Intake)
	}
	return sink.Deliver(ctx, m)
}

// restartOnly lists the configuration changes a reload cannot apply; the
// running configuration is kept when any is present.
func restartOnly(old, next *Config) []string {
	var out []string
	if old.DataDir != next.DataDir {
		out = append(out, "data_dir")
	}
	if !reflect.DeepEqual(old.API, next.API) {
		out = append(out, "api")
	}
	if !reflect.DeepEqual(old.Log, next.Log) {
		out = append(out, "log")
	}
	if len(old.Mailboxes) != len(next.Mailboxes) {
		out = append(out, "mailboxes (added or removed)")
	} else {
		for i := range old.Mailboxes {
			if old.Mailboxes[i].Name != next.Mailboxes[i].Name || old.Mailboxes[i].SafeID != next.Mailboxes[i].SafeID {
				out = append(out, fmt.Sprintf("mailboxes[%d].name/safe_id", i))
			}
		}
	}
	if old.AddressBookPath() != next.AddressBookPath() {
		out = append(out, "address_book")
	}
	return out
}

// restartOnlyError formats the keys a reload refused.
func restartOnlyError(keys []string) error {
	return fmt.Errorf("%w: %s cannot change while running; restart the gateway to apply", ErrConfig, strings.Join(keys, ", "))
}

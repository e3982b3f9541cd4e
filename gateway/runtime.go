package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/configcheck"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/routing"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// mailboxEndpoint is what the workers need of one mailbox's OSCI side:
// the send transport and the fetch dialog (osciendpoint.Mailbox).
type mailboxEndpoint interface {
	// TransportFor is the send transport for a message with this outgoing
	// metadata, towards the intermediary Route names (the send lane).
	TransportFor(meta []byte) (mailbox.Transport, error)
	Route(meta []byte) (string, error)
	OpenSession(ctx context.Context) (mailbox.Session, error)
}

// runtimeConfig is one generation of everything built from a
// configuration: keys, trust, OSCI endpoints and intake sinks. SIGHUP
// builds a new one beside the old and swaps it in between worker rounds;
// a round that started keeps the generation it began with.
type runtimeConfig struct {
	cfg *config.Config
	// sets are the trust sets all mailboxes share (all but the
	// intermediary's, which each mailbox pins for itself); base carries
	// the clock, policy and revocation checker of every validator.
	sets      certs.TrustSets
	base      certs.Validator
	inters    *intermediaries.Set // every configured intermediary, by name
	mailboxes map[string]*mailboxRuntime
	intakes   map[string]mailbox.Intake // by intake name
	intakeCfg map[string]config.IntakeConfig
	courtOf   func(safeID string) string // the address book's court codes, for routing
}

// mailboxRuntime is one configured mailbox with its loaded identity.
type mailboxRuntime struct {
	cfg      config.MailboxConfig
	identity *certs.Identity
	endpoint mailboxEndpoint
	routes   *routing.Table // which intake receives which message
}

// buildDeps is what building a runtime needs from the daemon.
type buildDeps struct {
	book     *addressbook.Book
	logger   *zap.Logger
	now      func() time.Time
	rand     io.Reader
	getenv   func(string) string
	spoolDir string
	client   *http.Client
	previous *runtimeConfig // intake sinks whose configuration is unchanged are kept
	// health keeps each intermediary's circuit across generations (nil: a
	// fresh one, for a runtime built outside the daemon).
	health *intermediaries.Registry
}

// buildRuntime loads every key, certificate and sink the configuration
// names (book: the address book entries it is built with). It touches no mailbox and no store: a failure leaves nothing
// behind, and every error names the configuration key.
func buildRuntime(ctx context.Context, cfg *config.Config, d buildDeps, book []addressbook.Recipient) (*runtimeConfig, error) {
	rt, err := buildTrustAndIntermediaries(cfg, d, book)
	if err != nil {
		return nil, err
	}
	for i, in := range cfg.Intakes {
		sink, err := buildIntake(fmt.Sprintf("intakes[%d]", i), cfg, in, d)
		if err != nil {
			return nil, err
		}
		rt.intakes[in.Name], rt.intakeCfg[in.Name] = sink, in
	}
	if err := rt.buildMailboxes(ctx, d); err != nil {
		return nil, err
	}
	return rt, nil
}

// buildTrustAndIntermediaries starts a generation with what every
// mailbox shares: the trust sets, the validators' base (clock, policy,
// revocation) and the intermediaries.
func buildTrustAndIntermediaries(cfg *config.Config, d buildDeps, book []addressbook.Recipient) (*runtimeConfig, error) {
	rt := &runtimeConfig{cfg: cfg, mailboxes: map[string]*mailboxRuntime{},
		intakes: map[string]mailbox.Intake{}, intakeCfg: map[string]config.IntakeConfig{}, courtOf: courtOf(d.book)}
	var err error
	if rt.sets, err = buildTrust(cfg, book); err != nil {
		return nil, err
	}
	if rt.base, err = configcheck.BaseValidator(cfg, d.now); err != nil {
		return nil, err
	}
	health := d.health
	if health == nil {
		health = intermediaries.NewRegistry(d.now, nil)
	}
	if rt.inters, err = intermediaries.Load(cfg, health); err != nil {
		return nil, err
	}
	return rt, nil
}

// buildMailboxes loads every configured mailbox into rt.
func (rt *runtimeConfig) buildMailboxes(ctx context.Context, d buildDeps) error {
	for i, mc := range rt.cfg.Mailboxes {
		mr, err := buildMailbox(ctx, fmt.Sprintf("mailboxes[%d]", i), rt.cfg, mc, rt, d)
		if err != nil {
			return err
		}
		rt.mailboxes[mc.Name] = mr
	}
	return nil
}

// buildTrust assembles the trust sets the mailboxes share: party
// signature CAs (trust.content_cas and trust.cas), VHN CAs
// (trust.vhn_cas), TLS roots (trust.tls_cas) and the address book's
// cipher certificates as recipient cipher keys only. The intermediaries'
// signature pins are each intermediary's (gateway/intermediaries).
func buildTrust(cfg *config.Config, book []addressbook.Recipient) (certs.TrustSets, error) {
	load := func(ts *certs.TrustStore, key string, paths []string) error {
		for i, p := range paths {
			if err := ts.LoadCAs(p); err != nil {
				return fmt.Errorf("%w: trust.%s[%d]: %w", config.ErrKeyMaterial, key, i, err)
			}
		}
		return nil
	}
	sets := certs.TrustSets{ContentSigner: certs.NewTrustStore(), VHN: certs.NewTrustStore(), RecipientCipher: certs.NewTrustStore()}
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
	for _, r := range book {
		if c, err := r.Certificate(); err == nil {
			sets.RecipientCipher.Pin(c)
		}
	}
	return sets, nil
}

func buildMailbox(ctx context.Context, key string, cfg *config.Config, mc config.MailboxConfig, rt *runtimeConfig, d buildDeps) (*mailboxRuntime, error) {
	id, err := cfg.LoadIdentity(key, mc, d.now(), d.getenv)
	if err != nil {
		return nil, err
	}
	own, err := rt.inters.Get(mc.Intermediary.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s.intermediary: %w", config.ErrConfig, key, err)
	}
	// The intermediary's pins are the only certificates trusted to sign
	// its responses.
	sets := rt.sets
	sets.Intermediary = own.Signers
	spool := filepath.Join(d.spoolDir, mc.Name)
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: spool directory: %w", err)
	}
	ep, err := newEndpoint(ctx, endpointParams{cfg: mc, identity: id, own: own, rt: rt, sets: sets, deps: d, spoolDir: spool})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", config.ErrKeyMaterial, key, err)
	}
	routes, err := routesFor(key, mc, rt)
	if err != nil {
		return nil, err
	}
	return &mailboxRuntime{cfg: mc, identity: id, endpoint: ep, routes: routes}, nil
}

// buildIntake returns the sink for one intake section, reusing the
// previous generation's sink when its configuration is unchanged (so a
// reload never disturbs a hand-over in progress).
func buildIntake(key string, cfg *config.Config, in config.IntakeConfig, d buildDeps) (mailbox.Intake, error) {
	if p := d.previous; p != nil {
		if old, ok := p.intakeCfg[in.Name]; ok && reflect.DeepEqual(old, in) {
			return p.intakes[in.Name], nil
		}
	}
	switch in.Type {
	case "folder":
		fi, err := mailbox.NewFolderIntake(in.Path, nil, d.now)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.path: %w", config.ErrConfig, key, err)
		}
		return fi, nil
	case "http":
		h := http.Header{}
		for k, v := range in.Meta {
			h.Set(k, v)
		}
		if in.Auth.File != "" || in.Auth.Env != "" {
			tok, err := secretAt(cfg, in.Auth, key+".token", d.getenv)
			if err != nil {
				return nil, err
			}
			h.Set("Authorization", "Bearer "+tok)
		}
		hi := &mailbox.HTTPIntake{URL: in.URL, Header: h, Rand: d.rand, Now: d.now, AllowInsecureHTTP: in.AllowInsecureHTTP,
			BaseTimeout: in.Timeout, TimeoutPerMiB: in.TimeoutPerMiB}
		if err := hi.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s.url: %w", config.ErrConfig, key, err)
		}
		return hi, nil
	case "xdomea":
		return buildXDomeaIntake(key, in, d)
	}
	return nil, fmt.Errorf("%w: %s.type: must be folder, http or xdomea, not %q", config.ErrConfig, key, in.Type)
}

// intakeRouter is the Deliverer's sink: it hands each message to the
// intake its recipient mailbox's routing rules choose, in the current
// runtime generation, and records the rule in the entry and the record.
type intakeRouter struct{ current func() *runtimeConfig }

func (r intakeRouter) Name() string { return "router" }

func (r intakeRouter) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	rt := r.current()
	mb, ok := rt.mailboxes[m.Metadata.Mailbox]
	if !ok {
		return mailbox.IntakeRecord{}, fmt.Errorf("gateway: mailbox %q is not configured; the message waits for it", m.Metadata.Mailbox)
	}
	route := mb.routes.Route(routing.MessageOf(m.Metadata, rt.courtOf))
	sink, ok := rt.intakes[route.Intake]
	if !ok {
		return mailbox.IntakeRecord{}, fmt.Errorf("gateway: intake %q is not configured", route.Intake)
	}
	m.Metadata.Route = route.Rule
	rec, err := sink.Deliver(ctx, m)
	rec.Route = route.Rule
	return rec, err
}

// liveConfig is what a reload applies: next, except for the settings a
// running daemon cannot change, which keep their running values and are
// named in pending so the operator learns that they wait for a restart.
func liveConfig(running, next *config.Config) (applied *config.Config, pending []string) {
	c := *next
	if running.DataDir != next.DataDir {
		pending, c.DataDir = append(pending, "data_dir"), running.DataDir
	}
	if !reflect.DeepEqual(running.API, next.API) {
		// Tokens are re-read from the running tokens file on every reload.
		pending, c.API = append(pending, "api"), running.API
	}
	if !reflect.DeepEqual(running.Log, next.Log) {
		pending, c.Log = append(pending, "log"), running.Log
	}
	if running.AddressBookPath() != next.AddressBookPath() {
		pending, c.AddressBook, c.DataDir = append(pending, "address_book"), running.AddressBook, running.DataDir
	}
	// The set of mailboxes is fixed while running (each has its own fetch
	// loop); a mailbox in both generations takes the new settings.
	c.Mailboxes = nil
	for _, old := range running.Mailboxes {
		m, ok := next.Mailbox(old.Name)
		switch {
		case !ok:
			pending, m = append(pending, fmt.Sprintf("mailboxes: %s removed", old.Name)), old
		case m.SafeID != old.SafeID:
			pending, m.SafeID = append(pending, fmt.Sprintf("mailboxes: %s.safe_id", old.Name)), old.SafeID
		}
		c.Mailboxes = append(c.Mailboxes, m)
	}
	for _, m := range next.Mailboxes {
		if _, ok := running.Mailbox(m.Name); !ok {
			pending = append(pending, fmt.Sprintf("mailboxes: %s added", m.Name))
		}
	}
	return &c, pending
}

// restartPendingError names the settings a reload could not apply.
type restartPendingError struct{ keys []string }

func (e *restartPendingError) Error() string {
	return fmt.Sprintf("gateway: %v cannot change while running; restart the gateway to apply them (everything else was applied)", e.keys)
}

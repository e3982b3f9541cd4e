package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/configcheck"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/eventlog"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// leaseReleaser is a store that can free every lease at start-up, when
// the data directory lock proves their holders dead.
type leaseReleaser interface {
	ReleaseLeases(ctx context.Context, now time.Time) ([]mailbox.Message, error)
}

// Daemon errors, besides config.ErrConfig and config.ErrKeyMaterial (refused at start).
var (
	// ErrForced is returned by Run when a second signal cut the drain short.
	ErrForced = errors.New("gateway: forced exit before in-flight work finished")
	// ErrDrainTimeout is returned by Run when in-flight work outlived the drain timeout.
	ErrDrainTimeout = errors.New("gateway: drain timeout: in-flight work was cancelled")
	// ErrLocked is returned when another gateway process holds the data directory.
	ErrLocked = errors.New("gateway: data directory in use by another gateway process")
)

// DaemonOptions tune a daemon; zero values are the production defaults.
type DaemonOptions struct {
	ConfigPath string
	LogOutput  io.Writer           // default os.Stderr
	Logger     *zap.Logger         // overrides the logger built from the configuration
	Getenv     func(string) string // default os.Getenv
	Now        func() time.Time    // default time.Now
	Rand       io.Reader           // default crypto/rand
	HTTPClient *http.Client        // for the intermediaries; nil: the OSCI client's default
	// SendInterval is how often the send engine looks for due messages
	// when no submission woke it (default 2 s); DeliverInterval the same
	// for the intake engine.
	SendInterval, DeliverInterval time.Duration
	// DrainTimeout bounds how long SIGTERM waits for in-flight work
	// (default 30 s); afterwards the work is cancelled and recovered at the
	// next start.
	DrainTimeout time.Duration
	// APIListener, when set, serves the API instead of api.listen (tests
	// and the demo listen on port 0).
	APIListener net.Listener
	// WebListener, when set, serves the web application instead of
	// web.listen (when the configuration has a web section).
	WebListener net.Listener
}

func (o *DaemonOptions) defaults() {
	if o.LogOutput == nil {
		o.LogOutput = os.Stderr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.SendInterval <= 0 {
		o.SendInterval = 2 * time.Second
	}
	if o.DeliverInterval <= 0 {
		o.DeliverInterval = 2 * time.Second
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 30 * time.Second
	}
}

// Daemon is a running gateway: store, workers, admin API and outgoing
// folder. NewDaemon builds it, Run serves until a signal.
//
// Workers: one send engine (woken early by every submission), one intake
// engine (woken by every fetch that stored something) and one fetch loop
// per mailbox at its poll interval. Durability is the engines' (see
// package mailbox): the daemon never cancels a round between their steps
// except when the drain timeout has passed, and then recovery at the next
// start resumes from the last commit. One process per data directory
// (flock on data_dir/gateway.lock).
type Daemon struct {
	opt    DaemonOptions
	log    *zap.Logger
	store  mailbox.Store
	blobs  mailbox.BlobStore
	book   *addressbook.Book
	api    *api.Server
	web    *webServer // nil without a web section
	hs     *http.Server
	ln     net.Listener
	lock   *os.File
	owner  string
	poll   *pollTable
	tokens *api.TokenSet // nil without api.tokens_file
	rt     atomic.Pointer[runtimeConfig]
	health *intermediaries.Registry // each intermediary's circuit, across reloads
	reload sync.Mutex

	closeBlobs func() // releases the blob store's connections

	// Leases a failed send or intake round could not end (disk full),
	// ended first by the next round.
	sendStale, deliverStale mailbox.StaleLeases

	wakeSend, wakeDeliver chan struct{}
	fetchWake             *fetchWakes   // set when the workers start
	stopping              chan struct{} // closed: claim no more work
	workCtx               context.Context
	cancelWork            context.CancelFunc
	workers               sync.WaitGroup
	fatal                 chan error

	events eventlog.Follower // business events, logged from the journal
	eeb    *eebRuntime

	reg *registerRuntime // the Wettbewerbsregister workflow; nil without register:

	notify *notifyRuntime // notifications; nil without notify: or a web application

	outMu     sync.Mutex
	outCancel context.CancelFunc
	outDone   chan struct{}
}

// NewDaemon loads and validates the configuration, every key and
// certificate it names, then opens the store. Configuration and key
// problems (config.ErrConfig, config.ErrKeyMaterial) are reported before the store or
// any mailbox is touched.
func NewDaemon(ctx context.Context, opt DaemonOptions) (*Daemon, error) {
	opt.defaults()
	// The checks of check-config (package configcheck), every problem at once.
	rep := configcheck.Check(ctx, configcheck.Options{ConfigPath: opt.ConfigPath, Getenv: opt.Getenv, Now: opt.Now})
	if err := rep.Err(); err != nil {
		return nil, err
	}
	cfg := rep.Config
	var err error
	log := opt.Logger
	if log == nil {
		if log, err = logging.New(cfg.Log, opt.LogOutput); err != nil {
			return nil, fmt.Errorf("%w: log: %w", config.ErrConfig, err)
		}
	}
	d := &Daemon{opt: opt, log: log, poll: newPollTable(),
		wakeSend: make(chan struct{}, 1), wakeDeliver: make(chan struct{}, 1),
		stopping: make(chan struct{}), fatal: make(chan error, 1)}
	d.workCtx, d.cancelWork = context.WithCancel(context.Background())
	// On failure, close what was opened so far.
	ok, listening, opened := false, false, false
	defer func() {
		if ok {
			return
		}
		if listening {
			d.ln.Close()
		}
		if opened {
			d.closeStore()
		}
		d.cancelWork()
	}()
	d.health = intermediaries.NewRegistry(opt.Now, d.intermediaryChanged)
	host, _ := os.Hostname()
	d.owner = fmt.Sprintf("%s/%d", host, os.Getpid())

	if d.book, err = addressbook.Open(cfg.AddressBookPath(), opt.Now, addressbook.WithIntermediaries(cfg)); err != nil {
		return nil, fmt.Errorf("%w: address_book: %w", config.ErrConfig, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("gateway: data_dir: %w", err)
	}
	rt, err := buildRuntime(ctx, cfg, d.buildDeps(cfg, nil), d.book.List())
	if err != nil {
		return nil, err
	}
	tokens, tlsCfg, err := loadAPISecurity(cfg)
	if err != nil {
		return nil, err
	}
	d.tokens = tokens
	d.ln = opt.APIListener
	if d.ln == nil {
		if d.ln, err = net.Listen("tcp", cfg.API.Listen); err != nil {
			return nil, fmt.Errorf("gateway: api.listen: %w", err)
		}
	}
	listening = true
	if err := d.open(ctx, cfg); err != nil {
		return nil, err
	}
	opened = true
	if err := d.events.Start(ctx, d.store); err != nil {
		return nil, fmt.Errorf("gateway: journal: %w", err)
	}
	if d.reg, err = openRegister(ctx, cfg, log, opt.Now, opt.Getenv); err != nil {
		return nil, err
	}
	if err := d.openEEB(ctx, cfg); err != nil {
		return nil, err
	}
	if err := d.openNotify(ctx, cfg); err != nil {
		return nil, err
	}
	d.rt.Store(rt)
	mbs := make([]api.Mailbox, len(cfg.Mailboxes))
	for i, m := range cfg.Mailboxes {
		mbs[i] = api.Mailbox{Name: m.Name, SafeID: m.SafeID, PollInterval: m.PollInterval, Organisation: m.Card.Organisation}
	}
	d.api, err = api.New(api.Deps{Store: wakingStore{d.store, d.wakeSend}, Blobs: d.blobs, AddressBook: d.book,
		DataDir: cfg.DataDir, Mailboxes: mbs, Tokens: tokens, Logger: log.Named("api"), Poll: d.poll, Now: opt.Now, Reprocessor: d.reprocessor,
		Register: d.reg.register(), Limits: api.Limits{MaxUploadBytes: cfg.API.MaxUploadBytes},
		DocumentSignatures: func() (*docsig.Verifier, error) {
			rt := d.current()
			return docsig.New(docsig.Config{Validator: rt.sets.Validators(rt.base).ContentSigner, Now: opt.Now})
		},
		Intermediaries: func() []intermediaries.View { return d.current().inters.Views() }, EEB: d.eebService()})
	if err != nil {
		return nil, err
	}
	if err := d.openWeb(cfg, mbs); err != nil {
		return nil, err
	}
	d.hs = d.api.HTTPServer(cfg.API.Listen, tlsCfg)
	if tlsCfg != nil {
		d.ln = tls.NewListener(d.ln, tlsCfg)
	}
	d.updateExpiryMetrics(rt)
	ok = true
	return d, nil
}

func loadAPISecurity(cfg *config.Config) (*api.TokenSet, *tls.Config, error) {
	c := cfg.API
	var toks *api.TokenSet
	if c.TokensFile != "" {
		var err error
		if toks, err = api.LoadTokens(c.TokensFile, cfg.AllowGroupReadableSecrets); err != nil {
			return nil, nil, fmt.Errorf("%w: api.tokens_file: %w", config.ErrConfig, err)
		}
	}
	tlsCfg, err := api.TLSConfig(c)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: api.tls_cert: %w", config.ErrConfig, err)
	}
	return toks, tlsCfg, nil
}

// open takes the data directory lock and opens the store and blobs, then
// frees the leases a previous process left behind.
func (d *Daemon) open(ctx context.Context, cfg *config.Config) error {
	lock, err := LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	d.lock = lock
	st, err := OpenStore(ctx, cfg, d.opt.Now, d.opt.Getenv)
	if err != nil {
		d.unlock()
		return fmt.Errorf("gateway: open store: %w", err)
	}
	d.store = st
	if d.blobs, d.closeBlobs, err = OpenBlobStore(ctx, cfg, d.opt.Now, d.opt.Getenv); err != nil {
		d.closeStore()
		return fmt.Errorf("gateway: open blobs: %w", err)
	}
	// The data directory lock proves that no other gateway process holds
	// a lease on this store: every lease left is a dead process's, and a
	// store that can release them all does so at once. Otherwise the
	// expired ones are freed now and the rest when they run out.
	var rec []mailbox.Message
	if r, ok := d.store.(leaseReleaser); ok {
		rec, err = r.ReleaseLeases(ctx, d.opt.Now())
	} else {
		rec, err = d.store.RecoverExpired(ctx, d.opt.Now())
	}
	if err != nil {
		d.closeStore()
		return fmt.Errorf("gateway: recover leases: %w", err)
	}
	for _, m := range rec {
		d.log.Info("recovered an interrupted message", zap.Int64(logging.KeyMessageID, m.ID),
			zap.String(logging.KeyMailbox, m.Mailbox), zap.String(logging.KeyState, string(m.State)))
	}
	return nil
}

// LockDataDir takes the lock that makes one gateway process the only user
// of a data directory; closing the file releases it. A held lock is
// ErrLocked.
func LockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "gateway.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("gateway: data_dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	return f, nil
}

func (d *Daemon) unlock() {
	if d.lock != nil {
		d.lock.Close() // closing releases the flock
		d.lock = nil
	}
}

func (d *Daemon) closeStore() {
	if err := d.reg.close(); err != nil {
		d.log.Error("closing the register store", zap.Error(err))
	}
	d.reg = nil
	d.closeNotify()
	d.closeEEB()
	if d.store != nil {
		if err := d.store.Close(); err != nil {
			d.log.Error("closing the store", zap.Error(err))
		}
		d.store = nil
	}
	if d.closeBlobs != nil {
		d.closeBlobs()
		d.closeBlobs = nil
	}
	d.unlock()
}

func (d *Daemon) buildDeps(cfg *config.Config, prev *runtimeConfig) buildDeps {
	return buildDeps{book: d.book, logger: d.log, now: d.opt.Now, rand: d.opt.Rand, getenv: d.opt.Getenv,
		spoolDir: filepath.Join(cfg.DataDir, "spool"), client: d.opt.HTTPClient, previous: prev, health: d.health}
}

// intermediaryChanged logs the one line of an intermediary becoming
// unreachable (its circuit opened: sends to it wait) or answering again.
func (d *Daemon) intermediaryChanged(c intermediaries.Change) {
	log := d.log.With(zap.String(logging.KeyIntermediary, c.Name), zap.String("url", c.URL), zap.Int("failures", c.ConsecutiveFailures))
	if c.Recovered {
		log.Info("intermediary recovered; waiting messages are sent")
		return
	}
	log.Warn("intermediary unreachable; messages to it wait", zap.Time("retryAt", c.OpenUntil), zap.String(logging.KeyReason, c.LastError))
}

// current returns the runtime generation in force.
func (d *Daemon) current() *runtimeConfig { return d.rt.Load() }

// Config returns the configuration in force.
func (d *Daemon) Config() *config.Config { return d.current().cfg }

// APIAddr returns the address the admin API listens on.
func (d *Daemon) APIAddr() net.Addr { return d.ln.Addr() }

// Logger returns the daemon's logger.
func (d *Daemon) Logger() *zap.Logger { return d.log }

// Run serves until ctx ends or a signal arrives on sig: SIGHUP reloads,
// SIGTERM or SIGINT drains (stop claiming, let in-flight work finish
// within DrainTimeout, shut the API down, close the store) and returns
// nil; a second SIGTERM or SIGINT during the drain returns ErrForced at
// once. A fatal store error (sqlite.ErrIO) drains and returns it.
//
// Under systemd (NOTIFY_SOCKET) it reports READY=1 once the API serves,
// RELOADING=1 and READY=1 around each reload, STOPPING=1 when it drains,
// and feeds the watchdog from this loop, so a loop that hangs is restarted.
func (d *Daemon) Run(ctx context.Context, sig <-chan os.Signal) error {
	sd := d.systemd()
	d.start()
	d.logJournalHead(ctx, "start")
	d.log.Info("gateway running", zap.String("api", d.ln.Addr().String()), zap.Int("mailboxes", len(d.current().mailboxes)))
	d.tellSystemd(sd.Ready(d.serviceStatus("running")))
	watchdog, stopWatchdog := watchdogTicks(sd)
	defer stopWatchdog()
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				d.tellSystemd(sd.Reloading("reloading the configuration"))
				status := "running"
				if err := d.Reload(ctx); err != nil {
					status = "running; last reload: " + reloadOutcome(err)
				}
				d.tellSystemd(sd.Ready(d.serviceStatus(status)))
				continue
			}
			d.log.Info("signal received: draining", zap.String("signal", s.String()))
			d.tellSystemd(sd.Stopping("draining"))
			return d.drain(sig, nil)
		case <-ctx.Done():
			d.log.Info("stopping: draining")
			d.tellSystemd(sd.Stopping("draining"))
			return d.drain(sig, nil)
		case err := <-d.fatal:
			d.log.Error("fatal error: draining and exiting; a restart recovers from the last commit", zap.Error(err))
			d.tellSystemd(sd.Stopping("draining after a fatal error"))
			return d.drain(sig, err)
		case <-watchdog:
			d.tellSystemd(sd.Watchdog())
		}
	}
}

func (d *Daemon) start() {
	go func() {
		// With TLS configured the listener already speaks it.
		if err := d.hs.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failWith(fmt.Errorf("gateway: api: %w", err))
		}
	}()
	d.startWeb()
	d.startWorkers()
	d.startOutFolder(d.current().cfg)
}

// failWith reports a fatal error to Run (the first one wins).
func (d *Daemon) failWith(err error) {
	select {
	case d.fatal <- err:
	default:
	}
}

// drain stops claiming work, waits for in-flight rounds and API requests
// within the drain timeout, then closes the store.
func (d *Daemon) drain(sig <-chan os.Signal, cause error) error {
	close(d.stopping)
	d.stopOutFolder()
	done := make(chan struct{})
	go func() {
		shut, cancel := context.WithTimeout(context.Background(), d.opt.DrainTimeout)
		defer cancel()
		if err := d.hs.Shutdown(shut); err != nil {
			d.log.Warn("api shutdown", zap.Error(err))
		}
		d.stopWeb(shut)
		d.workers.Wait()
		close(done)
	}()
	timer := time.NewTimer(d.opt.DrainTimeout)
	defer timer.Stop()
	var err error
wait:
	for {
		select {
		case <-done:
			break wait
		case s := <-sig:
			if s == syscall.SIGHUP {
				d.log.Info("reload ignored while draining")
				continue
			}
			d.log.Error("second signal: exiting without waiting for in-flight work", zap.String("signal", s.String()))
			d.cancelWork()
			return ErrForced
		case <-timer.C:
			d.log.Error("drain timeout: cancelling in-flight work; it is recovered at the next start", zap.Duration("timeout", d.opt.DrainTimeout))
			d.cancelWork()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
			}
			err = ErrDrainTimeout
			break wait
		}
	}
	d.cancelWork()
	if d.api != nil {
		d.api.FlushRefused(context.Background())
	}
	if d.store != nil {
		for more := true; more; {
			var err error
			if more, err = d.events.Round(context.Background(), d.store, d.log); err != nil {
				break
			}
		}
	}
	d.logJournalHead(context.Background(), "stop")
	d.closeStore()
	if cause != nil {
		return cause
	}
	if err == nil {
		d.log.Info("gateway stopped")
	}
	return err
}

// wakingStore wakes the send engine when a submission commits.
type wakingStore struct {
	mailbox.Store
	wake chan struct{}
}

func (s wakingStore) Enqueue(ctx context.Context, n mailbox.NewOutgoing) (mailbox.Message, error) {
	m, err := s.Store.Enqueue(ctx, n)
	if err == nil {
		notify(s.wake)
	}
	return m, err
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// pollTable remembers how each mailbox's last poll went, for /readyz.
type pollTable struct {
	mu sync.Mutex
	m  map[string]pollResult
}

type pollResult struct {
	ok bool
	at time.Time
}

func newPollTable() *pollTable { return &pollTable{m: map[string]pollResult{}} }

func (p *pollTable) set(mb string, ok bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[mb] = pollResult{ok, at}
}

// LastPoll implements PollStatus.
func (p *pollTable) LastPoll(mb string) (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.m[mb]
	return r.ok, r.at
}

// Serve builds a daemon from opt and runs it until a signal on sig ends it
// (see Run). started, when set, is called in its own goroutine once the
// daemon serves. Configuration and key errors match config.ErrConfig and
// config.ErrKeyMaterial.
func Serve(opt DaemonOptions, sig <-chan os.Signal, started func(*Daemon)) error {
	ctx := context.Background()
	d, err := NewDaemon(ctx, opt)
	if err != nil {
		return err
	}
	if started != nil {
		go started(d)
	}
	return d.Run(ctx, sig)
}

// logJournalHead logs the journal's anchored head (sequence number and
// hash), so a copy of it lives outside the data directory: in the log
// archive, at start, at stop and every hour. A head that could not be
// anchored is logged as an error.
func (d *Daemon) logJournalHead(ctx context.Context, when string) {
	if d.store == nil {
		return
	}
	h, err := d.store.AnchoredHead(ctx)
	if err != nil {
		d.log.Error("journal head unavailable", zap.String("at", when), zap.Error(err))
		return
	}
	d.log.Info("journal head", zap.String("at", when), zap.Int64("seq", h.Seq), zap.String("hash", h.Hash))
	if a, ok := d.store.(interface{ AnchorErr() error }); ok {
		if err := a.AnchorErr(); err != nil {
			d.log.Error("journal head could not be written outside the journal; journal verify will say so", zap.Error(err))
		}
	}
}

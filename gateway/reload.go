package gateway

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/configcheck"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/outfolder"
)

// Reload re-reads the configuration file, the API tokens, the address
// book and every key and certificate, and swaps them in between worker
// rounds. On any error the running configuration stays in force and the
// reason is logged; settings that need a restart (data_dir, api, log,
// address_book, the set of mailboxes) are reported and the rest applied.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reload.Lock()
	defer d.reload.Unlock()
	err := d.reloadLocked(ctx)
	var pe *restartPendingError
	switch {
	case errors.As(err, &pe):
		d.log.Warn("configuration reloaded except settings that need a restart", zap.Strings("restartPending", pe.keys),
			zap.Int("mailboxes", len(d.current().mailboxes)))
		return err
	case err != nil:
		d.log.Error("reload refused; keeping the running configuration", zap.Error(err))
		return err
	}
	d.log.Info("configuration reloaded", zap.Int("mailboxes", len(d.current().mailboxes)))
	return nil
}

// reloadLocked validates and builds everything first (configuration,
// tokens, address book, keys, certificates, sinks) and swaps only when all
// of it is good, so a refused reload changes nothing. Settings that cannot
// change while running keep their running values; they are returned as a
// restartPendingError after the rest was applied.
func (d *Daemon) reloadLocked(ctx context.Context) error {
	rep := configcheck.Check(ctx, configcheck.Options{ConfigPath: d.opt.ConfigPath, Getenv: d.opt.Getenv, Now: d.opt.Now})
	if err := rep.Err(); err != nil {
		return err
	}
	next := rep.Config
	old := d.current()
	cfg, pending := liveConfig(old.cfg, next)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w (with %v kept as running until a restart)", err, pending)
	}
	var tokens *api.TokenSet
	var err error
	if cfg.API.TokensFile != "" {
		if tokens, err = api.LoadTokens(cfg.API.TokensFile, cfg.AllowGroupReadableSecrets); err != nil {
			return fmt.Errorf("%w: api.tokens_file: %w", config.ErrConfig, err)
		}
	}
	book, err := addressbook.Open(cfg.AddressBookPath(), d.opt.Now, addressbook.WithIntermediaries(cfg))
	if err != nil {
		return fmt.Errorf("%w: address_book: %w", config.ErrConfig, err)
	}
	rt, err := buildRuntime(ctx, cfg, d.buildDeps(cfg, old), book.List())
	if err != nil {
		return err
	}
	d.book.Replace(book)
	d.rt.Store(rt)
	if tokens != nil && d.tokens != nil {
		d.tokens.Replace(tokens)
	}
	d.updateExpiryMetrics(rt)
	if !reflect.DeepEqual(old.cfg.OutgoingFolder, cfg.OutgoingFolder) {
		d.stopOutFolder()
		select {
		case <-d.stopping:
		default:
			d.startOutFolder(cfg)
		}
	}
	notify(d.wakeSend)
	notify(d.wakeDeliver)
	if len(pending) > 0 {
		return &restartPendingError{pending}
	}
	return nil
}

// startOutFolder starts the outgoing folder watcher, if configured. Its
// context is cancelled at drain: a submission cut short stays in
// processing/ and is finished at the next start.
func (d *Daemon) startOutFolder(cfg *config.Config) {
	o := cfg.OutgoingFolder
	if o == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	of := &outfolder.Folder{Root: o.Path, Mailbox: o.Mailbox, Interval: o.Interval, Submitter: d.api.Submitter(),
		Logger: d.log.Named("outfolder"), Now: d.opt.Now, Messages: d.store, Uploads: d.api.Uploads()}
	d.outMu.Lock()
	d.outCancel, d.outDone = cancel, done
	d.outMu.Unlock()
	go func() {
		defer close(done)
		_ = of.Run(ctx)
	}()
}

func (d *Daemon) stopOutFolder() {
	d.outMu.Lock()
	cancel, done := d.outCancel, d.outDone
	d.outCancel, d.outDone = nil, nil
	d.outMu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	// Nothing the folder holds may keep the daemon from stopping: after the
	// drain timeout the watcher is left behind; what it was doing stays in
	// processing/ and is finished at the next start.
	t := time.NewTimer(d.opt.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		d.log.Error("outgoing folder watcher did not stop within the drain timeout; left behind", zap.Duration("timeout", d.opt.DrainTimeout))
	}
}

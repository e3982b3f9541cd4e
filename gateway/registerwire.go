package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/iface"
	rsqlite "github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
)

// registerRuntime is the Wettbewerbsregister workflow of a daemon whose
// configuration has a register: section: its own database in the data
// directory, the interface adapter when configured, and the mailbox whose
// intake receives the answers. It is built once at start; a reload does
// not change it.
type registerRuntime struct {
	reg      *register.Register
	store    *rsqlite.Store
	adapter  register.Adapter // nil: portal mode only
	every    time.Duration    // poll interval of interface queries
	mailbox  string
	filer    *register.Filer
	poller   *register.Poller
	retainAt time.Time
}

// openRegister opens the register of cfg, or returns nil without a
// register: section.
func openRegister(ctx context.Context, cfg *config.Config, log *zap.Logger, now func() time.Time, getenv func(string) string) (*registerRuntime, error) {
	rc := cfg.Register
	if rc == nil {
		return nil, nil
	}
	rr := &registerRuntime{mailbox: rc.Mailbox}
	if i := rc.Interface; i != nil {
		a, err := iface.FromConfig(cfg, i, getenv)
		if err != nil {
			return nil, err
		}
		rr.adapter = a
		rr.every = i.PollInterval
	}
	st, err := rsqlite.Open(ctx, filepath.Join(cfg.DataDir, rsqlite.FileName), rsqlite.Options{})
	if err != nil {
		return nil, fmt.Errorf("gateway: open register store: %w", err)
	}
	rr.store = st
	if rr.reg, err = register.New(st, now, log.Named("register"), register.Limits{Retention: rc.Retention}); err != nil {
		st.Close()
		return nil, fmt.Errorf("%w: register: %w", config.ErrConfig, err)
	}
	return rr, nil
}

// register returns the workflow for the API (nil without one).
func (rr *registerRuntime) register() *register.Register {
	if rr == nil {
		return nil
	}
	return rr.reg
}

func (rr *registerRuntime) close() error {
	if rr == nil {
		return nil
	}
	return rr.store.Close()
}

// startRegisterWorkers files answers and query sheets into the intake,
// sends and polls interface queries, deletes answers after their
// retention (hourly) and keeps the registration form's process card.
func (d *Daemon) startRegisterWorkers() {
	rr := d.reg
	if rr == nil {
		return
	}
	rr.filer = &register.Filer{Register: rr.reg, Sink: intakeRouter{current: d.current}, Mailbox: rr.mailbox,
		Owner: d.owner + "/register-filer", Rand: d.opt.Rand}
	d.loop("register filing", func() time.Duration { return d.opt.DeliverInterval }, nil, func(ctx context.Context) (bool, error) {
		n, err := rr.filer.RunOnce(ctx)
		return n > 0, err
	})
	if rr.adapter != nil {
		rr.poller = &register.Poller{Register: rr.reg, Adapter: rr.adapter, Interval: rr.every,
			Owner: d.owner + "/register-poller", Rand: d.opt.Rand}
		d.loop("register interface", func() time.Duration { return time.Second }, nil, func(ctx context.Context) (bool, error) {
			n, err := rr.poller.RunOnce(ctx)
			return n > 0, err
		})
	}
	d.loop("register housekeeping", func() time.Duration { return 5 * time.Minute }, nil, func(ctx context.Context) (bool, error) {
		if _, err := rr.reg.RefreshRegistrations(ctx, d.store); err != nil {
			return false, err
		}
		if now := d.opt.Now(); now.After(rr.retainAt) {
			if _, err := rr.reg.Retain(ctx); err != nil {
				return false, err
			}
			rr.retainAt = now.Add(time.Hour)
		}
		return false, nil
	})
}

package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

// eebRuntime is the daemon's part of the eEB: the task database beside
// the store, the service following the journal into it, and the deadline
// guard.
type eebRuntime struct {
	store *eeb.SQLite
	svc   *eeb.Service
	guard *eeb.Guard
}

// openEEB opens the task database in the data directory and builds the
// service; answers go through the submission path like any message (the
// send engine is woken). The sender an answer names is the mailbox's
// business card (organisation, else name) in the configuration in force.
func (d *Daemon) openEEB(ctx context.Context, cfg *config.Config) error {
	after, err := cfg.EEB.OverdueAfter()
	if err != nil {
		return err
	}
	st, err := eeb.OpenSQLite(ctx, filepath.Join(cfg.DataDir, eeb.FileName), false)
	if err != nil {
		return fmt.Errorf("gateway: open eEB tasks: %w", err)
	}
	codec, err := xjustiz.New(xjustiz.Options{Now: d.opt.Now, Rand: d.opt.Rand,
		Product: xjustiz.Product{Name: "bebpo-gateway", Vendor: "bebpo-gateway contributors", Version: version.Version}})
	if err != nil {
		st.Close()
		return err
	}
	sub, err := submit.New(submit.Config{Store: wakingStore{d.store, d.wakeSend}, Blobs: d.blobs, AddressBook: d.book,
		Mailboxes: cfg.MailboxNames(), Now: d.opt.Now})
	if err != nil {
		st.Close()
		return err
	}
	svc, err := eeb.New(eeb.Config{Tasks: st, Mail: d.store, Blobs: d.blobs, Codec: codec, Submitter: sub, Sender: d.eebSender,
		OverdueAfter: after, Logger: d.log.Named("eeb"), Now: d.opt.Now})
	if err != nil {
		st.Close()
		return err
	}
	d.eeb = &eebRuntime{store: st, svc: svc}
	d.eeb.guard = &eeb.Guard{S: svc, Report: func(s eeb.Summary) { d.api.Metrics().SetEEBTasks(s.Open, s.Overdue) }}
	return nil
}

// eebSender names the authority behind a mailbox in its eEB answers.
func (d *Daemon) eebSender(mailbox string) string {
	mc, ok := d.current().cfg.Mailbox(mailbox)
	if !ok {
		return ""
	}
	for _, s := range []string{mc.Card.Organisation, mc.Card.Name} {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// startEEB follows the journal into eEB tasks and replies (every few
// seconds, at once while entries wait) and runs the deadline guard
// hourly (its log line is daily).
func (d *Daemon) startEEB() {
	if d.eeb == nil {
		return
	}
	d.loop("eeb", func() time.Duration { return 5 * time.Second }, nil, d.eeb.svc.Follow)
	d.loop("eeb deadline guard", func() time.Duration { return time.Hour }, nil, func(ctx context.Context) (bool, error) {
		return false, d.eeb.guard.Round(ctx)
	})
}

// closeEEB closes the task database.
func (d *Daemon) closeEEB() {
	if d.eeb != nil {
		_ = d.eeb.store.Close()
		d.eeb = nil
	}
}

// eebService is the service for the API; nil before openEEB.
func (d *Daemon) eebService() *eeb.Service {
	if d.eeb == nil {
		return nil
	}
	return d.eeb.svc
}

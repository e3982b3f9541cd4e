package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	notifications "github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web/notifypage"
)

// notifyRuntime is the daemon's part of the notifications: the queue
// database beside the store and the service following the journals into
// it and sending it. Built once at start; a reload does not change it.
type notifyRuntime struct {
	store    *notifications.Store
	svc      *notifications.Service
	webhooks *notifications.Webhooks // nil: no webhook hosts configured
}

// The notification settings page joins the web application whenever
// notifications are on (openNotify runs before openWeb).
func init() {
	webExtenders = append(webExtenders, func(d *Daemon, _ *config.Config, wc *web.Config) error {
		if d.notify == nil {
			return nil
		}
		wc.Pages = append(wc.Pages, notifypage.Page(d.notify.store, d.notify.webhooks, d.log.Named("notify")))
		return nil
	})
}

// notifyDirectory is the web application's user store as notify sees
// it; nil while the daemon serves no web application, and then nobody
// can choose to be told, so notifications stay off.
func (d *Daemon) notifyDirectory(cfg *config.Config) notifications.Directory {
	if cfg.Web == nil {
		return nil
	}
	return webPeople{d}
}

// webPeople lists the web application's users for notify, read when
// notify asks (the web application opens after the queue).
type webPeople struct{ d *Daemon }

func (p webPeople) People(ctx context.Context) ([]notifications.Person, error) {
	us := p.d.WebUsers()
	if us == nil {
		return nil, nil
	}
	users, err := us.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]notifications.Person, 0, len(users))
	for _, u := range users {
		roles := make([]string, len(u.Roles))
		for i, r := range u.Roles {
			roles[i] = string(r)
		}
		out = append(out, notifications.Person{Name: u.Name, Email: u.Email, Roles: roles, Mailboxes: u.Mailboxes})
	}
	return out, nil
}

// openNotify opens the queue of a notify: section and builds the service.
func (d *Daemon) openNotify(ctx context.Context, cfg *config.Config) error {
	nc, dir := cfg.Notify, d.notifyDirectory(cfg)
	if nc == nil {
		return nil
	}
	if dir == nil {
		d.log.Warn("notify: is configured, but no web application lists users to tell; notifications are off")
		return nil
	}
	overdue, err := cfg.EEB.OverdueAfter()
	if err != nil {
		return err
	}
	st, err := notifications.Open(ctx, filepath.Join(cfg.DataDir, notifications.FileName))
	if err != nil {
		return fmt.Errorf("gateway: open notification queue: %w", err)
	}
	c := notifications.Config{Store: st, Mail: d.store, Recipients: notifications.Subscriptions{Directory: dir, Store: st},
		Links: notifications.Links{BaseURL: nc.BaseURL}, WarnBefore: nc.EEBWarnBefore, Logger: d.log.Named("notify"), Now: d.opt.Now, Rand: d.opt.Rand}
	if d.reg != nil {
		c.Register, c.RegisterMailbox = d.reg.store, cfg.Register.Mailbox
	}
	if d.eeb != nil {
		c.Tasks, c.OverdueAfter = d.eeb.store, overdue
	}
	if c.Mailer, err = smtpMailer(cfg, d.opt.Getenv); err != nil {
		st.Close()
		return err
	}
	if len(nc.Webhooks.AllowedHosts) > 0 {
		c.Webhooks = &notifications.Webhooks{AllowedHosts: nc.Webhooks.AllowedHosts}
	}
	svc, err := notifications.New(c)
	if err != nil {
		st.Close()
		return fmt.Errorf("%w: notify: %w", config.ErrConfig, err)
	}
	d.notify = &notifyRuntime{store: st, svc: svc, webhooks: c.Webhooks}
	return nil
}

// smtpMailer is the mail server of notify.smtp, nil without one.
func smtpMailer(cfg *config.Config, getenv func(string) string) (*notifications.Mailer, error) {
	s := cfg.Notify.SMTP
	if s == nil {
		return nil, nil
	}
	pw, err := secretAt(cfg, s.Password, "notify.smtp.password", getenv)
	if err != nil {
		return nil, err
	}
	m := &notifications.Mailer{Addr: s.Addr(), From: s.From, Username: s.Username, Password: pw, RequireSTARTTLS: s.STARTTLSRequired(),
		HelloName: s.HelloName, Timeout: s.Timeout}
	if len(s.TLSCAs) > 0 {
		m.TLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
		for i, p := range s.TLSCAs {
			cs, err := certs.LoadCertificates(p)
			if err != nil {
				return nil, fmt.Errorf("%w: notify.smtp.tls_cas[%d]: %w", config.ErrKeyMaterial, i, err)
			}
			for _, c := range cs {
				m.TLS.RootCAs.AddCert(c)
			}
		}
	}
	return m, nil
}

// startNotify follows the journals into the queue (every few seconds),
// looks for eEB tasks near their deadline (every ten minutes) and sends
// the queue.
func (d *Daemon) startNotify() {
	if d.notify == nil {
		return
	}
	svc := d.notify.svc
	d.loop("notify follow", func() time.Duration { return 2 * time.Second }, nil, svc.Follow)
	d.loop("notify deadlines", func() time.Duration { return 10 * time.Minute }, nil, func(ctx context.Context) (bool, error) {
		return false, svc.Deadlines(ctx)
	})
	d.loop("notify send", func() time.Duration { return 5 * time.Second }, nil, svc.Send)
}

// closeNotify closes the queue database.
func (d *Daemon) closeNotify() {
	if d.notify != nil {
		_ = d.notify.store.Close()
		d.notify = nil
	}
}

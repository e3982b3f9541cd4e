package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

// webServer is the clerks' web application on its own listener
// (config web.listen); nil when the configuration has no web section.
type webServer struct {
	app   *web.App
	users *web.FileUsers
	hs    *http.Server
	ln    net.Listener
	url   string
}

// webExtenders add login methods and pages to the web application before
// it is built: the wiring of gateway/web/oidclogin and gateway/notify
// each append one in an init function of their own wiring file.
var webExtenders []func(d *Daemon, cfg *config.Config, wc *web.Config) error

// openWeb builds the web application when cfg has a web section; it
// listens on DaemonOptions.WebListener or web.listen.
func (d *Daemon) openWeb(cfg *config.Config, mbs []api.Mailbox) error {
	wc := cfg.Web
	if wc == nil {
		return nil
	}
	users, err := web.OpenUsers(cfg.WebUsersPath(), web.Argon2Params{})
	if err != nil {
		return err
	}
	var tlsCfg *tls.Config
	if wc.TLSCert != "" {
		pair, err := tls.LoadX509KeyPair(wc.TLSCert, wc.TLSKey)
		if err != nil {
			return fmt.Errorf("gateway: web.tls_cert: %w", err)
		}
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	}
	x := web.Config{Store: wakingStore{d.store, d.wakeSend}, Blobs: d.blobs, Book: d.book, Submitter: d.api.Submitter(),
		Users: users, Session: web.SessionConfig{TTL: wc.SessionTTL, Idle: wc.IdleTimeout, Secure: wc.Secure()},
		EEB: d.eebService(), Register: d.reg.register(), Logger: d.log.Named("web"), Now: d.opt.Now,
		Intermediaries:  func() []intermediaries.View { return d.current().inters.Views() },
		OwnCertificates: d.webCertificates}
	for _, m := range mbs {
		x.Mailboxes = append(x.Mailboxes, web.Mailbox{Name: m.Name, Organisation: m.Organisation})
	}
	for _, extend := range webExtenders {
		if err := extend(d, cfg, &x); err != nil {
			return err
		}
	}
	app, err := web.New(x)
	if err != nil {
		return err
	}
	ln := d.opt.WebListener
	if ln == nil {
		if ln, err = net.Listen("tcp", wc.Listen); err != nil {
			return fmt.Errorf("gateway: web.listen: %w", err)
		}
	}
	url := wc.BaseURL
	if d.opt.WebListener != nil {
		url = "http://" + ln.Addr().String() + "/"
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	d.web = &webServer{app: app, users: users, ln: ln, url: url, hs: &http.Server{Handler: app.Handler(),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 15 * time.Minute, WriteTimeout: 15 * time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, ErrorLog: zap.NewStdLog(d.log.Named("web.http"))}}
	return nil
}

// webCertificates are our mailboxes' certificates for the Betrieb page.
func (d *Daemon) webCertificates() []web.CertificateView {
	rt := d.current()
	var out []web.CertificateView
	now := d.opt.Now()
	for name, mb := range rt.mailboxes {
		for _, e := range mb.identity.Expiries(now) {
			use := "Postfach " + name + ": " + map[string]string{"signature": "Signatur", "cipher": "Verschlüsselung"}[e.Purpose.String()]
			out = append(out, web.CertificateView{Use: strings.TrimSuffix(use, ": "), Subject: e.Subject, NotAfter: e.NotAfter})
		}
	}
	slices.SortFunc(out, func(a, b web.CertificateView) int { return strings.Compare(a.Use, b.Use) })
	return out
}

func (d *Daemon) startWeb() {
	if d.web == nil {
		return
	}
	d.log.Info("web application serving", zap.String("url", d.web.url))
	go func() {
		if err := d.web.hs.Serve(d.web.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.failWith(fmt.Errorf("gateway: web: %w", err))
		}
	}()
}

func (d *Daemon) stopWeb(ctx context.Context) {
	if d.web == nil {
		return
	}
	if err := d.web.hs.Shutdown(ctx); err != nil {
		d.log.Warn("web shutdown", zap.Error(err))
	}
}

// WebURL is where the web application is reached ("" without one).
func (d *Daemon) WebURL() string {
	if d.web == nil {
		return ""
	}
	return d.web.url
}

// WebUsers is the web application's user store (nil without one); the
// demo puts its user there (web.DemoUsers).
func (d *Daemon) WebUsers() web.UserStore {
	if d.web == nil {
		return nil
	}
	return d.web.users
}

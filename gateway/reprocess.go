package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// reprocessor returns the bridge of a configured mailbox that reads its
// parked deliveries again (the admin API's reprocess), in the current
// runtime generation, so a limit raised by a reload takes effect.
func (d *Daemon) reprocessor(name string) (mailbox.Reprocessor, error) {
	return reprocessorOf(d.current(), name)
}

func reprocessorOf(rt *runtimeConfig, name string) (mailbox.Reprocessor, error) {
	mb, ok := rt.mailboxes[name]
	if !ok {
		return nil, fmt.Errorf("gateway: mailbox %q is not configured", name)
	}
	r, ok := mb.endpoint.(mailbox.Reprocessor)
	if !ok {
		return nil, fmt.Errorf("gateway: mailbox %q cannot read deliveries again", name)
	}
	return r, nil
}

// OfflineReprocessors builds, from the configuration at cfgPath, what
// reads parked deliveries again without a running gateway (`messages
// reprocess --data`): each mailbox's keys, trust and OSCI reading, and
// nothing else (no store, no intake, no network). close removes its
// spool directory.
func OfflineReprocessors(ctx context.Context, cfgPath string, getenv func(string) string) (get func(mailbox string) (mailbox.Reprocessor, error), close func(), err error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	spool, err := os.MkdirTemp("", "bebpo-reprocess-*")
	if err != nil {
		return nil, nil, err
	}
	close = func() { os.RemoveAll(spool) }
	deps := buildDeps{logger: zap.NewNop(), now: time.Now, rand: rand.Reader, getenv: getenv, spoolDir: spool}
	rt := &runtimeConfig{cfg: cfg, mailboxes: map[string]*mailboxRuntime{}}
	if rt.sets, err = buildTrust(cfg, nil); err != nil {
		close()
		return nil, nil, err
	}
	mode, err := certs.ParseRevocationMode(cfg.Trust.Revocation)
	if err != nil {
		close()
		return nil, nil, fmt.Errorf("%w: trust.revocation: %w", config.ErrConfig, err)
	}
	rt.base = certs.Validator{Now: deps.now, Policy: certs.Policy{SignatureRevocation: mode, CipherRevocation: mode},
		Revocation: &certs.RevocationChecker{Timeout: 15 * time.Second}}
	for i, mc := range cfg.Mailboxes {
		mr, err := buildMailbox(ctx, fmt.Sprintf("mailboxes[%d]", i), cfg, mc, rt, deps)
		if err != nil {
			close()
			return nil, nil, err
		}
		rt.mailboxes[mc.Name] = mr
	}
	return func(name string) (mailbox.Reprocessor, error) { return reprocessorOf(rt, name) }, close, nil
}

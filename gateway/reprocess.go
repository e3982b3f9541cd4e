package gateway

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

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
	rt, err := buildTrustAndIntermediaries(cfg, deps, nil)
	if err == nil {
		err = rt.buildMailboxes(ctx, deps)
	}
	if err != nil {
		close()
		return nil, nil, err
	}
	return func(name string) (mailbox.Reprocessor, error) { return reprocessorOf(rt, name) }, close, nil
}

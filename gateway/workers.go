package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/eventlog"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/metrics"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// fetchLimit is how many deliveries one dialog fetches; a full dialog is
// followed by another at once.
const fetchLimit = 100

// fetchWidth is how many dialogs a gateway on its own store fetches a
// long listing of one mailbox in, side by side (config StoreConfig.Shared).
const fetchWidth = 2

// sendLaneWidth is how many messages of one lane (intermediary) are sent
// at once: one is signed and encrypted while another waits on the network.
const sendLaneWidth = 4

// intakeWidth is how many received messages are handed to the intakes at
// once: one's fsyncs overlap with another's.
const intakeWidth = 4

// startWorkers starts the send engine, the intake engine, one fetch loop
// per mailbox and the certificate expiry refresher. Each loop reads the
// runtime generation afresh at the start of every round, so a reload
// takes effect between rounds and a round in flight finishes with the
// generation it began with.
func (d *Daemon) startWorkers() {
	d.fetchWake = newFetchWakes(d.current()) // before the send loop reads it
	d.loop("send", func() time.Duration { return d.opt.SendInterval }, d.wakeSend, d.sendRound)
	d.loop("intake", func() time.Duration { return d.opt.DeliverInterval }, d.wakeDeliver, d.deliverRound)
	d.startRegisterWorkers()
	for _, m := range d.current().cfg.Mailboxes {
		name := m.Name
		n := len(d.current().cfg.Mailboxes)
		d.loopAfter("fetch "+name, mailbox.PollDelay(d.pollInterval(name), true, n, d.opt.Rand),
			func() time.Duration { return mailbox.PollDelay(d.pollInterval(name), false, n, d.opt.Rand) }, d.fetchWake.of(name),
			func(ctx context.Context) (bool, error) { return d.fetchRound(ctx, name) })
	}
	d.loop("business events", func() time.Duration { return time.Second }, nil, func(ctx context.Context) (bool, error) {
		return d.events.Round(ctx, d.store, d.log)
	})
	d.startEEB()
	d.startNotify()
	d.loop("xdomea confirmations", func() time.Duration { return xdomeaConfirmationInterval }, nil, d.xdomeaConfirmationsRound)
	d.loop("api audit", func() time.Duration { return time.Minute }, nil, func(ctx context.Context) (bool, error) {
		d.api.FlushRefused(ctx)
		return false, nil
	})
	started := false // Run logs the head at start; the loop logs it hourly after that
	d.loop("journal head", func() time.Duration { return time.Hour }, nil, func(ctx context.Context) (bool, error) {
		if started {
			d.logJournalHead(ctx, "hourly")
		}
		started = true
		return false, nil
	})
	d.loop("retention", func() time.Duration { return retentionInterval }, nil, d.retentionRound)
	d.loop("certificate expiry", func() time.Duration { return 6 * time.Hour }, nil, func(context.Context) (bool, error) {
		d.updateExpiryMetrics(d.current())
		return false, nil
	})
}

// loop runs round until the daemon stops: again at once while it reports
// more work, else after interval or when woken. Rounds use the work
// context, which is cancelled only when the drain times out, so a round
// is never interrupted between the engine's durable steps by a plain
// SIGTERM.
func (d *Daemon) loop(name string, interval func() time.Duration, wake <-chan struct{}, round func(context.Context) (bool, error)) {
	d.loopAfter(name, 0, interval, wake, round)
}

// loopAfter is loop with its first round after first (or when woken).
func (d *Daemon) loopAfter(name string, first time.Duration, interval func() time.Duration, wake <-chan struct{}, round func(context.Context) (bool, error)) {
	d.workers.Add(1)
	go func() {
		defer d.workers.Done()
		log := d.log.With(zap.String("worker", name))
		if first > 0 && !d.wait(first, wake) {
			return
		}
		for {
			select {
			case <-d.stopping:
				return
			default:
			}
			more, err := round(d.workCtx)
			if err != nil {
				if isFatalStoreError(err) {
					d.failWith(fmt.Errorf("gateway: %s: %w", name, err))
					return
				}
				if d.workCtx.Err() == nil {
					log.Error("round failed", zap.Error(err))
				}
				more = false
			}
			if more {
				continue
			}
			if !d.wait(interval(), wake) {
				return
			}
		}
	}()
}

// wait waits for dur or until woken; false when the daemon stops first.
func (d *Daemon) wait(dur time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-d.stopping:
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// isFatalStoreError reports a store failure after which the process must
// end: recovery on restart continues from the last commit.
func isFatalStoreError(err error) bool {
	return errors.Is(err, sqlite.ErrIO) || errors.Is(err, mailbox.ErrClosed)
}

func (d *Daemon) pollInterval(name string) time.Duration {
	if mb, ok := d.current().mailboxes[name]; ok {
		return mb.cfg.PollInterval
	}
	return config.DefaultPollInterval
}

func (d *Daemon) sendRound(ctx context.Context) (bool, error) {
	rt := d.current()
	sc := rt.cfg.Sending
	s := &mailbox.Sender{Store: d.store, Blobs: d.blobs, Transport: d.transport(rt), Lane: lane(rt), LaneWidth: sendLaneWidth,
		Confirm: mailbox.RetryPolicy{Initial: sc.ConfirmFirst, Factor: 2, Max: sc.ConfirmMax, Lifetime: sc.ConfirmFor, Jitter: mailbox.EqualJitter},
		Lease:   rt.cfg.Leases.Send, Owner: d.owner + "/send", Now: d.opt.Now, Rand: d.opt.Rand, Stale: &d.sendStale}
	n, err := s.RunOnce(ctx)
	return n > 0, err
}

func (d *Daemon) deliverRound(ctx context.Context) (bool, error) {
	dl := &mailbox.Deliverer{Store: d.store, Blobs: d.blobs, Sink: intakeRouter{current: d.current}, Lease: d.current().cfg.Leases.Intake, Width: intakeWidth,
		Owner: d.owner + "/intake", Now: d.opt.Now, Rand: d.opt.Rand, Stale: &d.deliverStale}
	n, err := dl.RunOnce(ctx)
	return n > 0, err
}

// fetchRound runs one fetch dialog for a mailbox and records the poll for
// /readyz and /metrics.
func (d *Daemon) fetchRound(ctx context.Context, name string) (bool, error) {
	rt := d.current()
	mb, ok := rt.mailboxes[name]
	if !ok {
		return false, nil
	}
	if l, ok := d.store.(mailbox.DialogLocker); ok {
		unlock, ok, err := l.TryLockDialog(ctx, mb.cfg.SafeID)
		if err != nil {
			return false, err
		}
		if !ok {
			d.log.Debug("poll skipped: another gateway holds the mailbox's dialog", zap.String(logging.KeyMailbox, name))
			return false, nil
		}
		defer unlock()
	}
	width := fetchWidth
	if rt.cfg.Store.Shared() {
		width = 1
	}
	f := &mailbox.Fetcher{Store: d.store, Blobs: d.blobs, Limit: fetchLimit, Width: width, Now: d.opt.Now,
		Open: func(ctx context.Context, _ string) (mailbox.Session, error) { return mb.endpoint.OpenSession(ctx) }}
	start := d.opt.Now()
	res, err := f.FetchMailbox(ctx, name)
	end := d.opt.Now()
	dur := end.Sub(start)
	d.poll.set(name, err == nil, end)
	d.api.Metrics().ObservePoll(name, dur, err == nil, end)
	log := d.log.With(zap.String(logging.KeyMailbox, name), zap.Int64(logging.KeyDurationMs, dur.Milliseconds()))
	for _, n := range res.Notices {
		d.api.Metrics().FetchNotice(name, n.Kind)
		eventlog.FetchNotice(log, n)
	}
	if res.Stored > 0 {
		notify(d.wakeDeliver)
		log.Info("fetched deliveries", zap.Int("stored", res.Stored), zap.Int("duplicates", res.Duplicates), zap.Int("conflicts", res.Conflicts),
			zap.Int("receipts", res.Receipts), zap.Int("receiptFailures", res.ReceiptFailures))
	}
	if err != nil {
		if isFatalStoreError(err) {
			return false, err
		}
		code, fromPeer := intermediaryCode(ctx, err)
		if fromPeer {
			d.api.Metrics().IntermediaryError(name, code)
		}
		log.Warn("poll failed; the intermediary keeps unacknowledged deliveries, next poll at the interval",
			zap.String(logging.KeyCode, code), zap.Error(err))
		return false, nil
	}
	log.Debug("poll ok", zap.Int("stored", res.Stored))
	return res.More(), nil
}

// transport returns a message's send transport: its mailbox's, towards
// the recipient's intermediary, counting the intermediary's errors in the
// metrics.
func (d *Daemon) transport(rt *runtimeConfig) func(mailbox.Message) (mailbox.Transport, error) {
	return func(m mailbox.Message) (mailbox.Transport, error) {
		mb, ok := rt.mailboxes[m.Mailbox]
		if !ok {
			return nil, fmt.Errorf("gateway: mailbox %q is not configured", m.Mailbox)
		}
		t, err := mb.endpoint.TransportFor(m.Meta)
		if err != nil {
			return nil, err
		}
		return wakingTransport{countingTransport{t, m.Mailbox, d.api.Metrics()}, d.fetchWake}, nil
	}
}

// lane sends the messages to one intermediary in order and those to
// different intermediaries side by side, so that one that does not
// answer holds up only its own.
func lane(rt *runtimeConfig) func(mailbox.Message) string {
	return func(m mailbox.Message) string {
		if mb, ok := rt.mailboxes[m.Mailbox]; ok {
			if name, err := mb.endpoint.Route(m.Meta); err == nil {
				return name
			}
		}
		return "" // refused by its transport at once
	}
}

// intermediaryCode names an error for the intermediary error metric: its
// OSCI feedback code, or "transport" when no answer came. Local refusals
// (a recipient certificate, a full disk) and cancellation are not the
// intermediary's and report false.
func intermediaryCode(ctx context.Context, err error) (string, bool) {
	code := mailbox.ErrorCode(err)
	switch {
	case code == "":
		if ctx.Err() != nil || errors.Is(err, mailbox.ErrDiskFull) || errors.Is(err, mailbox.ErrClosed) {
			return "", false
		}
		return "transport", true
	case strings.Trim(code, "0123456789") == "":
		return code, true
	}
	return code, false
}

// countingTransport counts the intermediary's errors per mailbox and code.
type countingTransport struct {
	mailbox.Transport
	name string
	m    *metrics.Gateway
}

func (t countingTransport) count(ctx context.Context, err error) {
	if err == nil {
		return
	}
	if code, ok := intermediaryCode(ctx, err); ok && !mailbox.IsNotFound(err) {
		t.m.IntermediaryError(t.name, code)
	}
}

func (t countingTransport) GetMessageID(ctx context.Context) (string, error) {
	id, err := t.Transport.GetMessageID(ctx)
	t.count(ctx, err)
	return id, err
}

func (t countingTransport) StoreDelivery(ctx context.Context, o *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	c, err := t.Transport.StoreDelivery(ctx, o)
	t.count(ctx, err)
	return c, err
}

func (t countingTransport) FetchProcessCard(ctx context.Context, id string) (mailbox.ProcessCard, error) {
	c, err := t.Transport.FetchProcessCard(ctx, id)
	t.count(ctx, err)
	return c, err
}

func (t countingTransport) FetchProcessCards(ctx context.Context, ids []string) (map[string]mailbox.ProcessCard, error) {
	c, err := mailbox.FetchProcessCards(ctx, t.Transport, ids)
	t.count(ctx, err)
	return c, err
}

// updateExpiryMetrics publishes when each of our certificates expires,
// per mailbox and purpose, and logs one line per certificate within
// eventlog.CertificateWarnDays of its end (an error once it has ended). It runs at
// start, on every reload and every six hours.
func (d *Daemon) updateExpiryMetrics(rt *runtimeConfig) {
	now := d.opt.Now()
	var es []metrics.CertificateExpiry
	for name, mb := range rt.mailboxes {
		for _, e := range mb.identity.Expiries(now) {
			es = append(es, metrics.CertificateExpiry{Mailbox: name, Purpose: e.Purpose.String(), NotAfter: e.NotAfter})
			eventlog.CertificateExpiry(d.log, name, e, now)
		}
	}
	d.api.Metrics().SetCertificateExpiries(es)
}

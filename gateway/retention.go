package gateway

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// retentionInterval is how often retention runs; the first run is at start.
const retentionInterval = time.Hour

// retentionRound applies the retention rules of the configuration in
// force, counts what it purged and writes one line per run.
func (d *Daemon) retentionRound(ctx context.Context) (bool, error) {
	rules := d.current().cfg.RetentionRules()
	if len(rules) == 0 {
		return false, nil
	}
	r := &mailbox.Retention{Store: d.store, Blobs: d.blobs, Rules: rules, Now: d.opt.Now}
	rep, err := r.RunOnce(ctx)
	messages, documents, bytes := 0, 0, int64(0)
	for _, rr := range rep.Rules {
		if rr.Documents > 0 {
			d.api.Metrics().Purged(rr.Mailbox, string(rr.Direction), rr.Documents)
		}
		messages += rr.Messages
		documents += rr.Documents
		bytes += rr.Bytes
	}
	fields := []zap.Field{zap.Int("messages", messages), zap.Int("documents", documents), zap.Int64("bytes", bytes),
		zap.Int("blobsRemoved", rep.Removed), zap.Int64("bytesFreed", rep.Freed), zap.Int("blobsDeferred", rep.Deferred),
		zap.Bool("backupRunning", rep.Busy)}
	if err != nil {
		if isFatalStoreError(err) {
			return false, err
		}
		d.log.Error("retention run failed; what it purged so far is journaled, the rest follows at the next run", append(fields, zap.Error(err))...)
		return false, nil
	}
	d.log.Info("retention run", fields...)
	return false, nil
}

package gateway

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/sdnotify"
)

// systemd returns the notifier for the service manager that started the
// daemon (NOTIFY_SOCKET through DaemonOptions.Getenv), or nil: outside
// systemd, or when the variable is unusable (logged once; the daemon runs
// all the same).
func (d *Daemon) systemd() *sdnotify.Notifier {
	n, err := sdnotify.New(d.opt.Getenv)
	if err != nil {
		d.log.Warn("systemd notification socket unusable; running without notifications", zap.Error(err))
		return nil
	}
	return n
}

// tellSystemd logs a notification that could not be sent.
func (d *Daemon) tellSystemd(err error) {
	if err != nil {
		d.log.Warn("systemd notification not sent", zap.Error(err))
	}
}

// serviceStatus is the line `systemctl status` shows.
func (d *Daemon) serviceStatus(state string) string {
	return fmt.Sprintf("%s: %d mailboxes, admin API on %s", state, len(d.current().mailboxes), d.ln.Addr())
}

// reloadOutcome says in a few words how a reload that returned err ended.
func reloadOutcome(err error) string {
	var pe *restartPendingError
	if errors.As(err, &pe) {
		return fmt.Sprintf("applied except %v (restart needed)", pe.keys)
	}
	return "refused, previous configuration kept (see the log)"
}

// watchdogTicks returns a channel that ticks at the watchdog interval
// systemd asked for, or nil (never ticks) when it asked for none.
func watchdogTicks(n *sdnotify.Notifier) (<-chan time.Time, func()) {
	iv := n.WatchdogInterval()
	if iv <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(iv)
	return t.C, t.Stop
}

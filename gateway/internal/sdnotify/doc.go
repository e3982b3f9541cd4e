// Package sdnotify tells systemd how the gateway is doing, over the
// notification socket of sd_notify(3): READY=1 once it serves,
// RELOADING=1 with MONOTONIC_USEC while a SIGHUP reload runs (READY=1
// again after it), STOPPING=1 when it begins to drain, STATUS= for
// `systemctl status`, and WATCHDOG=1 at half the interval systemd asks for
// (WATCHDOG_USEC, for this process when WATCHDOG_PID says so).
//
// The socket is named by NOTIFY_SOCKET: a path, or an abstract socket
// when it begins with '@'. Without NOTIFY_SOCKET (not started by systemd,
// or by a unit that is not Type=notify) New returns a nil *Notifier, and
// every method of a nil *Notifier does nothing: the daemon calls them
// without asking. A socket that cannot be reached makes Send fail; the
// daemon logs that and goes on, since a notification lost costs at most
// a start timeout, never a message.
package sdnotify

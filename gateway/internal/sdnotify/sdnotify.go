package sdnotify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsupported is a NOTIFY_SOCKET this package cannot speak to (a vsock
// address, a relative path).
var ErrUnsupported = errors.New("sdnotify: unsupported NOTIFY_SOCKET")

// Notifier sends notifications to one systemd notification socket. The
// zero of *Notifier (nil) sends nothing. Safe for concurrent use.
type Notifier struct {
	addr     *net.UnixAddr
	watchdog time.Duration // half of WATCHDOG_USEC; 0: no watchdog
	// monotonic reads CLOCK_MONOTONIC, the clock of MONOTONIC_USEC.
	monotonic func() (time.Duration, error)
}

// New reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID through getenv.
// It returns nil (and no error) when NOTIFY_SOCKET is unset.
func New(getenv func(string) string) (*Notifier, error) {
	name := getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil, nil
	}
	switch {
	case name[0] == '@':
		// Abstract namespace: Go writes the leading NUL for '@'.
	case name[0] == '/':
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupported, name)
	}
	n := &Notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}, monotonic: clockMonotonic}
	if usec := getenv("WATCHDOG_USEC"); usec != "" {
		v, err := strconv.ParseUint(usec, 10, 63)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("sdnotify: WATCHDOG_USEC %q is not a positive number", usec)
		}
		pid := getenv("WATCHDOG_PID")
		if pid == "" || pid == strconv.Itoa(os.Getpid()) {
			n.watchdog = time.Duration(v) * time.Microsecond / 2
		}
	}
	return n, nil
}

// Send sends one notification made of the given assignments
// ("READY=1", "STATUS=..."), one datagram. A newline inside an assignment
// would start another, so it is replaced by a space.
func (n *Notifier) Send(assignments ...string) error {
	if n == nil {
		return nil
	}
	lines := make([]string, len(assignments))
	for i, a := range assignments {
		lines[i] = strings.ReplaceAll(a, "\n", " ")
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}

// Ready says that start-up or a reload is complete; status, when not
// empty, is shown by `systemctl status`.
func (n *Notifier) Ready(status string) error {
	return n.Send(withStatus([]string{"READY=1"}, status)...)
}

// Reloading says that a reload begins; Ready must follow when it ends,
// whether it was applied or refused. MONOTONIC_USEC tells systemd which
// reload request this answers.
func (n *Notifier) Reloading(status string) error {
	if n == nil {
		return nil
	}
	now, err := n.monotonic()
	if err != nil {
		return fmt.Errorf("sdnotify: monotonic clock: %w", err)
	}
	return n.Send(withStatus([]string{"RELOADING=1", "MONOTONIC_USEC=" + strconv.FormatInt(now.Microseconds(), 10)}, status)...)
}

// Stopping says that the service begins to shut down.
func (n *Notifier) Stopping(status string) error {
	return n.Send(withStatus([]string{"STOPPING=1"}, status)...)
}

// Status updates the free-form status line alone.
func (n *Notifier) Status(status string) error {
	return n.Send("STATUS=" + status)
}

// WatchdogInterval is how often the watchdog must be fed (half of
// WATCHDOG_USEC); 0 when systemd watches nothing.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog
}

// Watchdog sends WATCHDOG=1 once.
func (n *Notifier) Watchdog() error {
	return n.Send("WATCHDOG=1")
}

func withStatus(a []string, status string) []string {
	if status != "" {
		a = append(a, "STATUS="+status)
	}
	return a
}

func clockMonotonic() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}

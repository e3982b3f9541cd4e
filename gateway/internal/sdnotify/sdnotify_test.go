package sdnotify

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen is a fake systemd: a unixgram socket at name whose datagrams
// come out of the returned function, one notification each.
func listen(t *testing.T, name string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return func() string {
		t.Helper()
		buf := make([]byte, 4096)
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return string(buf[:n])
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotifyPathSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	recv := listen(t, path)
	n, err := New(env(map[string]string{"NOTIFY_SOCKET": path}))
	if err != nil || n == nil {
		t.Fatalf("New: %v, %v", n, err)
	}
	n.monotonic = func() (time.Duration, error) { return 1234567 * time.Microsecond, nil }
	steps := []struct {
		send func() error
		want string
	}{
		{func() error { return n.Ready("2 mailboxes") }, "READY=1\nSTATUS=2 mailboxes\n"},
		{func() error { return n.Reloading("") }, "RELOADING=1\nMONOTONIC_USEC=1234567\n"},
		{func() error { return n.Stopping("draining") }, "STOPPING=1\nSTATUS=draining\n"},
		{func() error { return n.Status("line one\nline two") }, "STATUS=line one line two\n"},
		{n.Watchdog, "WATCHDOG=1\n"},
	}
	for _, s := range steps {
		if err := s.send(); err != nil {
			t.Fatal(err)
		}
		if got := recv(); got != s.want {
			t.Errorf("got %q, want %q", got, s.want)
		}
	}
}

func TestNotifyAbstractSocket(t *testing.T) {
	name := "@bebpo-sdnotify-test-" + strconv.Itoa(os.Getpid())
	recv := listen(t, name)
	n, err := New(env(map[string]string{"NOTIFY_SOCKET": name}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(""); err != nil {
		t.Fatal(err)
	}
	if got := recv(); got != "READY=1\n" {
		t.Errorf("got %q", got)
	}
}

// The real clock of MONOTONIC_USEC is CLOCK_MONOTONIC: positive and
// moving forward.
func TestReloadingCarriesMonotonicTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	recv := listen(t, path)
	n, err := New(env(map[string]string{"NOTIFY_SOCKET": path}))
	if err != nil {
		t.Fatal(err)
	}
	var last int64
	for range 2 {
		if err := n.Reloading(""); err != nil {
			t.Fatal(err)
		}
		got := recv()
		v, ok := strings.CutPrefix(strings.Split(got, "\n")[1], "MONOTONIC_USEC=")
		usec, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || usec <= last {
			t.Fatalf("notification %q: MONOTONIC_USEC not a growing positive number (last %d)", got, last)
		}
		last = usec
	}
}

func TestWatchdogInterval(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	tests := []struct {
		name string
		env  map[string]string
		want time.Duration
		err  bool
	}{
		{"half of WATCHDOG_USEC", map[string]string{"WATCHDOG_USEC": "60000000"}, 30 * time.Second, false},
		{"for this pid", map[string]string{"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": me}, time.Second, false},
		{"for another pid", map[string]string{"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1"}, 0, false},
		{"none asked", map[string]string{}, 0, false},
		{"garbage", map[string]string{"WATCHDOG_USEC": "soon"}, 0, true},
		{"zero", map[string]string{"WATCHDOG_USEC": "0"}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["NOTIFY_SOCKET"] = "/run/systemd/notify"
			n, err := New(env(tc.env))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if got := n.WatchdogInterval(); got != tc.want {
				t.Errorf("interval %s, want %s", got, tc.want)
			}
		})
	}
}

// Outside systemd nothing is sent and nothing fails.
func TestWithoutNotifySocket(t *testing.T) {
	n, err := New(env(nil))
	if err != nil || n != nil {
		t.Fatalf("New without NOTIFY_SOCKET: %v, %v", n, err)
	}
	for _, f := range []func() error{func() error { return n.Ready("x") }, func() error { return n.Reloading("") },
		func() error { return n.Stopping("") }, n.Watchdog} {
		if err := f(); err != nil {
			t.Error(err)
		}
	}
	if n.WatchdogInterval() != 0 {
		t.Error("a nil notifier has a watchdog")
	}
}

func TestUnsupportedSocket(t *testing.T) {
	for _, s := range []string{"vsock:2:1234", "relative/path"} {
		if _, err := New(env(map[string]string{"NOTIFY_SOCKET": s})); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: %v, want ErrUnsupported", s, err)
		}
	}
}

// A socket nobody listens on is an error the caller can log.
func TestUnreachableSocket(t *testing.T) {
	n, err := New(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "gone")}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(""); err == nil {
		t.Error("sending to a missing socket succeeded")
	}
}

package gateway_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/cli"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// TestE2ESIGTERMDuringSend stops the daemon while storeDelivery is in
// flight (the simulator holds the first one for 2 s): the drain lets it
// finish, exit is 0, and after a restart the message is in the intake
// exactly once.
func TestE2ESIGTERMDuringSend(t *testing.T) {
	t.Parallel()
	e, id := sendHeld(t, 2*time.Second, "Beim Beenden", "e2e-term-1")
	ctx := context.Background()
	if code := e.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("SIGTERM during send: exit %d, want 0\n%s", code, e.logText())
	}
	// The drain let the held storeDelivery finish: the stopped store says sent.
	if st := e.storedState(id); st != mailbox.StateSent && st != mailbox.StateConfirmed {
		t.Fatalf("after the drain the message is %q, want sent", st)
	}
	e.start()
	e.waitIntake(1, 20*time.Second)
	m, err := e.client.GetMessage(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != string(mailbox.StateSent) && m.State != string(mailbox.StateConfirmed) {
		t.Errorf("outgoing state %q, want sent or confirmed", m.State)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := e.incomingCount(ctx); got != 1 {
		t.Errorf("store holds %d incoming messages, want 1", got)
	}
}

// sendHeld starts a gateway whose first storeDelivery the simulator holds
// for hold, sends one message and returns once it is being sent.
func sendHeld(t *testing.T, hold time.Duration, subject, key string) (*e2eEnv, int64) {
	t.Helper()
	e := newE2E(t, intermediary.Fault{Type: osci.TypeStoreDelivery, Nth: 1, Kind: intermediary.FaultDelay, Delay: hold})
	e.start()
	ctx := context.Background()
	id, err := e.send(ctx, subject, key)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m, err := e.client.GetMessage(ctx, id)
		if err == nil && m.State == string(mailbox.StateSending) {
			return e, id
		}
		if time.Now().After(deadline) {
			t.Fatalf("message never reached sending (state %q, %v)", m.State, err)
		}
	}
}

// storedState reads a message's state from the store of a stopped daemon.
func (e *e2eEnv) storedState(id int64) mailbox.State {
	e.t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(e.l.Data(), sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	m, err := st.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m.State
}

// TestE2ESecondSignalForcesExit: a second SIGTERM during the drain ends
// the process at once with status 1; the interrupted send is still in the
// store and is resolved after a restart.
func TestE2ESecondSignalForcesExit(t *testing.T) {
	t.Parallel()
	e, id := sendHeld(t, 20*time.Second, "Abgebrochen", "e2e-force-1")
	ctx := context.Background()
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if code := e.stop(syscall.SIGTERM); code != cli.ExitFail {
		t.Fatalf("second signal: exit %d, want %d\n%s", code, cli.ExitFail, e.logText())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("forced exit took %s", d)
	}
	if st := e.storedState(id); st != mailbox.StateSending {
		t.Fatalf("interrupted message is %q, want sending (outcome unknown, resolved by process card)", st)
	}
	// The restart releases the dead process's lease at once
	// (sqlite.Store.ReleaseLeases under the data directory lock).
	e.start()
	e.waitIntake(1, 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	if got := e.incomingCount(ctx); got != 1 {
		t.Errorf("store holds %d incoming messages, want 1", got)
	}
}

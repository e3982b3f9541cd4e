package postgres

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

// nodes opens n stores on one database, each with a head file of its own,
// as n gateways would.
func nodes(t testing.TB, n int) []*Store {
	t.Helper()
	dsn := pgtest.DSN(t)
	var out []*Store
	for i := range n {
		s, err := Open(ctx, dsn, Options{HeadPath: filepath.Join(t.TempDir(), "journal-head"), Node: fmt.Sprintf("node%d", i), Migrate: i == 0})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

// TestDialogLockOneNodeAtATime: three gateways trying for the dialog of
// one mailbox over and over never hold it at once, and each gets it.
func TestDialogLockOneNodeAtATime(t *testing.T) {
	ns := nodes(t, 3)
	var inside, most atomic.Int32
	held := make([]int, len(ns))
	var wg sync.WaitGroup
	for i, s := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 150 {
				unlock, ok, err := s.TryLockDialog(ctx, "DE.Justiz.a")
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				held[i]++
				time.Sleep(200 * time.Microsecond) // the dialog
				inside.Add(-1)
				unlock()
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d gateways held the dialog of one mailbox at once", most.Load())
	}
	for i, n := range held {
		if n == 0 {
			t.Errorf("node %d never got the dialog (held %v)", i, held)
		}
	}
	t.Logf("dialogs held per node: %v", held)
}

func TestDialogLockPerMailboxAndCaller(t *testing.T) {
	ns := nodes(t, 2)
	unlockA, ok, err := ns[0].TryLockDialog(ctx, "DE.Justiz.a")
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := ns[0].TryLockDialog(ctx, "DE.Justiz.a"); err != nil || ok {
		t.Fatalf("second caller in the same gateway got the held dialog: %v %v", ok, err)
	}
	if _, ok, err := ns[1].TryLockDialog(ctx, "DE.Justiz.a"); err != nil || ok {
		t.Fatalf("another gateway got the held dialog: %v %v", ok, err)
	}
	unlockB, ok, err := ns[1].TryLockDialog(ctx, "DE.Justiz.b")
	if err != nil || !ok {
		t.Fatalf("another mailbox's dialog: %v %v", ok, err)
	}
	unlockA()
	unlockB()
	unlock, ok, err := ns[1].TryLockDialog(ctx, "DE.Justiz.a")
	if err != nil || !ok {
		t.Fatalf("after unlock: %v %v", ok, err)
	}
	unlock()
}

// TestDialogLockFreedWithDeadNode: a gateway that dies, or whose session
// the server ends, frees its dialogs; its late unlock harms no one.
func TestDialogLockFreedWithDeadNode(t *testing.T) {
	ns := nodes(t, 3)
	if _, ok, err := ns[0].TryLockDialog(ctx, "DE.Justiz.a"); err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	ns[0].Close() // the process ended
	unlock1, ok, err := ns[1].TryLockDialog(ctx, "DE.Justiz.a")
	if err != nil || !ok {
		t.Fatalf("dialog of a closed gateway still held: %v %v", ok, err)
	}
	// The server ends node 1's lock session (a dropped connection).
	if _, err := ns[2].pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var unlock2 func()
	for {
		if unlock2, ok, err = ns[2].TryLockDialog(ctx, "DE.Justiz.a"); err != nil || ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || !ok {
		t.Fatalf("dialog of a terminated session still held: %v %v", ok, err)
	}
	unlock1() // late: must not free node 2's lock
	if _, ok, err := ns[1].TryLockDialog(ctx, "DE.Justiz.a"); ok || err != nil {
		t.Fatalf("a late unlock freed another gateway's dialog: %v %v", ok, err)
	}
	unlock2()
	if u, ok, err := ns[1].TryLockDialog(ctx, "DE.Justiz.a"); err != nil || !ok {
		t.Fatalf("after the holder's unlock: %v %v", ok, err)
	} else {
		u()
	}
}

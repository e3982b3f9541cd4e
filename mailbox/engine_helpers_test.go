package mailbox_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite/sqlitetest"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

var ctx = context.Background()

type ctxT = context.Context

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

type env struct {
	dir   string
	store *sqlite.Store
	blobs *mailbox.Blobs
	clk   *certstest.Clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{dir: dir, clk: certstest.NewClock(t0, 0)}
	e.reopen(t)
	return e
}

// reopen opens store and blobs again, as a restarted process does.
func (e *env) reopen(t testing.TB) {
	t.Helper()
	if e.store != nil {
		e.store.Close()
	}
	e.store, e.blobs = sqlitetest.Open(t, e.dir, e.clk.Now)
}

func (e *env) get(t *testing.T, id int64) mailbox.Message {
	t.Helper()
	m, err := e.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fetch fetches mbox from peer once, as the fetch engine's round does; a
// fetch that fails fails the test.
func (e *env) fetch(t *testing.T, peer *fakeMailbox, mbox string) mailbox.FetchResult {
	t.Helper()
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now}
	res, err := fe.FetchMailbox(ctx, mbox)
	if err != nil {
		t.Fatalf("fetch %s: %v", mbox, err)
	}
	return res
}

// folderIntake is the eAkte intake folder of the environment and its root.
func (e *env) folderIntake(t *testing.T) (*mailbox.FolderIntake, string) {
	t.Helper()
	root := filepath.Join(e.dir, "eakte")
	folder, err := mailbox.NewFolderIntake(root, nil, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return folder, root
}

// deliverToFolder runs the intake engine into a folder intake until it
// finds nothing more to do, and returns the folder.
func (e *env) deliverToFolder(t *testing.T) string {
	t.Helper()
	folder, root := e.folderIntake(t)
	d := &mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: folder, Now: e.clk.Now}
	for {
		n, err := d.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return root
		}
	}
}

func (e *env) kinds(t *testing.T, id int64) []string {
	t.Helper()
	evs, err := e.store.Events(ctx, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if ev.MessageID == id {
			k := ev.Kind
			if ev.Kind == "state" || ev.Kind == "deferred" {
				k += ":" + jsonField(ev.Detail, "to")
			}
			out = append(out, k)
		}
	}
	return out
}

func jsonField(detail, key string) string {
	var m map[string]string
	_ = jsonUnmarshal([]byte(detail), &m)
	return m[key]
}

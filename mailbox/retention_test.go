package mailbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// retentionEnv is a store and blob store whose clock starts at the real
// time, since the grace period is judged by the files' modification times.
type retentionEnv struct {
	store *sqlite.Store
	blobs *mailbox.Blobs
	fs    *hookFS
	clk   *certstest.Clock
	dir   string
}

// hookFS runs beforeAside before a blob is moved into the purge
// directory, where a concurrent submission would strike, and fails the
// removal of a file moved aside when failRemove is set.
type hookFS struct {
	mailbox.OSFS
	beforeAside func()
	failRemove  bool
}

func (f *hookFS) Rename(from, to string) error {
	if strings.Contains(to, string(filepath.Separator)+"purge"+string(filepath.Separator)) && f.beforeAside != nil {
		f.beforeAside()
	}
	return f.OSFS.Rename(from, to)
}

func (f *hookFS) Remove(name string) error {
	if f.failRemove && strings.Contains(name, string(filepath.Separator)+"purge"+string(filepath.Separator)) {
		return syscall.EIO
	}
	return f.OSFS.Remove(name)
}

func newRetentionEnv(t *testing.T) *retentionEnv {
	t.Helper()
	e := &retentionEnv{dir: t.TempDir(), clk: certstest.NewClock(time.Now().Truncate(time.Second), 0), fs: &hookFS{}}
	s, err := sqlite.Open(ctx, filepath.Join(e.dir, sqlite.FileName), sqlite.Options{Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if e.blobs, err = mailbox.OpenBlobs(filepath.Join(e.dir, "blobs"), e.fs); err != nil {
		t.Fatal(err)
	}
	e.store = s
	return e
}

// submit stores an outgoing message with one document per content.
func (e *retentionEnv) submit(t *testing.T, contents ...string) mailbox.Message {
	t.Helper()
	var parts []mailbox.Part
	for i, c := range contents {
		parts = append(parts, mailbox.Part{Name: "Dok_" + string(rune('a'+i)) + ".pdf", Body: strings.NewReader(c)})
	}
	m, err := mailbox.Submit(ctx, e.store, e.blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.x", Subject: "s"}, parts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// confirm drives an outgoing message to confirmed at the clock's time.
func (e *retentionEnv) confirm(t *testing.T, id int64) {
	t.Helper()
	for _, to := range []mailbox.State{mailbox.StateIDAssigned, mailbox.StateSending, mailbox.StateConfirmed} {
		ms, err := e.store.ClaimDue(ctx, mailbox.Out, e.clk.Now().Add(time.Hour), "w", time.Minute, 10)
		if err != nil || len(ms) == 0 {
			t.Fatalf("claim: %v", err)
		}
		var m mailbox.Message
		for _, c := range ms {
			if c.ID == id {
				m = c
			}
		}
		next := e.clk.Now()
		if to == mailbox.StateConfirmed {
			next = time.Time{}
		}
		if _, err := e.store.Apply(ctx, mailbox.Change{ID: id, Owner: "w", Token: m.LeaseToken, To: to, Now: e.clk.Now(), Next: next,
			OSCIMessageID: "id" + string(rune('0'+id))}); err != nil {
			t.Fatal(err)
		}
		for _, o := range ms {
			if o.ID != id {
				e.store.Apply(ctx, mailbox.Change{ID: o.ID, Owner: "w", Token: o.LeaseToken, To: o.State, Now: e.clk.Now(), Next: e.clk.Now().Add(time.Hour)})
			}
		}
	}
}

func (e *retentionEnv) retention() *mailbox.Retention {
	return &mailbox.Retention{Store: e.store, Blobs: e.blobs, Now: e.clk.Now,
		Rules: []mailbox.RetentionRule{{Mailbox: "stadt", Direction: mailbox.Out, Keep: 90 * 24 * time.Hour}}}
}

func (e *retentionEnv) exists(m mailbox.Message, n int) bool {
	_, err := os.Stat(e.blobs.Path(m.Documents[n].SHA256))
	return err == nil
}

func TestRetentionRemovesOnlyWhatNoKeptMessageUses(t *testing.T) {
	e := newRetentionEnv(t)
	done := e.submit(t, "%PDF only in the confirmed message", "%PDF shared form")
	e.confirm(t, done.ID)
	kept := e.submit(t, "%PDF shared form") // queued: its document must survive
	r := e.retention()

	e.clk.Add(89 * 24 * time.Hour)
	rep, err := r.RunOnce(ctx)
	if err != nil || rep.Purged() || rep.Rules[0].Messages != 0 {
		t.Fatalf("before 90 days: %+v %v", rep, err)
	}
	e.clk.Add(2 * 24 * time.Hour)
	rep, err = r.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rr := rep.Rules[0]; rr.Messages != 1 || rr.Documents != 2 || rr.Garbage != 1 || rep.Removed != 1 || rep.Freed != int64(len("%PDF only in the confirmed message")) {
		t.Fatalf("after 91 days: %+v", rep)
	}
	if e.exists(done, 0) || !e.exists(done, 1) || !e.exists(kept, 0) {
		t.Fatal("the unique blob must be gone, the shared one kept")
	}
	m, _ := e.store.Get(ctx, done.ID)
	if m.State != mailbox.StateConfirmed || m.Documents[0].PurgedAt.IsZero() || m.Documents[1].PurgedAt.IsZero() {
		t.Fatalf("purged message %+v", m)
	}
	if _, err := mailbox.Check(ctx, e.store, e.blobs); err != nil {
		t.Fatalf("check after the purge: %v", err)
	}
	evs, _ := e.store.Events(ctx, 0, 1000)
	kinds := map[string]int{}
	for _, ev := range evs {
		kinds[ev.Kind]++
	}
	if kinds["purged"] != 1 || kinds["blobs_removed"] != 1 {
		t.Fatalf("journal kinds %v, want one purged and one blobs_removed", kinds)
	}
	if rep, err := r.RunOnce(ctx); err != nil || rep.Purged() {
		t.Fatalf("second run: %+v %v", rep, err)
	}
}

func TestRetentionSparesABlobWrittenWithinTheGrace(t *testing.T) {
	e := newRetentionEnv(t)
	done := e.submit(t, "%PDF form letter")
	e.confirm(t, done.ID)
	e.clk.Add(91 * 24 * time.Hour)
	// The same content was just put again by a submission whose row is not yet stored.
	recent := e.clk.Now().Add(-time.Hour)
	os.Chtimes(e.blobs.Path(done.Documents[0].SHA256), recent, recent)
	rep, err := e.retention().RunOnce(ctx)
	if err != nil || rep.Deferred != 1 || rep.Removed != 0 || !e.exists(done, 0) {
		t.Fatalf("recent blob: %+v %v", rep, err)
	}
	if g, _ := e.store.BlobGarbage(ctx, "", 10); len(g) != 1 {
		t.Fatalf("a deferred blob must stay on the garbage list: %v", g)
	}
	e.clk.Add(25 * time.Hour)
	if rep, err := e.retention().RunOnce(ctx); err != nil || rep.Removed != 1 || e.exists(done, 0) {
		t.Fatalf("after the grace: %+v %v", rep, err)
	}
}

// A submission of the same content that strikes between the check of the
// file and its removal keeps its blob: its row is found once the file is
// moved aside (committed), or its fresh file is put back (not yet).
func TestRetentionRaceWithASubmissionOfTheSameContent(t *testing.T) {
	for _, committed := range []bool{true, false} {
		e := newRetentionEnv(t)
		done := e.submit(t, "%PDF standard form")
		e.confirm(t, done.ID)
		e.clk.Add(91 * 24 * time.Hour)
		var late mailbox.Message
		e.fs.beforeAside = func() {
			e.fs.beforeAside = nil
			if committed {
				late = e.submit(t, "%PDF standard form")
				return
			}
			ref, err := e.blobs.Put(strings.NewReader("%PDF standard form"))
			if err != nil {
				t.Fatal(err)
			}
			now := e.clk.Now()
			os.Chtimes(e.blobs.Path(ref.SHA256), now, now)
		}
		rep, err := e.retention().RunOnce(ctx)
		if err != nil || rep.Removed != 0 || !e.exists(done, 0) {
			t.Fatalf("committed=%v: %+v %v; the blob must stay", committed, rep, err)
		}
		if !committed {
			late = e.submit(t, "%PDF standard form") // its row commits now
		}
		if _, err := mailbox.Check(ctx, e.store, e.blobs); err != nil || late.ID == 0 {
			t.Fatalf("committed=%v: check %v", committed, err)
		}
		if g, _ := e.store.BlobGarbage(ctx, "", 10); committed && len(g) != 0 {
			t.Fatalf("a blob referenced again leaves the garbage list: %v", g)
		}
	}
}

// A collection that cannot finish puts the file back; one whose process
// stopped with the file moved aside has it put back by OpenBlobs.
func TestRetentionInterruptedCollectionKeepsTheBlob(t *testing.T) {
	e := newRetentionEnv(t)
	done := e.submit(t, "%PDF x")
	e.confirm(t, done.ID)
	e.clk.Add(91 * 24 * time.Hour)
	e.fs.failRemove = true
	if _, err := e.retention().RunOnce(ctx); !errors.Is(err, syscall.EIO) || !e.exists(done, 0) {
		t.Fatalf("failed removal: %v, blob exists %v", err, e.exists(done, 0))
	}
	e.fs.failRemove = false
	h := done.Documents[0].SHA256
	if err := os.Rename(e.blobs.Path(h), filepath.Join(e.dir, "blobs", "purge", h)); err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.OpenBlobs(filepath.Join(e.dir, "blobs"), nil); err != nil || !e.exists(done, 0) {
		t.Fatalf("reopen after a stop with the file aside: %v, blob exists %v", err, e.exists(done, 0))
	}
	unlock, err := e.blobs.LockCollection()
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := e.retention().RunOnce(ctx); err != nil || !rep.Busy || !e.exists(done, 0) {
		t.Fatalf("while a backup holds the lock: %+v %v", rep, err)
	}
	unlock()
	if rep, err := e.retention().RunOnce(ctx); err != nil || rep.Removed != 1 || e.exists(done, 0) {
		t.Fatalf("after the backup: %+v %v", rep, err)
	}
}

package outfolder

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// step makes one engine transition of message id, as the send engine does.
func step(t *testing.T, e *apitest.Env, id int64, c mailbox.Change) {
	t.Helper()
	ctx := context.Background()
	now := e.Clock.Now()
	ms, err := e.Store.ClaimDue(ctx, mailbox.Out, now.Add(time.Hour), "w", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		ch := mailbox.Change{ID: m.ID, Owner: "w", Token: m.LeaseToken, To: m.State, Now: now, Next: now.Add(time.Minute)}
		if m.ID == id {
			ch.To, ch.OSCIMessageID, ch.Card, ch.ErrCode, ch.ErrText, ch.Next = c.To, c.OSCIMessageID, c.Card, c.ErrCode, c.ErrText, c.Next
		}
		if _, err := e.Store.Apply(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResultFollowsTheMessage: result.json moves from queued to sent and
// confirmed with the reception time, or to failed with the reason, each
// time written whole; an end state is no longer followed.
func TestResultFollowsTheMessage(t *testing.T) {
	e, o := newRecipientFolder(t)
	o.Messages = e.Store
	writeDrop(t, o.Root, "bescheid-1", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF one"}, true)
	writeDrop(t, o.Root, "bescheid-2", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF two"}, true)
	runOnce(t, o, 2)
	r1 := readResult(t, filepath.Join(o.Root, Done, "bescheid-1"))
	r2 := readResult(t, filepath.Join(o.Root, Done, "bescheid-2"))
	if r1.State != ResultQueued || r2.State != ResultQueued {
		t.Fatalf("results %+v %+v, want queued", r1, r2)
	}
	created := apitest.T0.Add(time.Minute).UTC()
	received := apitest.T0.Add(3 * time.Minute).UTC()
	step(t, e, r1.ID, mailbox.Change{To: mailbox.StateIDAssigned, OSCIMessageID: "govapp_1", Next: e.Clock.Now()})
	step(t, e, r1.ID, mailbox.Change{To: mailbox.StateSending, Next: e.Clock.Now()})
	step(t, e, r1.ID, mailbox.Change{To: mailbox.StateSent, Card: &mailbox.ProcessCard{Creation: created}, Next: e.Clock.Now()})
	step(t, e, r2.ID, mailbox.Change{To: mailbox.StateFailed, ErrCode: "9601", ErrText: "signature invalid"})
	runOnce(t, o, 0)
	r1 = readResult(t, filepath.Join(o.Root, Done, "bescheid-1"))
	r2 = readResult(t, filepath.Join(o.Root, Done, "bescheid-2"))
	if r1.State != ResultSent || r1.OSCIMessageID != "govapp_1" || r1.SentAt == nil || !r1.SentAt.Equal(created) || r1.ReceptionAt != nil {
		t.Fatalf("sent result %+v", r1)
	}
	if r2.State != ResultFailed || r2.Code != "9601" || r2.Reason != "signature invalid" {
		t.Fatalf("failed result %+v", r2)
	}
	step(t, e, r1.ID, mailbox.Change{To: mailbox.StateConfirmed, Card: &mailbox.ProcessCard{Reception: received}})
	runOnce(t, o, 0)
	r1 = readResult(t, filepath.Join(o.Root, Done, "bescheid-1"))
	if r1.State != ResultConfirmed || r1.ReceptionAt == nil || !r1.ReceptionAt.Equal(received) || !r1.SentAt.Equal(created) {
		t.Fatalf("confirmed result %+v", r1)
	}
	if len(o.tracked) != 0 {
		t.Fatalf("still followed after their end: %v", o.tracked)
	}
	ents, _ := os.ReadDir(filepath.Join(o.Root, Done, "bescheid-1"))
	for _, en := range ents {
		if en.Name() != "Bescheid.pdf" && en.Name() != MessageFile && en.Name() != ResultFile && en.Name() != Marker {
			t.Errorf("left behind: %s", en.Name())
		}
	}
	// A watcher started afresh finds the open results in done/ again.
	writeDrop(t, o.Root, "bescheid-3", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF three"}, true)
	runOnce(t, o, 1)
	r3 := readResult(t, filepath.Join(o.Root, Done, "bescheid-3"))
	fresh := newOutFolder(t, e)
	fresh.Messages = e.Store
	step(t, e, r3.ID, mailbox.Change{To: mailbox.StateFailed, ErrCode: "9802", ErrText: "recipient unknown"})
	runOnce(t, fresh, 0)
	if r3 = readResult(t, filepath.Join(o.Root, Done, "bescheid-3")); r3.State != ResultFailed || r3.Code != "9802" {
		t.Fatalf("after a restart: %+v", r3)
	}
}

// TestOutFolderWaitsForTheUploadBudget: a submission that does not fit
// the budget the API shares waits and stays in processing/; once bytes
// are free it goes through.
func TestOutFolderWaitsForTheUploadBudget(t *testing.T) {
	e, o := newRecipientFolder(t)
	budget := api.NewUploadBudget(100, 1)
	o.Uploads, o.UploadWait = budget, 50*time.Millisecond
	release, _ := budget.TryAcquire(90)
	writeDrop(t, o.Root, "gross", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF " + string(make([]byte, 40))}, true)
	runOnce(t, o, 0)
	if _, err := os.Stat(filepath.Join(o.Root, Processing, "gross")); err != nil {
		t.Fatalf("the waiting submission must stay in processing/: %v", err)
	}
	wantMessages(t, e, 0)
	release()
	runOnce(t, o, 1)
	wantMessages(t, e, 1)
	if n, _ := budget.InFlight(); n != 0 {
		t.Fatalf("%d bytes still reserved", n)
	}
}

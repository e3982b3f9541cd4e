package mailbox_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

const poisonBox = "DE.BeBPo.erkelenz"

// TestPoisonDeliveryDoesNotStopMailbox: one delivery whose response
// arrives but can never be read (a size just under the limits, a flood of
// namespace declarations) used to stop its mailbox for good, since every
// dialog abandoned at it and no later delivery was fetched. It is read
// MaxAttempts times, then parked with its raw bytes and the reason,
// acknowledged, and the mailbox goes on.
func TestPoisonDeliveryDoesNotStopMailbox(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_poison")
	peer.unreadable["govapp_poison"] = "too many namespace declarations"
	peer.add("govapp_next", true)
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now, MaxAttempts: 3}

	for i := 1; i < 3; i++ {
		res, err := fe.FetchMailbox(ctx, poisonBox)
		if !errors.Is(err, mailbox.ErrUnreadable) || res.Parked != 0 {
			t.Fatalf("read %d: %+v %v, want the dialog abandoned with ErrUnreadable", i, res, err)
		}
		if c := peer.calls(); c != "list; fetch govapp_poison; abandon" {
			t.Fatalf("read %d: transcript %s", i, c)
		}
	}
	res, err := fe.FetchMailbox(ctx, poisonBox)
	if err != nil || res.Parked != 1 || res.Stored != 1 {
		t.Fatalf("third read: %+v %v, want parked and the next one stored", res, err)
	}
	if c := peer.calls(); c != "list; fetch govapp_poison; receipt govapp_poison; fetch govapp_next; receipt govapp_next; exit" {
		t.Fatalf("transcript %s", c)
	}
	if peer.acked["govapp_poison"] != 1 || peer.acked["govapp_next"] != 1 {
		t.Fatalf("acknowledged %v", peer.acked)
	}
	if len(res.Notices) != 1 || res.Notices[0].Kind != mailbox.NoticeParked || res.Notices[0].Reason != "too many namespace declarations" ||
		res.Notices[0].Attempts != 3 || res.Notices[0].OSCIMessageID != "govapp_poison" {
		t.Fatalf("notices %+v", res.Notices)
	}
	p, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, poisonBox, "govapp_poison")
	if err != nil || p.State != mailbox.StateQuarantined || p.LastErrorCode != mailbox.ReasonUnreadable ||
		p.LastErrorText != "too many namespace declarations" || len(p.Documents) != 1 || p.Documents[0].Role != mailbox.RoleOriginal {
		t.Fatalf("parked row %+v %v", p, err)
	}
	if got := readBlob(t, e.blobs, p.Documents[0].SHA256); got != peer.bodies["govapp_poison"][0] {
		t.Fatalf("parked original %q", got)
	}
	ms, err := e.store.List(ctx, mailbox.Filter{Direction: mailbox.In, States: []mailbox.State{mailbox.StateQuarantined}})
	if err != nil || len(ms) != 1 || ms[0].ID != p.ID {
		t.Fatalf("quarantined listing %+v %v", ms, err)
	}
	var unreadable int
	evs, _ := e.store.Events(ctx, 0, 1000)
	for _, ev := range evs {
		if ev.Kind == "fetch_unreadable" {
			unreadable++
		}
	}
	if unreadable != 2 {
		t.Fatalf("%d fetch_unreadable journal entries, want 2", unreadable)
	}
	// Parked once, it is known: handed out again, a duplicate.
	peer.add("govapp_poison", true)
	if res, err := fe.FetchMailbox(ctx, poisonBox); err != nil || res.Duplicates != 1 || res.Parked != 0 {
		t.Fatalf("handed out again: %+v %v", res, err)
	}
}

// TestTransportFailureIsNeverParked: a read that received nothing usable
// (connection reset, a response cut short) is a normal retry however
// often it happens; it never counts towards parking.
func TestTransportFailureIsNeverParked(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_big")
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now, MaxAttempts: 2}
	for i := 0; i < 5; i++ {
		peer.fetchErr["govapp_big"] = &mailbox.PeerError{Class: mailbox.Ambiguous, Err: errors.New("connection reset")}
		if res, err := fe.FetchMailbox(ctx, poisonBox); err == nil || errors.Is(err, mailbox.ErrUnreadable) || res.Parked+res.Skipped != 0 {
			t.Fatalf("failure %d: %+v %v", i, res, err)
		}
	}
	n, err := e.store.BeginFetch(ctx, poisonBox, "govapp_big", t0)
	if err != nil || n != 1 {
		t.Fatalf("reads counted after five transport failures: %d %v, want none before this one", n, err)
	}
	if err := e.store.EndFetch(ctx, mailbox.FetchEnd{Mailbox: poisonBox, OSCIMessageID: "govapp_big"}); err != nil {
		t.Fatal(err)
	}
	if res, err := fe.FetchMailbox(ctx, poisonBox); err != nil || res.Stored != 1 {
		t.Fatalf("after the network recovered: %+v %v", res, err)
	}
}

// crashingSession is a process that dies while reading one delivery: its
// store closes under it, so nothing after the read is recorded.
type crashingSession struct {
	*fakeSession
	e  *env
	id string
}

func (c *crashingSession) FetchDelivery(ctx context.Context, id string) (*mailbox.Delivery, error) {
	if id == c.id {
		c.e.store.Close()
		return nil, errors.New("process killed")
	}
	return c.fakeSession.FetchDelivery(ctx, id)
}

// originalSession can fetch a delivery without reading it.
type originalSession struct{ *fakeSession }

func (o originalSession) FetchOriginal(ctx context.Context, id string) (io.Reader, error) {
	f := o.f
	f.request("fetch original " + id)
	defer f.mu.Unlock()
	f.last = id
	return strings.NewReader(f.bodies[id][0]), nil
}

// TestCrashWhileReadingCountsTowardsParking: a delivery that kills the
// process while it is read is counted before each read, so a crash loop
// ends: after MaxAttempts such reads it is no longer read. A session that
// can fetch it unread has it parked; one that cannot skips it, and the
// mailbox goes on either way.
func TestCrashWhileReadingCountsTowardsParking(t *testing.T) {
	for _, canFetchOriginal := range []bool{false, true} {
		name := map[bool]string{false: "skipped", true: "parked unread"}[canFetchOriginal]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			peer := newFakeMailbox("govapp_crash", "govapp_next")
			for i := 0; i < 3; i++ {
				fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Now: e.clk.Now, MaxAttempts: 3,
					Open: func(context.Context, string) (mailbox.Session, error) {
						return &crashingSession{&fakeSession{peer}, e, "govapp_crash"}, nil
					}}
				if _, err := fe.FetchMailbox(ctx, poisonBox); err == nil {
					t.Fatalf("crash %d not reported", i)
				}
				e.reopen(t)
				peer.calls()
			}
			open := peer.open
			if canFetchOriginal {
				open = func(context.Context, string) (mailbox.Session, error) {
					return originalSession{&fakeSession{peer}}, nil
				}
			}
			fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Now: e.clk.Now, MaxAttempts: 3, Open: open}
			res, err := fe.FetchMailbox(ctx, poisonBox)
			if err != nil || res.Stored != 1 || len(res.Notices) != 1 || res.Notices[0].Attempts != 3 {
				t.Fatalf("after three crashes: %+v %v", res, err)
			}
			_, perr := e.store.GetByOSCIMessageID(ctx, mailbox.In, poisonBox, "govapp_crash")
			if !canFetchOriginal {
				if res.Skipped != 1 || res.Notices[0].Kind != mailbox.NoticeSkipped || !errors.Is(perr, mailbox.ErrNotFound) || peer.acked["govapp_crash"] != 0 {
					t.Fatalf("skip: %+v %v acked %d", res, perr, peer.acked["govapp_crash"])
				}
				if c := peer.calls(); c != "list; fetch govapp_next; receipt govapp_next; exit" {
					t.Fatalf("transcript %s", c)
				}
				// Skipped again in the next dialog, without growing the count;
				// an operator's clear has it read again.
				if res, _ := fe.FetchMailbox(ctx, poisonBox); res.Skipped != 1 || res.Notices[0].Attempts != 3 {
					t.Fatalf("second skip: %+v", res)
				}
				if err := e.store.EndFetch(ctx, mailbox.FetchEnd{Mailbox: poisonBox, OSCIMessageID: "govapp_crash", Clear: true, Actor: "op"}); err != nil {
					t.Fatal(err)
				}
				if res, err := fe.FetchMailbox(ctx, poisonBox); err != nil || res.Stored != 1 {
					t.Fatalf("after clearing: %+v %v", res, err)
				}
				return
			}
			p, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, poisonBox, "govapp_crash")
			if res.Parked != 1 || res.Notices[0].Kind != mailbox.NoticeParked || p.State != mailbox.StateQuarantined ||
				p.LastErrorCode != mailbox.ReasonUnreadable || peer.acked["govapp_crash"] != 1 {
				t.Fatalf("parked: %+v row %+v acked %d", res, p, peer.acked["govapp_crash"])
			}
			if c := peer.calls(); c != "list; fetch original govapp_crash; receipt govapp_crash; fetch govapp_next; receipt govapp_next; exit" {
				t.Fatalf("transcript %s", c)
			}
		})
	}
}

// reader is the bridge reading a stored original again.
type reader struct {
	peer *fakeMailbox
	err  error
}

func (r reader) Reprocess(ctx context.Context, mbox, id string, original io.Reader) (*mailbox.Delivery, error) {
	b, _ := io.ReadAll(original)
	if r.err != nil {
		return nil, r.err
	}
	if string(b) != r.peer.bodies[id][0] {
		return nil, errors.New("not the stored original")
	}
	d := *r.peer.deliveries[id]
	body := r.peer.bodies[id]
	d.Documents = []mailbox.IncomingDocument{
		{Name: "xjustiz_nachricht.xml", ContentType: "application/xml", Role: mailbox.RoleStructured, Body: strings.NewReader(body[1])},
		{Name: "Ladung.pdf", ContentType: "application/pdf", Body: strings.NewReader(body[2])},
	}
	return &d, nil
}

// TestParkedDeliveryRetryAndRelease: an operator retries a parked delivery
// (the stored original read again: still failing it stays parked with the
// new reason; read, it goes on like a fresh delivery to the intake) or
// releases it to the intake as it is.
func TestParkedDeliveryRetryAndRelease(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox()
	for _, id := range []string{"govapp_p1", "govapp_p2"} {
		peer.add(id, true)
		peer.unreadable[id] = "decrypt: no recipient key"
	}
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now, MaxAttempts: 1}
	if res, err := fe.FetchMailbox(ctx, poisonBox); err != nil || res.Parked != 2 {
		t.Fatalf("parking: %+v %v", res, err)
	}
	p1, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, poisonBox, "govapp_p1")
	p2, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, poisonBox, "govapp_p2")

	// Retry, still unreadable: parked with the new reason.
	m, err := mailbox.Reprocess(ctx, e.store, e.blobs, reader{peer, &mailbox.UnreadableError{Reason: "decrypt: key still missing"}}, p1.ID, "op", e.clk.Now())
	if err != nil || m.State != mailbox.StateQuarantined || m.LastErrorText != "decrypt: key still missing" {
		t.Fatalf("failed retry: %+v %v", m, err)
	}
	// Retry with the key back: a fresh delivery.
	m, err = mailbox.Reprocess(ctx, e.store, e.blobs, reader{peer: peer}, p1.ID, "op", e.clk.Now())
	if err != nil || m.State != mailbox.StateReceived || m.LastErrorCode != "" || len(m.Documents) != 3 || m.Sender != "DE.Justiz.ag" {
		t.Fatalf("retry: %+v %v", m, err)
	}
	if _, err := mailbox.Reprocess(ctx, e.store, e.blobs, reader{peer: peer}, p1.ID, "op", e.clk.Now()); !errors.Is(err, mailbox.ErrInvalidTransition) {
		t.Fatalf("retry of a message no longer parked: %v", err)
	}
	// Release the other one as it is.
	if _, err := e.store.Operate(ctx, mailbox.OperatorAction{ID: p2.ID, Op: mailbox.OpRequeue, Actor: "op", Now: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}

	root := e.deliverToFolder(t)
	for _, id := range []int64{p1.ID, p2.ID} {
		if m := e.get(t, id); m.State != mailbox.StateDelivered {
			t.Fatalf("message %d: %s %s", id, m.State, m.LastErrorCode)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "govapp_p1", mailbox.DocumentsDir, "Ladung.pdf")); err != nil {
		t.Fatalf("retried delivery's document: %v", err)
	}
	orig, _ := os.ReadFile(filepath.Join(root, "govapp_p2", mailbox.FileOriginal))
	report, _ := os.ReadFile(filepath.Join(root, "govapp_p2", mailbox.FileReportHTML))
	if string(orig) != peer.bodies["govapp_p2"][0] || !strings.Contains(string(report), "decrypt: no recipient key") {
		t.Fatalf("released delivery: original %q, reason in the Prüfprotokoll %v", orig, strings.Contains(string(report), "decrypt"))
	}
	kinds := e.kinds(t, p1.ID)
	if strings.Join(kinds, ",") != "received,process_card,reread,reread,state:intake_pending,state:delivered" {
		t.Fatalf("journal of the retried delivery: %v", kinds)
	}
}

func readBlob(t *testing.T, b *mailbox.Blobs, sha string) string {
	t.Helper()
	r, err := b.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestFetchLoopOnKnownDeliveriesPauses: a dialog that filled its Limit
// with deliveries already stored (an intermediary that keeps listing them)
// made the caller fetch again at once, forever. More is true only when the
// dialog stored something new and left deliveries beyond its Limit.
func TestFetchLoopOnKnownDeliveriesPauses(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_1", "govapp_2", "govapp_3")
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now, Limit: 2}
	steps := []struct {
		name         string
		relist       bool
		stored, dups int
		left         int
		more         bool
	}{
		{"new deliveries beyond the limit", false, 2, 0, 1, true},
		{"the rest", false, 1, 0, 0, false},
		{"only known ones, beyond the limit", true, 0, 2, 1, false},
	}
	for _, st := range steps {
		if st.relist {
			for _, id := range []string{"govapp_1", "govapp_2", "govapp_3"} {
				peer.add(id, true)
			}
		}
		res, err := fe.FetchMailbox(ctx, poisonBox)
		if err != nil || res.Stored != st.stored || res.Duplicates != st.dups || res.Left != st.left || res.More() != st.more {
			t.Fatalf("%s: %+v more=%v %v", st.name, res, res.More(), err)
		}
	}
	for _, tc := range []struct {
		r    mailbox.FetchResult
		more bool
	}{
		{mailbox.FetchResult{Parked: 1, Left: 3}, true},
		{mailbox.FetchResult{Stored: 5}, false},
		{mailbox.FetchResult{Duplicates: 50, Conflicts: 50, Skipped: 1, Left: 9}, false},
	} {
		if tc.r.More() != tc.more {
			t.Errorf("%+v: More %v, want %v", tc.r, tc.r.More(), tc.more)
		}
	}
}

package osciendpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// nodeLease is the send lease of the nodes; the test clock jumps past it.
const nodeLease = time.Minute

// omNode is one of several gateways on one PostgreSQL database: its own
// connection pool, journal head file, OSCI mailboxes A and B and intake
// folder; the blobs are shared storage.
type omNode struct {
	name   string
	pg     *postgres.Store
	store  *fenceWatch
	blobs  *mailbox.Blobs
	a, b   *Mailbox
	root   string
	intake *mailbox.FolderIntake
}

// fenceWatch is a node's real store, counting the engine writes its
// fencing counter refused.
type fenceWatch struct {
	mailbox.Store
	refused atomic.Int32
}

func (f *fenceWatch) note(err error) {
	if errors.Is(err, mailbox.ErrLeaseLost) {
		f.refused.Add(1)
	}
}

func (f *fenceWatch) Apply(ctx context.Context, c mailbox.Change) (mailbox.Message, error) {
	m, err := f.Store.Apply(ctx, c)
	f.note(err)
	return m, err
}

func (f *fenceWatch) ExtendLease(ctx context.Context, id int64, owner string, token int64, until time.Time) error {
	err := f.Store.ExtendLease(ctx, id, owner, token, until)
	f.note(err)
	return err
}

// newOMNodes starts n gateways on one new database at one simulator.
func newOMNodes(t *testing.T, w *omWorld, n int) []*omNode {
	t.Helper()
	dsn := pgtest.DSN(t)
	blobs, err := mailbox.OpenBlobs(filepath.Join(t.TempDir(), "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*omNode
	for i := range n {
		dir := t.TempDir()
		name := fmt.Sprintf("node%d", i)
		pg, err := postgres.Open(context.Background(), dsn, postgres.Options{HeadPath: filepath.Join(dir, "journal-head"), Node: name,
			MaxConns: 4, Migrate: i == 0, Now: w.clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pg.Close() })
		nd := &omNode{name: name, pg: pg, store: &fenceWatch{Store: pg}, blobs: blobs, root: filepath.Join(dir, "intake"),
			a: w.mailbox(t, "A", omSafeA, name+"A", filepath.Join(dir, "spool-a"), omVHNIdentity(t), omCardA),
			b: w.mailbox(t, "B", omSafeB, name+"B", filepath.Join(dir, "spool-b"), w.idB, omCardB)}
		if nd.intake, err = mailbox.NewFolderIntake(nd.root, nil, w.clk.Now); err != nil {
			t.Fatal(err)
		}
		out = append(out, nd)
	}
	return out
}

func (nd *omNode) sender(w *omWorld, t mailbox.Transport) *mailbox.Sender {
	if t == nil {
		t = nd.a.Transport()
	}
	return &mailbox.Sender{Store: nd.store, Blobs: nd.blobs, Owner: nd.name + "/send", Lease: nodeLease, Now: w.clk.Now,
		Rand: certstest.DetRand(nd.name + "send"), Transport: func(mailbox.Message) (mailbox.Transport, error) { return t, nil }}
}

func (nd *omNode) deliverer(w *omWorld) *mailbox.Deliverer {
	return &mailbox.Deliverer{Store: nd.store, Blobs: nd.blobs, Sink: nd.intake, Owner: nd.name + "/intake", Now: w.clk.Now,
		Rand: certstest.DetRand(nd.name + "deliver")}
}

// submit queues one message from A to B at this node.
func (nd *omNode) submit(t *testing.T, w *omWorld, i int) mailbox.Message {
	t.Helper()
	subject := fmt.Sprintf("Antrag %d", i)
	m, err := mailbox.Submit(context.Background(), nd.store, nd.blobs, mailbox.NewOutgoing{Mailbox: "A", Recipient: omSafeB, Subject: subject, Now: w.clk.Now()},
		[]mailbox.Part{{Name: fmt.Sprintf("%03d_Antrag.pdf", i), ContentType: "application/pdf", Body: strings.NewReader(string(omPDF(4000+i, subject)))}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// heldTransport holds a node's storeDelivery until released, as a node
// paused mid-send (SIGSTOP, a long GC, a partition): either before the
// request leaves or after the intermediary accepted it, before the
// answer is read.
type heldTransport struct {
	mailbox.Transport
	before  bool
	reached chan struct{}
	release chan struct{}
}

func (h *heldTransport) StoreDelivery(ctx context.Context, d *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	if h.before {
		close(h.reached)
		<-h.release
		return h.Transport.StoreDelivery(ctx, d)
	}
	c, err := h.Transport.StoreDelivery(ctx, d)
	close(h.reached)
	<-h.release
	return c, err
}

// accepted counts the storeDelivery orders the simulator accepted.
func (w *omWorld) accepted() int {
	w.log.mu.Lock()
	defer w.log.mu.Unlock()
	n := 0
	for _, l := range w.log.lines {
		if strings.Contains(l, ": StoreDelivery ") && strings.Contains(l, "feedback [0800]") {
			n++
		}
	}
	return n
}

// TestThreeNodesPausedSenderIsFenced: a node paused mid-send past its
// lease is overtaken by another, which settles the message through the
// process card (or, when the request had not left, sends it under the
// same MessageId); the paused node's writes are then refused by the
// fencing counter, and the simulator holds the delivery once. Then all
// three nodes send, fetch (one dialog per mailbox at a time) and deliver
// side by side: every message arrives in one intake exactly once, and the
// one journal verifies.
func TestThreeNodesPausedSenderIsFenced(t *testing.T) {
	ctx := context.Background()
	w := newOMWorld(t)
	nodes := newOMNodes(t, w, 3)
	msgs := 0
	for _, tc := range []struct {
		name   string
		before bool
	}{{"answer held", false}, {"request held", true}} {
		t.Run(tc.name, func(t *testing.T) {
			paused, taker := nodes[0], nodes[1]
			m := paused.submit(t, w, msgs)
			msgs++
			refusedBefore := paused.store.refused.Load()
			acceptedBefore := w.accepted()
			h := &heldTransport{Transport: paused.a.Transport(), before: tc.before, reached: make(chan struct{}), release: make(chan struct{})}
			done := make(chan error, 1)
			go func() {
				_, err := paused.sender(w, h).RunOnce(ctx)
				done <- err
			}()
			<-h.reached // after the fenced renewal: the request is leaving or has been accepted
			held, err := taker.pg.Get(ctx, m.ID)
			if err != nil || held.State != mailbox.StateSending || held.LeaseOwner != paused.name+"/send" {
				t.Fatalf("while paused: %s owned by %q (%v), want sending owned by the paused node", held.State, held.LeaseOwner, err)
			}
			w.clk.Add(nodeLease + time.Second)
			n, err := taker.sender(w, nil).RunOnce(ctx)
			if err != nil || n != 1 {
				t.Fatalf("taking over: claimed %d: %v", n, err)
			}
			got, err := taker.pg.Get(ctx, m.ID)
			if err != nil || (got.State != mailbox.StateSent && got.State != mailbox.StateConfirmed) {
				t.Fatalf("after the takeover: %s %v, want sent", got.State, err)
			}
			close(h.release)
			if err := <-done; err != nil {
				t.Fatalf("paused node's round: %v", err)
			}
			if paused.store.refused.Load() == refusedBefore {
				t.Fatal("the paused node's writes after the takeover were not refused with ErrLeaseLost")
			}
			after, err := taker.pg.Get(ctx, m.ID)
			if err != nil || after.State != got.State || after.LeaseToken != got.LeaseToken || after.UpdatedAt != got.UpdatedAt {
				t.Fatalf("the paused node changed the message after the takeover: %+v → %+v (%v)", got, after, err)
			}
			if a := w.accepted() - acceptedBefore; a != 1 {
				t.Fatalf("the simulator accepted %d storeDelivery orders for one message", a)
			}
			evs, err := taker.pg.MessageEvents(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			toSent := 0
			for _, e := range evs {
				if e.Kind == "state" && strings.Contains(e.Detail, `"to":"sent"`) {
					toSent++
				}
			}
			if toSent != 1 {
				t.Fatalf("%d transitions to sent in the journal, want 1", toSent)
			}
		})
	}
	if t.Failed() {
		return
	}

	// All three side by side.
	for i := range 12 {
		nodes[i%3].submit(t, w, msgs)
		msgs++
	}
	runAll(t, nodes, func(nd *omNode) (int, error) { return nd.sender(w, nil).RunOnce(ctx) })
	dialogs := &dialogCount{}
	runAll(t, nodes, func(nd *omNode) (int, error) { return dialogs.fetch(ctx, w, nd) })
	runAll(t, nodes, func(nd *omNode) (int, error) { return nd.deliverer(w).RunOnce(ctx) })
	if dialogs.most.Load() != 1 {
		t.Errorf("%d nodes held a fetch dialog of mailbox B at once", dialogs.most.Load())
	}
	if a := w.accepted(); a != msgs {
		t.Errorf("the simulator accepted %d storeDelivery orders for %d messages", a, msgs)
	}
	byID := map[string][]string{}
	for _, nd := range nodes {
		ents, err := os.ReadDir(nd.root)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("%s: unfinished intake entry %s", nd.name, e.Name())
				continue
			}
			byID[e.Name()] = append(byID[e.Name()], nd.name)
		}
	}
	if len(byID) != msgs {
		t.Errorf("%d messages in the intakes, want %d", len(byID), msgs)
	}
	for id, where := range byID {
		if len(where) != 1 {
			t.Errorf("message %s delivered %d times (%v)", id, len(where), where)
		}
	}
	for _, nd := range nodes {
		if r, err := mailbox.VerifyJournal(ctx, nd.pg); err != nil {
			t.Errorf("%s: journal: %v (%+v)", nd.name, err, r)
		}
	}
	states, err := nodes[2].pg.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		switch {
		case s.Direction == mailbox.Out && (s.State == mailbox.StateSent || s.State == mailbox.StateConfirmed),
			s.Direction == mailbox.In && s.State == mailbox.StateDelivered:
		default:
			t.Errorf("%d messages %s/%s after the run", s.N, s.Direction, s.State)
		}
	}
	t.Logf("%d messages; dialogs per node %v, %d attempts found it held; fenced writes refused at the paused node: %d", msgs, dialogs.perNode(nodes), dialogs.skipped.Load(), nodes[0].store.refused.Load())
}

// runAll runs round on every node side by side until a round of all of
// them found nothing to do.
func runAll(t *testing.T, nodes []*omNode, round func(*omNode) (int, error)) {
	t.Helper()
	for try := 0; ; try++ {
		if try == 50 {
			t.Fatal("work left after 50 rounds")
		}
		var wg sync.WaitGroup
		var total atomic.Int64
		for _, nd := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := round(nd)
				if err != nil {
					t.Errorf("%s: %v", nd.name, err)
				}
				total.Add(int64(n))
			}()
		}
		wg.Wait()
		if t.Failed() || total.Load() == 0 {
			return
		}
	}
}

// dialogCount runs fetch dialogs as the daemon's fetch loop does on a
// shared store (under the mailbox's dialog lock) and records how many
// were open at once.
type dialogCount struct {
	mu      sync.Mutex
	count   map[string]int
	most    atomic.Int32
	open    atomic.Int32
	skipped atomic.Int32 // attempts that found the dialog held
}

func (d *dialogCount) fetch(ctx context.Context, w *omWorld, nd *omNode) (int, error) {
	unlock, ok, err := nd.pg.TryLockDialog(ctx, omSafeB)
	if err != nil || !ok {
		if err == nil {
			d.skipped.Add(1)
		}
		return 0, err
	}
	defer unlock()
	n := d.open.Add(1)
	defer d.open.Add(-1)
	for m := d.most.Load(); n > m && !d.most.CompareAndSwap(m, n); m = d.most.Load() {
	}
	d.mu.Lock()
	if d.count == nil {
		d.count = map[string]int{}
	}
	d.count[nd.name]++
	d.mu.Unlock()
	f := &mailbox.Fetcher{Store: nd.store, Blobs: nd.blobs, Limit: 5, Now: w.clk.Now,
		Open: func(ctx context.Context, _ string) (mailbox.Session, error) { return nd.b.OpenSession(ctx) }}
	res, err := f.FetchMailbox(ctx, "B")
	return res.Stored, err
}

func (d *dialogCount) perNode(nodes []*omNode) []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for _, nd := range nodes {
		out = append(out, d.count[nd.name])
	}
	return out
}

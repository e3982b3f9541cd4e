package mailbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// fakeMailbox is a scripted test double of the intermediary's side of an
// explicit fetch dialog. A delivery counts as acknowledged when any request
// follows its fetch in the same dialog (OSCI Laufzettel: Reception).
type fakeMailbox struct {
	mu         sync.Mutex
	pending    []string
	deliveries map[string]*mailbox.Delivery
	bodies     map[string][]string // original, then documents
	fetchErr   map[string]error
	unreadable map[string]string // the delivery arrives but cannot be read, for this reason
	receiptErr map[string]error
	onReceipt  func(id string) // runs before the receipt is answered
	acked      map[string]int
	last       string
	transcript []string
}

// newFakeMailbox is a fake intermediary holding a valid delivery for each
// of ids, in that order.
func newFakeMailbox(ids ...string) *fakeMailbox {
	f := &fakeMailbox{deliveries: map[string]*mailbox.Delivery{}, bodies: map[string][]string{}, fetchErr: map[string]error{},
		unreadable: map[string]string{}, receiptErr: map[string]error{}, acked: map[string]int{}}
	for _, id := range ids {
		f.add(id, true)
	}
	return f
}

// add queues a delivery; valid=false gives it a failed verification report.
func (f *fakeMailbox) add(id string, valid bool) {
	rep := mailbox.VerificationReport{CheckedAt: t0, Verdict: checkresult.Valid, VHNPresent: true, Signatures: []mailbox.SignatureCheck{{
		Object: "OSCI-Nachricht", Kind: "vhn", Integrity: checkresult.OK, CertValidity: checkresult.Valid,
		Signer: "CN=Amtsgericht", Issuer: "CN=beBPo VHN CA", Serial: "0a", CheckedAt: t0}}}
	if !valid {
		rep.Signatures[0].Integrity = checkresult.Corrupted
		rep.Verdict, rep.Reason = checkresult.Invalid, mailbox.ReasonVerificationFailed
	}
	f.pending = append(f.pending, id)
	f.deliveries[id] = &mailbox.Delivery{MessageID: id, Sender: "DE.Justiz.ag", Recipient: "DE.BeBPo.erkelenz", Subject: "Ladung " + id,
		Meta: mailbox.IncomingMeta{Sender: mailbox.SenderIdentity{Claimed: mailbox.Party{SafeID: "DE.Justiz.ag", Name: "Amtsgericht Erkelenz"}}, UserSubject: "Ladung", Report: rep},
		Card: mailbox.ProcessCard{Creation: t0, Forwarding: t0.Add(time.Minute)}}
	f.bodies[id] = []string{"MIME original of " + id, "<xjustiz>" + id + "</xjustiz>", "%PDF " + id}
}

func (f *fakeMailbox) ack() {
	if f.last != "" {
		f.acked[f.last]++
		var keep []string
		for _, p := range f.pending {
			if p != f.last {
				keep = append(keep, p)
			}
		}
		f.pending, f.last = keep, ""
	}
}

// request records a session's request in the transcript, with f locked
// until the caller unlocks it; as at the intermediary, a request
// acknowledges the delivery fetched before it.
func (f *fakeMailbox) request(call string) {
	f.mu.Lock()
	f.ack()
	f.transcript = append(f.transcript, call)
}

// takeErr returns the error planned for id in errs once.
func takeErr(errs map[string]error, id string) error {
	err := errs[id]
	delete(errs, id)
	return err
}

func (f *fakeMailbox) open(ctx context.Context, mbox string) (mailbox.Session, error) {
	return &fakeSession{f}, nil
}

func (f *fakeMailbox) calls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := strings.Join(f.transcript, "; ")
	f.transcript = nil
	return s
}

type fakeSession struct{ f *fakeMailbox }

func (s *fakeSession) ListUndelivered(ctx context.Context) ([]string, error) {
	f := s.f
	f.request("list")
	defer f.mu.Unlock()
	return append([]string(nil), f.pending...), nil
}

func (s *fakeSession) FetchDelivery(ctx context.Context, id string) (*mailbox.Delivery, error) {
	f := s.f
	f.request("fetch " + id)
	defer f.mu.Unlock()
	if err := takeErr(f.fetchErr, id); err != nil {
		return nil, err
	}
	f.last = id
	if reason, ok := f.unreadable[id]; ok {
		return nil, &mailbox.UnreadableError{Original: strings.NewReader(f.bodies[id][0]), Reason: reason, Err: errors.New("osci: " + reason)}
	}
	d := *f.deliveries[id]
	b := f.bodies[id]
	d.Original = strings.NewReader(b[0])
	d.Documents = []mailbox.IncomingDocument{
		{Name: "xjustiz_nachricht.xml", ContentType: "application/xml", Role: mailbox.RoleStructured, Body: strings.NewReader(b[1])},
		{Name: "../001 Ladung.pdf", ContentType: "application/pdf", Body: strings.NewReader(b[2])},
	}
	return &d, nil
}

// receptionAt is when the fake intermediary records every reception.
var receptionAt = t0.Add(2 * time.Minute)

func (s *fakeSession) Receipt(ctx context.Context, id string) (mailbox.ProcessCard, error) {
	f := s.f
	f.mu.Lock()
	hook := f.onReceipt
	f.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	f.request("receipt " + id)
	defer f.mu.Unlock()
	if err := takeErr(f.receiptErr, id); err != nil {
		return mailbox.ProcessCard{}, err
	}
	return f.card(id), nil
}

// card is the process card of delivery id after its reception.
func (f *fakeMailbox) card(id string) mailbox.ProcessCard {
	c := f.deliveries[id].Card
	c.OSCIMessageID, c.Reception = id, receptionAt
	return c
}

func (s *fakeSession) Exit(ctx context.Context) error {
	s.f.request("exit")
	defer s.f.mu.Unlock()
	return nil
}

func (s *fakeSession) Abandon() {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.last = ""
	s.f.transcript = append(s.f.transcript, "abandon")
}

// fullDisk fails blob creation from the n-th file on while full is set.
type fullDisk struct {
	mailbox.OSFS
	mu      sync.Mutex
	creates int
	failAt  int
}

func (d *fullDisk) CreateTemp(dir, pattern string) (mailbox.WriteFile, error) {
	d.mu.Lock()
	d.creates++
	fail := d.failAt > 0 && d.creates >= d.failAt
	d.mu.Unlock()
	if fail {
		return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.ENOSPC}
	}
	return d.OSFS.CreateTemp(dir, pattern)
}

func (d *fullDisk) set(failAt int) { d.mu.Lock(); d.creates, d.failAt = 0, failAt; d.mu.Unlock() }

func TestFetchEngine(t *testing.T) {
	e := newEnv(t)
	disk := &fullDisk{}
	blobs, err := mailbox.OpenBlobs(e.dir+"/blobs", disk)
	if err != nil {
		t.Fatal(err)
	}
	peer := newFakeMailbox()
	fe := &mailbox.Fetcher{Store: e.store, Blobs: blobs, Open: peer.open, Now: e.clk.Now}
	const mbox = "DE.BeBPo.erkelenz"

	// 1. Two deliveries: each durable before the next request acknowledges it.
	peer.add("govapp_a", true)
	peer.add("govapp_b", false)
	res, err := fe.FetchMailbox(ctx, mbox)
	if err != nil || res.Stored != 2 {
		t.Fatalf("first dialog: %+v %v", res, err)
	}
	if c := peer.calls(); c != "list; fetch govapp_a; receipt govapp_a; fetch govapp_b; receipt govapp_b; exit" {
		t.Fatalf("transcript %s", c)
	}
	for _, id := range []string{"govapp_a", "govapp_b"} {
		m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, id)
		if err != nil || m.State != mailbox.StateReceived || len(m.Documents) != 3 || peer.acked[id] != 1 {
			t.Fatalf("%s: %+v %v acked=%d", id, m, err, peer.acked[id])
		}
		for _, d := range m.Documents {
			if err := blobs.Verify(d.SHA256); err != nil {
				t.Fatalf("%s/%s: %v", id, d.Name, err)
			}
		}
	}

	// 2. Disk full on the second delivery: abandoned, not acknowledged.
	peer.add("govapp_c", true)
	peer.add("govapp_d", true)
	disk.set(4) // c takes three blobs, d's first fails
	res, err = fe.FetchMailbox(ctx, mbox)
	if !errors.Is(err, mailbox.ErrDiskFull) || res.Stored != 1 {
		t.Fatalf("disk full: %+v %v, want ErrDiskFull after one stored", res, err)
	}
	if c := peer.calls(); c != "list; fetch govapp_c; receipt govapp_c; fetch govapp_d; abandon" {
		t.Fatalf("transcript %s", c)
	}
	if peer.acked["govapp_d"] != 0 {
		t.Fatal("delivery acknowledged although it was not stored")
	}
	if _, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, "govapp_d"); !errors.Is(err, mailbox.ErrNotFound) {
		t.Fatalf("govapp_d stored: %v", err)
	}
	// Space returns: the next dialog picks it up without a restart.
	disk.set(0)
	if res, err = fe.FetchMailbox(ctx, mbox); err != nil || res.Stored != 1 {
		t.Fatalf("after space returned: %+v %v", res, err)
	}
	if c := peer.calls(); c != "list; fetch govapp_d; receipt govapp_d; exit" {
		t.Fatalf("transcript %s", c)
	}

	// 3. A delivery stored but not acknowledged (crash before the next
	// request) comes again: stored once, acknowledged now.
	peer.add("govapp_e", true)
	s, _ := peer.open(ctx, mbox)
	s.ListUndelivered(ctx)
	d, _ := s.FetchDelivery(ctx, "govapp_e")
	fe2 := &mailbox.Fetcher{Store: e.store, Blobs: blobs, Open: func(context.Context, string) (mailbox.Session, error) {
		return &onceSession{d: d}, nil
	}, Now: e.clk.Now}
	// The process stops before its receipt order goes out.
	if res, err := fe2.FetchMailbox(ctx, mbox); err == nil || res.Stored != 1 || res.ReceiptFailures != 1 {
		t.Fatalf("stored before the stop: %+v %v", res, err)
	}
	s.Abandon()
	peer.calls()
	// Handed out again, the transport envelope differs (fresh encryption);
	// the documents do not.
	peer.bodies["govapp_e"][0] = "re-encrypted original of govapp_e"
	res, err = fe.FetchMailbox(ctx, mbox)
	if err != nil || res.Duplicates != 1 || res.Stored != 0 || peer.acked["govapp_e"] != 1 {
		t.Fatalf("redelivery: %+v %v acked=%d", res, err, peer.acked["govapp_e"])
	}
	if ms, _ := e.store.List(ctx, mailbox.Filter{Direction: mailbox.In, Limit: 100}); len(ms) != 5 {
		t.Fatalf("%d incoming rows, want 5", len(ms))
	}
	if res.Conflicts != 0 {
		t.Fatalf("re-encrypted redelivery counted as conflict")
	}
	// The redelivery's receipt completes the stored row's Laufzettel.
	em, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, "govapp_e")
	if pc, err := e.store.ProcessCard(ctx, em.ID); err != nil || !pc.Reception.Equal(receptionAt) || !pc.Creation.Equal(t0) || res.Receipts != 1 {
		t.Fatalf("card after redelivery: %+v %v (receipts %d)", pc, err, res.Receipts)
	}

	// 4. Same MessageId, other documents: kept out, counted and journaled.
	// Other MessageId, documents already stored: stored, flagged.
	peer.add("govapp_e", true)
	peer.bodies["govapp_e"][2] = "%PDF forged"
	peer.add("govapp_g", true)
	peer.bodies["govapp_g"] = append([]string(nil), peer.bodies["govapp_a"]...)
	res, err = fe.FetchMailbox(ctx, mbox)
	if err != nil || res.Conflicts != 1 || res.Stored != 1 || res.SameContent != 1 {
		t.Fatalf("conflict and same content: %+v %v", res, err)
	}
	if g, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, "govapp_g"); g.State != mailbox.StateReceived || g.SameContentAs != "govapp_a" {
		t.Fatalf("same content: %s %q", g.State, g.SameContentAs)
	}
	peer.calls()

	// 5. A response that cannot be processed: abandon, store nothing.
	peer.add("govapp_f", true)
	peer.fetchErr["govapp_f"] = errors.New("osci: decrypt failed")
	peer.calls()
	if _, err := fe.FetchMailbox(ctx, mbox); err == nil {
		t.Fatal("fetch error not reported")
	}
	if c := peer.calls(); c != "list; fetch govapp_f; abandon" {
		t.Fatalf("transcript %s", c)
	}
}

// onceSession hands out one already fetched delivery (the first process
// that stored it before crashing).
type onceSession struct{ d *mailbox.Delivery }

func (o *onceSession) ListUndelivered(context.Context) ([]string, error) {
	return []string{o.d.MessageID}, nil
}
func (o *onceSession) FetchDelivery(context.Context, string) (*mailbox.Delivery, error) {
	return o.d, nil
}
func (o *onceSession) Receipt(context.Context, string) (mailbox.ProcessCard, error) {
	return mailbox.ProcessCard{}, errors.New("process stopped")
}
func (o *onceSession) Exit(context.Context) error { return nil }
func (o *onceSession) Abandon()                   {}

// TestFetchReceipt: after each stored delivery the next order is its
// receipt; the card with Reception is stored before the intake can claim
// the row, and a receipt that fails loses and duplicates nothing.
func TestFetchReceipt(t *testing.T) {
	const mbox = "DE.BeBPo.erkelenz"
	tests := []struct {
		name       string
		receiptErr error // for govapp_1
		wantErr    bool
		transcript string
		stored     int
		receipts   int
		reception  bool     // govapp_1's stored card has Reception
		kinds      []string // govapp_1's journal
	}{
		{"reception stored", nil, false, "list; fetch govapp_1; receipt govapp_1; fetch govapp_2; receipt govapp_2; exit",
			2, 2, true, []string{"received", "process_card"}},
		{"no card in the answer (9804)", &mailbox.PeerError{Class: mailbox.Permanent, FeedbackCode: "9804", Missing: true,
			Err: fmt.Errorf("%w: 9804", mailbox.ErrNoReceipt)}, false,
			"list; fetch govapp_1; receipt govapp_1; fetch govapp_2; receipt govapp_2; exit",
			2, 1, false, []string{"received", "receipt_failed", "process_card"}},
		{"dialog broken by the receipt", &mailbox.PeerError{Class: mailbox.Ambiguous, Err: errors.New("connection reset")}, true,
			"list; fetch govapp_1; receipt govapp_1; abandon",
			1, 0, false, []string{"received", "receipt_failed", "process_card"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			peer := newFakeMailbox("govapp_1", "govapp_2")
			if tc.receiptErr != nil {
				peer.receiptErr["govapp_1"] = tc.receiptErr
			}
			// An intake engine claiming while the receipt is on its way
			// must not get the row yet.
			early, claimed := 0, 0
			peer.onReceipt = func(id string) {
				ms, err := e.store.ClaimDue(ctx, mailbox.In, e.clk.Now(), "intake", time.Minute, 10)
				if err != nil {
					t.Error(err)
				}
				for _, m := range ms {
					if m.OSCIMessageID == id {
						early++
					}
				}
				claimed += len(ms)
			}
			fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now}
			res, err := fe.FetchMailbox(ctx, mbox)
			if (err != nil) != tc.wantErr || res.Stored != tc.stored || res.Receipts != tc.receipts {
				t.Fatalf("result %+v, err %v", res, err)
			}
			if tc.wantErr && !errors.Is(err, tc.receiptErr) {
				t.Fatalf("err %v does not wrap %v", err, tc.receiptErr)
			}
			if c := peer.calls(); c != tc.transcript {
				t.Fatalf("transcript %s", c)
			}
			if early != 0 {
				t.Fatalf("intake claimed %d rows before their receipt", early)
			}
			m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, "govapp_1")
			if err != nil {
				t.Fatal(err)
			}
			pc, err := e.store.ProcessCard(ctx, m.ID)
			if err != nil || pc.Reception.IsZero() == tc.reception || !pc.Creation.Equal(t0) || !pc.Forwarding.Equal(t0.Add(time.Minute)) {
				t.Fatalf("card %+v: %v", pc, err)
			}
			if got := e.kinds(t, m.ID); strings.Join(got, ",") != strings.Join(tc.kinds, ",") {
				t.Fatalf("journal %v, want %v", got, tc.kinds)
			}
			// Released at once, with or without Reception: the intake
			// claims every stored row now.
			ms, err := e.store.ClaimDue(ctx, mailbox.In, e.clk.Now(), "intake", time.Minute, 10)
			if err != nil || claimed+len(ms) != tc.stored {
				t.Fatalf("claimed %d+%d of %d stored rows: %v", claimed, len(ms), tc.stored, err)
			}
		})
	}
}

// TestFetchStopBeforeReceipt: a process that stops between storing a
// delivery and its receipt leaves the row held; the hold runs out by
// itself, and the redelivery's receipt fills in Reception.
func TestFetchStopBeforeReceipt(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_s")
	const mbox = "mb"
	s, _ := peer.open(ctx, mbox)
	s.ListUndelivered(ctx)
	d, _ := s.FetchDelivery(ctx, "govapp_s")
	stop := errors.New("process stopped")
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, ReceiptWait: time.Minute, Now: e.clk.Now,
		Open: func(context.Context, string) (mailbox.Session, error) {
			return &stoppingSession{onceSession{d: d}, e, stop}, nil
		}}
	if res, err := fe.FetchMailbox(ctx, mbox); err == nil || res.Stored != 1 {
		t.Fatalf("stopped dialog: %+v %v", res, err)
	}
	e.reopen(t)
	s.Abandon()
	peer.calls()
	m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, "govapp_s")
	if err != nil || m.State != mailbox.StateReceived || !m.NextAttemptAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("held row %+v: %v", m, err)
	}
	if ms, _ := e.store.ClaimDue(ctx, mailbox.In, t0.Add(59*time.Second), "intake", time.Minute, 10); len(ms) != 0 {
		t.Fatal("held row claimed before the hold ran out")
	}
	// The next poll finds it unacknowledged: a duplicate whose receipt
	// completes the card and releases the row.
	e.clk.Add(10 * time.Second)
	if res := e.fetch(t, peer, mbox); res.Duplicates != 1 || res.Receipts != 1 {
		t.Fatalf("redelivery %+v", res)
	}
	if pc, _ := e.store.ProcessCard(ctx, m.ID); !pc.Reception.Equal(receptionAt) {
		t.Fatalf("card %+v", pc)
	}
	if ms, _ := e.store.ClaimDue(ctx, mailbox.In, e.clk.Now(), "intake", time.Minute, 10); len(ms) != 1 {
		t.Fatalf("released row not claimed: %d", len(ms))
	}
}

// stoppingSession is a process that stops (its store closes) just before
// the receipt order would go out.
type stoppingSession struct {
	onceSession
	e    *env
	stop error
}

func (s *stoppingSession) Receipt(context.Context, string) (mailbox.ProcessCard, error) {
	s.e.store.Close()
	return mailbox.ProcessCard{}, s.stop
}

package mailbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var jsonUnmarshal = json.Unmarshal

// peerErr is an error as the OSCI client reports it.
type peerErr struct {
	code                     string
	temporary, ambiguous, nf bool
}

func (e peerErr) Error() string   { return "osci: " + e.code }
func (e peerErr) Temporary() bool { return e.temporary }
func (e peerErr) Ambiguous() bool { return e.ambiguous }
func (e peerErr) NotFound() bool  { return e.nf }
func (e peerErr) Code() string    { return e.code }

var (
	errBusy          = peerErr{code: "9000", temporary: true} // internal supplier error before processing
	errBadSig        = peerErr{code: "9601"}                  // permanent
	errTimeout       = peerErr{code: "timeout", temporary: true, ambiguous: true}
	errNoCard        = peerErr{code: "9804", nf: true}
	errRefused       = peerErr{code: "connect", temporary: true}
	errAcceptThenCut = errors.New("script: accept, then lose the response")
	// A transport that calls every HTTP failure temporary, as a 502 from a
	// proxy after the intermediary stored the delivery would be.
	errAcceptThenCutTemporary = errors.New("script: accept, then fail temporarily")
)

// fakeIntermediary is a scripted test double of the network peer: it
// issues MessageIds, accepts deliveries (recording how often each
// MessageId was accepted) and answers process card requests from what it
// accepted. Scripts give the outcome of the n-th call of each kind.
type fakeIntermediary struct {
	mu          sync.Mutex
	next        int
	getScript   []error
	storeScript []error
	cardScript  []error
	accepted    map[string]int
	bodies      map[string]string
	metas       map[string]string
	received    map[string]time.Time
	transcript  []string
	now         func() time.Time
}

func newFake(now func() time.Time) *fakeIntermediary {
	return &fakeIntermediary{accepted: map[string]int{}, bodies: map[string]string{}, metas: map[string]string{}, received: map[string]time.Time{}, now: now}
}

func pop(s *[]error) error {
	if len(*s) == 0 {
		return nil
	}
	e := (*s)[0]
	*s = (*s)[1:]
	return e
}

func (f *fakeIntermediary) GetMessageID(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transcript = append(f.transcript, "getMessageId")
	if err := pop(&f.getScript); err != nil {
		return "", err
	}
	f.next++
	return fmt.Sprintf("govapp_%04d", f.next), nil
}

func (f *fakeIntermediary) StoreDelivery(ctx context.Context, d *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transcript = append(f.transcript, "storeDelivery "+d.MessageID)
	err := pop(&f.storeScript)
	if err != nil && err != errAcceptThenCut && err != errAcceptThenCutTemporary {
		return mailbox.ProcessCard{}, err
	}
	if f.accepted[d.MessageID] > 0 {
		return mailbox.ProcessCard{}, peerErr{code: "9801"} // MessageId already used
	}
	var body strings.Builder
	for _, doc := range d.Documents {
		r, oerr := doc.Open()
		if oerr != nil {
			return mailbox.ProcessCard{}, oerr
		}
		io.Copy(&body, r)
		r.Close()
	}
	f.accepted[d.MessageID]++
	f.bodies[d.MessageID] = body.String()
	f.metas[d.MessageID] = string(d.Meta)
	if err == errAcceptThenCut {
		return mailbox.ProcessCard{}, errTimeout
	}
	if err == errAcceptThenCutTemporary {
		return mailbox.ProcessCard{}, peerErr{code: "http502", temporary: true}
	}
	return mailbox.ProcessCard{OSCIMessageID: d.MessageID, Creation: f.now(), Subject: d.Subject}, nil
}

func (f *fakeIntermediary) FetchProcessCard(ctx context.Context, id string) (mailbox.ProcessCard, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transcript = append(f.transcript, "fetchProcessCard "+id)
	if err := pop(&f.cardScript); err != nil {
		return mailbox.ProcessCard{}, err
	}
	if f.accepted[id] == 0 {
		return mailbox.ProcessCard{}, errNoCard
	}
	return mailbox.ProcessCard{OSCIMessageID: id, Creation: t0, Reception: f.received[id]}, nil
}

func (f *fakeIntermediary) calls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.transcript, "; ")
}

var testPolicy = mailbox.RetryPolicy{Initial: time.Minute, Factor: 2, Max: 10 * time.Minute, Lifetime: time.Hour}

func newSender(e *env, f *fakeIntermediary) *mailbox.Sender {
	return &mailbox.Sender{Store: e.store, Blobs: e.blobs, Policy: testPolicy,
		Confirm:   mailbox.RetryPolicy{Initial: 5 * time.Minute, Factor: 2, Max: time.Hour, Lifetime: 24 * time.Hour},
		Transport: func(mailbox.Message) (mailbox.Transport, error) { return f, nil },
		Owner:     "sender-1", Lease: time.Minute, Now: e.clk.Now}
}

func submit(t *testing.T, e *env, body string) mailbox.Message {
	t.Helper()
	m, err := mailbox.Submit(ctx, e.store, e.blobs, mailbox.NewOutgoing{Mailbox: "DE.BeBPo.erkelenz", Recipient: "DE.Justiz.ag-erkelenz", Subject: "Antrag", Meta: []byte(`{"caseNumberRecipient":"1 C 2/26"}`), Now: e.clk.Now()}, []mailbox.Part{{Name: "Antrag.pdf", ContentType: "application/pdf", Body: strings.NewReader(body)}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func run(t *testing.T, s *mailbox.Sender) {
	t.Helper()
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
}

func TestSendEngine(t *testing.T) {
	tests := []struct {
		name        string
		get, store  []error
		card        []error
		runs        int // RunOnce calls, the clock advancing 11 minutes between them
		wantState   mailbox.State
		wantCode    string
		wantCalls   string
		wantAccepts int
	}{
		{name: "accepted at once", runs: 1, wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001"},
		{name: "temporary getMessageId then success", get: []error{errBusy}, runs: 2, wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; getMessageId; storeDelivery govapp_0001"},
		{name: "permanent refusal parks with code", store: []error{errBadSig}, runs: 2, wantState: mailbox.StateFailed, wantCode: "9601",
			wantCalls: "getMessageId; storeDelivery govapp_0001"},
		{name: "temporary refusal resends same MessageId after lookup", store: []error{errRefused}, runs: 2, wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001; storeDelivery govapp_0001"},
		{name: "temporary error after acceptance is not a second send", store: []error{errAcceptThenCutTemporary}, runs: 2, wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001"},
		{name: "peer error adapter", store: []error{&mailbox.PeerError{Class: mailbox.Permanent, FeedbackCode: "9602", Err: errors.New("osci: feedback 9602")}}, runs: 1,
			wantState: mailbox.StateFailed, wantCode: "9602", wantCalls: "getMessageId; storeDelivery govapp_0001"},
		{name: "ambiguous after acceptance asks the process card, never resends", store: []error{errAcceptThenCut}, runs: 2,
			wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001"},
		{name: "ambiguous before acceptance resends after lookup", store: []error{errTimeout}, runs: 2,
			wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001; storeDelivery govapp_0001"},
		{name: "lookup fails, asked again later", store: []error{errAcceptThenCut}, card: []error{errRefused}, runs: 3,
			wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001; fetchProcessCard govapp_0001"},
		{name: "9801 on a resend means the first one arrived: keep asking", store: []error{errAcceptThenCut}, card: []error{errNoCard}, runs: 3,
			wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001; storeDelivery govapp_0001; fetchProcessCard govapp_0001"},
		{name: "unknown error counts as ambiguous", store: []error{errors.New("tls: bad record")}, runs: 2,
			wantState: mailbox.StateSent, wantAccepts: 1,
			wantCalls: "getMessageId; storeDelivery govapp_0001; fetchProcessCard govapp_0001; storeDelivery govapp_0001"},
		{name: "lifetime over while unresolved keeps asking", store: []error{errTimeout}, card: []error{errRefused, errRefused, errRefused, errRefused, errRefused, errRefused, errRefused}, runs: 8,
			wantState: mailbox.StateSending, wantCode: "connect",
			wantCalls: "getMessageId; storeDelivery govapp_0001" + strings.Repeat("; fetchProcessCard govapp_0001", 7)},
		{name: "lifetime exhausted parks", get: []error{errBusy, errBusy, errBusy, errBusy, errBusy, errBusy, errBusy, errBusy}, runs: 7,
			wantState: mailbox.StateFailed, wantCode: "9000",
			wantCalls: "getMessageId; getMessageId; getMessageId; getMessageId; getMessageId; getMessageId; getMessageId"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			f := newFake(e.clk.Now)
			f.getScript, f.storeScript, f.cardScript = tc.get, tc.store, tc.card
			s := newSender(e, f)
			m := submit(t, e, "PDF "+tc.name)
			for i := 0; i < tc.runs; i++ {
				run(t, s)
				e.clk.Add(11 * time.Minute)
			}
			got := e.get(t, m.ID)
			if got.State != tc.wantState {
				t.Fatalf("state %s (%s %s), want %s", got.State, got.LastErrorCode, got.LastErrorText, tc.wantState)
			}
			if tc.wantCode != "" && got.LastErrorCode != tc.wantCode {
				t.Errorf("error code %q, want %q", got.LastErrorCode, tc.wantCode)
			}
			if got := f.calls(); got != tc.wantCalls {
				t.Errorf("transcript\n got %s\nwant %s", got, tc.wantCalls)
			}
			for id, n := range f.accepted {
				if n > 1 {
					t.Errorf("MessageId %s accepted %d times", id, n)
				}
			}
			if tc.wantAccepts > 0 {
				if f.accepted[got.OSCIMessageID] != tc.wantAccepts || f.bodies[got.OSCIMessageID] != "PDF "+tc.name ||
					f.metas[got.OSCIMessageID] != `{"caseNumberRecipient":"1 C 2/26"}` {
					t.Errorf("accepted %v bodies %v", f.accepted, f.bodies)
				}
				if c, err := e.store.ProcessCard(ctx, m.ID); err != nil || c.Creation.IsZero() {
					t.Errorf("process card %+v %v", c, err)
				}
			}
			if r, err := mailbox.VerifyJournal(ctx, e.store); err != nil {
				t.Errorf("journal: %+v %v", r, err)
			}
		})
	}
}

// stallingTransport blocks every request until release is closed.
type stallingTransport struct {
	*fakeIntermediary
	entered chan struct{}
	release chan struct{}
}

func (s stallingTransport) GetMessageID(ctx context.Context) (string, error) {
	s.entered <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.fakeIntermediary.GetMessageID(ctx)
}

// TestSilentIntermediaryHoldsUpOnlyItsOwnLane: messages to an
// intermediary that does not answer wait in their lane, while the
// messages to another intermediary in the same round are sent.
func TestSilentIntermediaryHoldsUpOnlyItsOwnLane(t *testing.T) {
	e := newEnv(t)
	fast := newFake(e.clk.Now)
	slow := stallingTransport{newFake(e.clk.Now), make(chan struct{}, 8), make(chan struct{})}
	slow.next = 100 // another intermediary issues other MessageIds
	toSlow := submit(t, e, "an das Gericht")
	toFast := submit(t, e, "an die Behörde")
	s := newSender(e, fast)
	s.Lane = func(m mailbox.Message) string {
		return map[bool]string{true: "justiz", false: "bebpo"}[m.ID == toSlow.ID]
	}
	s.Transport = func(m mailbox.Message) (mailbox.Transport, error) {
		if s.Lane(m) == "justiz" {
			return slow, nil
		}
		return fast, nil
	}
	done := make(chan error, 1)
	go func() { _, err := s.RunOnce(ctx); done <- err }()
	<-slow.entered
	deadline := time.After(10 * time.Second)
	for {
		m, err := e.store.Get(ctx, toFast.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.State == mailbox.StateSent {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("the message to the answering intermediary is %s while the other lane waits", m.State)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m, _ := e.store.Get(ctx, toSlow.ID); m.State != mailbox.StateSent {
		t.Errorf("the message to the slow intermediary is %s after it answered", m.State)
	}
}

// retryAtErr is a temporary error that says when to come back, as an
// intermediary's open circuit does.
type retryAtErr struct{ at time.Time }

func (e retryAtErr) Error() string      { return "circuit open" }
func (e retryAtErr) Temporary() bool    { return true }
func (e retryAtErr) RetryAt() time.Time { return e.at }
func (e retryAtErr) Code() string       { return "circuit_open" }

// TestOutageEndsAtItsRetryTime: a message refused at once by an open
// circuit is due when the circuit lets requests through again, not at its
// (longer) back-off; a later hint never stretches the back-off.
func TestOutageEndsAtItsRetryTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{{"hint before the back-off", 10 * time.Second, 10 * time.Second}, {"hint after the back-off", time.Hour, testPolicy.Initial}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			f := newFake(e.clk.Now)
			f.getScript = []error{retryAtErr{e.clk.Now().Add(tc.after)}}
			m := submit(t, e, "Klage "+tc.name)
			run(t, newSender(e, f))
			got, err := e.store.Get(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != mailbox.StateQueued || got.LastErrorCode != "circuit_open" || got.NextAttemptAt.Sub(e.clk.Now()) > tc.want {
				t.Errorf("state %s code %s next in %s, want queued, circuit_open, at most %s", got.State, got.LastErrorCode, got.NextAttemptAt.Sub(e.clk.Now()), tc.want)
			}
		})
	}
}

package mailbox_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// batchingFake is the fake intermediary with fetchProcessCard for several
// MessageIds in one request (mailbox.CardBatcher).
type batchingFake struct {
	*fakeIntermediary
	fail error // the next batch fails with this
}

func (b *batchingFake) FetchProcessCards(ctx context.Context, ids []string) (map[string]mailbox.ProcessCard, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sorted := append([]string(nil), ids...)
	sort.Strings(sorted)
	b.transcript = append(b.transcript, "fetchProcessCards "+strings.Join(sorted, ","))
	if err := b.fail; err != nil {
		b.fail = nil
		return nil, err
	}
	out := map[string]mailbox.ProcessCard{}
	for _, id := range ids {
		if b.accepted[id] > 0 && id != "govapp_0003" { // the intermediary leaves one out
			out[id] = mailbox.ProcessCard{OSCIMessageID: id, Creation: t0, Reception: b.received[id]}
		}
	}
	return out, nil
}

// TestSentMessagesConfirmedInOneRequest: the process cards of a round's
// sent messages come in one request; a message the answer leaves out asks
// on its own, and a failed batch defers its messages as a failed poll
// would.
func TestSentMessagesConfirmedInOneRequest(t *testing.T) {
	e := newEnv(t)
	b := &batchingFake{fakeIntermediary: newFake(e.clk.Now)}
	s := newSender(e, b.fakeIntermediary)
	s.Transport = func(mailbox.Message) (mailbox.Transport, error) { return b, nil }
	var ids []int64
	for i := range 3 {
		ids = append(ids, submit(t, e, fmt.Sprintf("Schriftsatz %d", i)).ID)
	}
	run(t, s)
	for _, id := range []string{"govapp_0001", "govapp_0002", "govapp_0003"} {
		b.received[id] = e.clk.Now()
	}
	b.fail = errTimeout
	b.transcript = nil
	e.clk.Add(6 * time.Minute)
	run(t, s)
	if c := b.calls(); c != "fetchProcessCards govapp_0001,govapp_0002,govapp_0003" {
		t.Fatalf("a failed batch: %s", c)
	}
	for _, id := range ids {
		if m := e.get(t, id); m.State != mailbox.StateSent || m.LastErrorCode != "timeout" {
			t.Fatalf("after a failed batch: %s %q", m.State, m.LastErrorCode)
		}
	}
	b.transcript = nil
	e.clk.Add(time.Hour)
	run(t, s)
	if c := b.calls(); c != "fetchProcessCards govapp_0001,govapp_0002,govapp_0003; fetchProcessCard govapp_0003" {
		t.Fatalf("requests: %s", c)
	}
	for _, id := range ids {
		if m := e.get(t, id); m.State != mailbox.StateConfirmed {
			t.Errorf("message %d: %s", id, m.State)
		}
	}
}

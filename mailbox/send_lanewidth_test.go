package mailbox_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestLaneWidthSendsSideBySide: with LaneWidth 3, three messages of one
// lane are in flight at once (their MessageId requests wait together),
// the fourth starts only when one of them is done, and every message is
// sent exactly once.
func TestLaneWidthSendsSideBySide(t *testing.T) {
	e := newEnv(t)
	tr := stallingTransport{newFake(e.clk.Now), make(chan struct{}, 8), make(chan struct{})}
	var ids []int64
	for i := range 4 {
		ids = append(ids, submit(t, e, fmt.Sprintf("Schriftsatz %d", i)).ID)
	}
	s := newSender(e, tr.fakeIntermediary)
	s.Transport = func(mailbox.Message) (mailbox.Transport, error) { return tr, nil }
	s.LaneWidth = 3
	done := make(chan error, 1)
	go func() { _, err := s.RunOnce(ctx); done <- err }()
	for i := range 3 {
		select {
		case <-tr.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of 3 messages of the lane in flight", i)
		}
	}
	select {
	case <-tr.entered:
		t.Fatal("a fourth message started beyond the lane's width")
	case <-time.After(50 * time.Millisecond):
	}
	close(tr.release)
	<-tr.entered // the fourth, once a slot is free
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		m, err := e.store.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != mailbox.StateSent || tr.accepted[m.OSCIMessageID] != 1 {
			t.Errorf("message %d: %s, accepted %d times", id, m.State, tr.accepted[m.OSCIMessageID])
		}
	}
}

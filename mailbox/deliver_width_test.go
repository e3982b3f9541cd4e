package mailbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// barrierSink lets a hand-over finish only once n are under way at once.
type barrierSink struct {
	mailbox.Intake
	entered chan struct{}
	n       int
}

func (b *barrierSink) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	b.entered <- struct{}{}
	deadline := time.After(5 * time.Second)
	for len(b.entered) < b.n {
		select {
		case <-deadline:
			return mailbox.IntakeRecord{}, errors.New("the other hand-overs did not start beside this one")
		case <-time.After(time.Millisecond):
		}
	}
	return b.Intake.Deliver(ctx, m)
}

// TestDelivererWidthHandsOverSideBySide: with Width 3, three received
// messages are handed to the intake at once, and each is delivered once.
func TestDelivererWidthHandsOverSideBySide(t *testing.T) {
	const mbox = "DE.BeBPo.erkelenz"
	e := newEnv(t)
	ids := []string{"govapp_1", "govapp_2", "govapp_3"}
	peer := newFakeMailbox(ids...)
	e.fetch(t, peer, mbox)
	folder, _ := e.folderIntake(t)
	sink := &barrierSink{Intake: folder, entered: make(chan struct{}, 3), n: 3}
	d := &mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: sink, Width: 3, Now: e.clk.Now}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, id)
		if err != nil || m.State != mailbox.StateDelivered {
			t.Errorf("%s: %s %q %v", id, m.State, m.LastErrorText, err)
		}
	}
}

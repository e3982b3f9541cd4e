package osciendpoint

import (
	"context"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// orders names the orders in the simulator's log lines, in order.
func orders(lines []string) string {
	var out []string
	for _, l := range lines {
		for _, ty := range []osci.MessageType{osci.TypeInitDialog, osci.TypeExitDialog, osci.TypeFetchProcessCard, osci.TypeFetchDelivery} {
			if strings.Contains(l, ": "+ty.String()+" ") {
				out = append(out, ty.String())
			}
		}
	}
	return strings.Join(out, " ")
}

// TestIdlePollsContinueOneDialog: after a poll that found nothing, the
// dialog stays open and the next poll continues it with one order (no
// initDialog, no exitDialog); when the kept dialog fails (here a SOAP
// fault, as for a dialog the intermediary has ended), the listing goes to
// a fresh dialog and the poll succeeds. A delivery fetched in a kept
// dialog is stored and received as in a fresh one.
func TestIdlePollsContinueOneDialog(t *testing.T) {
	e := newOMEnv(t, intermediary.Fault{Type: osci.TypeFetchProcessCard, Nth: 3, Kind: intermediary.FaultSOAP, Code: osci.CodeInternal})
	e.b.mb.cfg.KeepIdleDialogs = true
	ctx := context.Background()
	poll := func(stored int) string {
		t.Helper()
		if res, err := e.fetcher().FetchMailbox(ctx, "B"); err != nil || res.Stored != stored {
			t.Fatalf("poll: %+v %v", res, err)
		}
		return orders(e.log.take())
	}
	init, list := osci.TypeInitDialog.String(), osci.TypeFetchProcessCard.String()
	if got := poll(0); got != init+" "+list {
		t.Errorf("first poll: %s", got)
	}
	if got := poll(0); got != list {
		t.Errorf("idle poll in the kept dialog: %s", got)
	}
	if got := poll(0); !strings.HasSuffix(got, init+" "+list) {
		t.Errorf("poll after the kept dialog failed: %s", got)
	}
	e.send(t, 1)
	e.log.take()
	if got := poll(1); got != list+" "+osci.TypeFetchDelivery.String()+" "+list {
		t.Errorf("poll with a delivery: %s", got)
	}
	in, err := e.b.store.List(ctx, mailbox.Filter{Direction: mailbox.In})
	if err != nil || len(in) != 1 {
		t.Fatalf("%d received: %v", len(in), err)
	}
	if pc, err := e.b.store.ProcessCard(ctx, in[0].ID); err != nil || pc.Reception.IsZero() {
		t.Errorf("the delivery fetched in the kept dialog: card %+v %v", pc, err)
	}
}

// TestSharedStorePollsEndTheirDialogs: without KeepIdleDialogs (gateways
// sharing one store) every poll opens and ends its own dialog, so that no
// dialog stays open for a mailbox another gateway may poll next.
func TestSharedStorePollsEndTheirDialogs(t *testing.T) {
	e := newOMEnv(t)
	ctx := context.Background()
	want := strings.Join([]string{osci.TypeInitDialog.String(), osci.TypeFetchProcessCard.String(), osci.TypeExitDialog.String()}, " ")
	for i := range 2 {
		if res, err := e.fetcher().FetchMailbox(ctx, "B"); err != nil || res.Stored != 0 {
			t.Fatalf("poll %d: %+v %v", i, res, err)
		}
		if got := orders(e.log.take()); got != want {
			t.Errorf("poll %d: %s, want %s", i, got, want)
		}
	}
}

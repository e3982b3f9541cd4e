package mailbox_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestSelfAddressedMessageReachesIntake: a mailbox that sends to its own
// SAFE-ID (operators test this way) fetches its own message; the incoming
// copy is a message of its own, stored and handed to the intake, not taken
// for a duplicate of the outgoing copy under the same MessageId.
func TestSelfAddressedMessageReachesIntake(t *testing.T) {
	e := newEnv(t)
	const mbox = "DE.BeBPo.erkelenz"
	out := submit(t, e, "%PDF note to self")
	run(t, newSender(e, newFake(e.clk.Now)))
	out = e.get(t, out.ID)
	if out.State != mailbox.StateSent || out.OSCIMessageID == "" {
		t.Fatalf("outgoing copy: %s %q", out.State, out.OSCIMessageID)
	}
	id := out.OSCIMessageID

	peer := newFakeMailbox()
	peer.add(id, true)
	fe := &mailbox.Fetcher{Store: e.store, Blobs: e.blobs, Open: peer.open, Now: e.clk.Now}
	res, err := fe.FetchMailbox(ctx, mbox)
	if err != nil || res.Stored != 1 || res.Duplicates != 0 || res.Conflicts != 0 {
		t.Fatalf("fetch of the message to oneself: %+v %v, want one stored", res, err)
	}
	in, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, id)
	if err != nil || in.Direction != mailbox.In || in.ID == out.ID || in.State != mailbox.StateReceived {
		t.Fatalf("incoming copy: %+v %v", in, err)
	}
	if got, err := e.store.GetByOSCIMessageID(ctx, mailbox.Out, mbox, id); err != nil || got.ID != out.ID || got.State != mailbox.StateSent {
		t.Fatalf("outgoing copy after the fetch: %+v %v", got, err)
	}
	for _, k := range e.kinds(t, out.ID) {
		if k == "duplicate_conflict" || k == "duplicate_delivery" {
			t.Fatalf("the incoming copy was journaled as %s of the outgoing one", k)
		}
	}

	root := filepath.Join(e.dir, "eakte")
	folder, err := mailbox.NewFolderIntake(root, nil, e.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	d := &mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: folder, Now: e.clk.Now}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if in = e.get(t, in.ID); in.State != mailbox.StateDelivered {
		t.Fatalf("incoming copy: %s %s, want delivered", in.State, in.LastErrorCode)
	}
	if _, err := os.Stat(filepath.Join(root, mailbox.EntryName(id), mailbox.FileManifest)); err != nil {
		t.Fatalf("intake entry of the message to oneself: %v", err)
	}
}

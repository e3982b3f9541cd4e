package mailbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

	peer := newFakeMailbox(id)
	if res := e.fetch(t, peer, mbox); res.Stored != 1 || res.Duplicates != 0 || res.Conflicts != 0 {
		t.Fatalf("fetch of the message to oneself: %+v, want one stored", res)
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

	root := e.deliverToFolder(t)
	if in = e.get(t, in.ID); in.State != mailbox.StateDelivered {
		t.Fatalf("incoming copy: %s %s, want delivered", in.State, in.LastErrorCode)
	}
	if _, err := os.Stat(filepath.Join(root, mailbox.EntryName(id), mailbox.FileManifest)); err != nil {
		t.Fatalf("intake entry of the message to oneself: %v", err)
	}
}

// TestFormLetterUnderNewMessageIDsIsDelivered: ten messages, each with its
// own MessageId and subject and the same one-page attachment (a form letter
// sent in ten cases), and one more from another sender copying that
// attachment to suppress the real one: every message reaches the intake,
// each one after the first flagged with the MessageId of the first, and
// the fetch result counts what happened.
func TestFormLetterUnderNewMessageIDsIsDelivered(t *testing.T) {
	e := newEnv(t)
	const mbox = "DE.BeBPo.erkelenz"
	peer := newFakeMailbox()
	var ids []string
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("govapp_form_%02d", i)
		ids = append(ids, id)
		peer.add(id, true)
		peer.bodies[id] = []string{"original of " + id, "<xjustiz/>", "%PDF Formbrief"}
	}
	res := e.fetch(t, peer, mbox)
	if res.Stored != 10 || res.SameContent != 9 || res.Duplicates != 0 {
		t.Fatalf("form letters: %+v, want 10 stored, 9 with the same content", res)
	}
	var notices []string
	for _, n := range res.Notices {
		if n.Kind != mailbox.NoticeSameContent || n.SameContentAs != ids[0] {
			t.Fatalf("notice %+v", n)
		}
		notices = append(notices, n.OSCIMessageID)
	}
	if strings.Join(notices, ",") != strings.Join(ids[1:], ",") {
		t.Fatalf("notices for %v, want %v", notices, ids[1:])
	}
	// A third party sends the same documents under its own MessageId first
	// seen later; it is delivered and flagged too, and holds nothing back.
	peer.add("govapp_copy", true)
	peer.deliveries["govapp_copy"].Sender = "DE.Other.x"
	peer.bodies["govapp_copy"] = []string{"original of the copy", "<xjustiz/>", "%PDF Formbrief"}
	if res := e.fetch(t, peer, mbox); res.Stored != 1 || res.SameContent != 1 {
		t.Fatalf("copy: %+v", res)
	}

	root := e.deliverToFolder(t)
	for i, id := range append(ids, "govapp_copy") {
		m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, mbox, id)
		if err != nil || m.State != mailbox.StateDelivered {
			t.Fatalf("%s: %s %s %v, want delivered", id, m.State, m.LastErrorCode, err)
		}
		meta, err := os.ReadFile(filepath.Join(root, id, mailbox.FileMetadataJSON))
		if err != nil {
			t.Fatal(err)
		}
		flagged := strings.Contains(string(meta), `"sameContentAs": "`+ids[0]+`"`)
		if flagged != (i > 0) {
			t.Errorf("%s: metadata.json flagged %v, want %v", id, flagged, i > 0)
		}
		if i == 0 {
			continue
		}
		x, _ := os.ReadFile(filepath.Join(root, id, mailbox.FileMetadataXML))
		html, _ := os.ReadFile(filepath.Join(root, id, mailbox.FileReportHTML))
		if !strings.Contains(string(x), "<GleicherInhaltWie>"+ids[0]+"</GleicherInhaltWie>") || !strings.Contains(string(html), "Gleicher Inhalt wie") {
			t.Errorf("%s: metadata.xml or Prüfprotokoll without the note", id)
		}
	}
}

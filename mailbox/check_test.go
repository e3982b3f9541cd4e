package mailbox_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestCheck(t *testing.T) {
	e := newEnv(t)
	f := newFake(e.clk.Now)
	m := submit(t, e, "checked")
	run(t, newSender(e, f))
	peer := newFakeMailbox("govapp_in")
	e.fetch(t, peer, "mb")
	r, err := mailbox.Check(ctx, e.store, e.blobs)
	if err != nil || r.Messages != 2 || r.Documents != 4 || len(r.Problems) != 0 {
		t.Fatalf("intact: %+v %v", r, err)
	}
	// A blob lost or altered behind the store's back is found.
	doc := e.get(t, m.ID).Documents[0]
	if err := os.WriteFile(e.blobs.Path(doc.SHA256), []byte("altered"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = mailbox.Check(ctx, e.store, e.blobs)
	if !errors.Is(err, mailbox.ErrCheckFailed) || len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "blob corrupt") {
		t.Fatalf("altered blob: %+v %v", r, err)
	}
}

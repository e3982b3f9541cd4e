package mailbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// failingSink fails its first n hand-overs, then passes them on.
type failingSink struct {
	mailbox.Intake
	n int
}

func (f *failingSink) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	if f.n > 0 {
		f.n--
		return mailbox.IntakeRecord{}, mailbox.ErrDiskFull
	}
	return f.Intake.Deliver(ctx, m)
}

func TestDelivererToFolder(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_ok")
	peer.add("govapp_bad", false)
	e.fetch(t, peer, "DE.BeBPo.erkelenz")
	folder, root := e.folderIntake(t)
	sink := &failingSink{Intake: folder, n: 1}
	pol := mailbox.RetryPolicy{Initial: 10 * time.Second, Factor: 2, Max: time.Minute}
	d := &mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: sink, Policy: pol, Now: e.clk.Now}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ok, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, "DE.BeBPo.erkelenz", "govapp_ok")
	bad, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, "DE.BeBPo.erkelenz", "govapp_bad")
	if bad.State != mailbox.StateQuarantined || bad.LastErrorCode != "verification_failed" {
		t.Fatalf("bad: %s %s", bad.State, bad.LastErrorCode)
	}
	if ok.State != mailbox.StateIntakePending || ok.LastErrorCode != "disk_full" || !ok.NextAttemptAt.Equal(e.clk.Now().Add(10*time.Second)) {
		t.Fatalf("ok after a failed hand-over: %s %s next %v", ok.State, ok.LastErrorCode, ok.NextAttemptAt)
	}
	e.clk.Add(11 * time.Second)
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	ok = e.get(t, ok.ID)
	rec, err := e.store.IntakeRecord(ctx, ok.ID)
	if ok.State != mailbox.StateDelivered || err != nil || rec.Location != "govapp_ok" {
		t.Fatalf("ok: %s %+v %v", ok.State, rec, err)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 || ents[0].Name() != "govapp_ok" {
		t.Fatalf("intake folder: %v", ents)
	}
	meta, _ := os.ReadFile(filepath.Join(root, "govapp_ok", mailbox.FileMetadataJSON))
	for _, want := range []string{`"messageId": "govapp_ok"`, `"safeId": "DE.Justiz.ag"`, `"fileName": "001_Ladung.pdf"`, `"creation": "2026-03-02T09:30:00Z"`,
		`"forwarding": "2026-03-02T09:31:00Z"`, `"reception": "2026-03-02T09:32:00Z"`} {
		if !strings.Contains(string(meta), want) {
			t.Errorf("metadata.json lacks %s", want)
		}
	}
	// The quarantined delivery is kept, never dropped: an operator requeue
	// sends it to the intake after inspection.
	for _, doc := range bad.Documents {
		if err := e.blobs.Verify(doc.SHA256); err != nil {
			t.Fatalf("quarantined blob: %v", err)
		}
	}
	if _, err := e.store.Operate(ctx, mailbox.OperatorAction{ID: bad.ID, Op: mailbox.OpRequeue, Actor: "op", Now: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, bad.ID); got.State != mailbox.StateDelivered {
		t.Fatalf("requeued quarantined message: %s", got.State)
	}
	if r, err := mailbox.VerifyJournal(ctx, e.store); err != nil {
		t.Fatalf("journal %+v %v", r, err)
	}
}

// A crash after the folder entry was renamed into place but before the row
// said delivered: the next run finds the complete entry and records it.
func TestDelivererCrashAfterHandOver(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_x")
	e.fetch(t, peer, "mb")
	folder, root := e.folderIntake(t)
	m, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, "mb", "govapp_x")
	var meta mailbox.IncomingMeta
	jsonUnmarshal(m.Meta, &meta)
	im, err := mailbox.BuildIntakeMessage(m, meta, mailbox.ProcessCard{Creation: t0, Forwarding: t0.Add(time.Minute)}, e.blobs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := folder.Deliver(ctx, im); err != nil { // the hand-over the crashed process made
		t.Fatal(err)
	}
	e.reopen(t)
	d := &mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: folder, Now: e.clk.Now}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.get(t, m.ID); got.State != mailbox.StateDelivered {
		t.Fatalf("state %s (%s)", got.State, got.LastErrorText)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Fatalf("%d entries, want 1", len(ents))
	}
}

// routingSink stands for the daemon's router: it names the rule that
// chose the sink in the metadata and the record.
type routingSink struct {
	mailbox.Intake
	rule string
}

func (r routingSink) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	m.Metadata.Route = r.rule
	rec, err := r.Intake.Deliver(ctx, m)
	rec.Route = r.rule
	return rec, err
}

// TestDelivererJournalsTheRoute: the rule that routed a delivery is in its
// journal entry and in the entry's metadata.
func TestDelivererJournalsTheRoute(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_ok")
	e.fetch(t, peer, "DE.BeBPo.erkelenz")
	folder, root := e.folderIntake(t)
	d := &mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: routingSink{folder, "lg-zivil"}, Now: e.clk.Now}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ := e.store.GetByOSCIMessageID(ctx, mailbox.In, "DE.BeBPo.erkelenz", "govapp_ok")
	evs, err := e.store.MessageEvents(ctx, m.ID)
	if err != nil || len(evs) == 0 {
		t.Fatal(evs, err)
	}
	last := evs[len(evs)-1]
	if !strings.Contains(last.Detail, `"to":"delivered"`) || !strings.Contains(last.Detail, `"route":"lg-zivil"`) {
		t.Fatalf("delivery entry %s", last.Detail)
	}
	meta, _ := os.ReadFile(filepath.Join(root, "govapp_ok", mailbox.FileMetadataJSON))
	if !strings.Contains(string(meta), `"route": "lg-zivil"`) {
		t.Fatalf("metadata.json lacks the route:\n%s", meta)
	}
}

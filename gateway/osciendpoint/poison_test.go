package osciendpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// rebuildB replaces mailbox B's bridge by one built from its
// configuration changed by change (a limit raised or lowered).
func (e *omEnv) rebuildB(t *testing.T, change func(*Config)) {
	t.Helper()
	cfg := e.b.mb.cfg
	change(&cfg)
	mb, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.b.mb = mb
}

// storeRaw stores, as mailbox A's software would send it through its
// own OSCI client, a delivery for B whose plain container holds n inline
// texts.
func (e *omEnv) storeRaw(t *testing.T, n int) string {
	t.Helper()
	a := e.a.mb.cfg
	c, err := osci.NewClient(osci.ClientConfig{URL: a.IntermediaryURL, Signature: a.Identity.Signature, Cipher: a.Identity.Cipher,
		IntermediaryCipher: a.IntermediaryCipher, IntermediaryKeys: xmlsec.ValidatorSelector{V: a.Trust.Intermediary},
		Rand: certstest.DetRand("raw"), SpoolDir: t.TempDir(), RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := c.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cc := &osci.Container{ID: "c0"}
	for i := range n {
		cc.Contents = append(cc.Contents, osci.Content{ID: fmt.Sprintf("t%03d", i), Data: []byte("Text " + fmt.Sprint(i))})
	}
	pb := &osci.PackageBuilder{Rand: certstest.DetRand("raw-content")}
	if err := pb.AddPlain(cc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StoreDelivery(ctx, osci.OutgoingDelivery{MessageID: id, Subject: "Allgemeine Nachricht", Addressee: e.b.mb.cfg.Identity.Cipher.Cert,
		Content: pb.Bytes()}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPoisonDeliveryDoesNotStopMailbox: one delivery that B cannot read,
// although its response arrives whole at the real simulator, used to
// stop B for good: every dialog failed at it, nothing was acknowledged,
// and no later delivery was fetched. Now it is read MaxAttempts times,
// then parked with its raw bytes and acknowledged in the same dialog,
// the deliveries after it arrive, and once the cause is gone (a limit
// raised) Reprocess brings it in. Two causes: a limit of the egvp
// reading (too many documents for B's disk guard), and one of the OSCI
// response itself (more XML elements than B reads), after which the
// dialog goes on from the response's ControlBlock.
func TestPoisonDeliveryDoesNotStopMailbox(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lower  func(*Config)
		poison func(t *testing.T, e *omEnv) string
		docs   int // documents of the poison once read
	}{
		{"egvp limit", func(c *Config) { c.Limits = egvp.Limits{MaxFiles: 2} }, func(t *testing.T, e *omEnv) string {
			var parts []mailbox.Part
			for i := range 3 {
				parts = append(parts, mailbox.Part{Name: fmt.Sprintf("%03d_Anlage.pdf", i), ContentType: "application/pdf", Body: bytes.NewReader(omPDF(500, fmt.Sprint(i)))})
			}
			if _, err := mailbox.Submit(context.Background(), e.a.store, e.a.blobs, mailbox.NewOutgoing{Mailbox: "A", Recipient: omSafeB,
				Subject: "drei Anlagen", Now: e.clk.Now()}, parts); err != nil {
				t.Fatal(err)
			}
			if _, err := e.sender().RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			ms, err := e.a.store.List(context.Background(), mailbox.Filter{Direction: mailbox.Out})
			if err != nil || len(ms) != 1 || ms[0].OSCIMessageID == "" {
				t.Fatalf("poison not sent: %+v %v", ms, err)
			}
			return ms[0].OSCIMessageID
		}, 3},
		{"xml limit", func(c *Config) { c.XML = xmlsec.Limits{MaxElements: 200} }, func(t *testing.T, e *omEnv) string {
			return e.storeRaw(t, 150)
		}, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOMEnv(t)
			ctx := context.Background()
			e.rebuildB(t, tc.lower)
			poison := tc.poison(t, e)
			want := e.send(t, 2)
			f := e.fetcher()
			for i := 1; i < 3; i++ {
				res, err := f.FetchMailbox(ctx, "B")
				if !errors.Is(err, mailbox.ErrUnreadable) || res.Parked != 0 || res.Stored != 0 {
					t.Fatalf("read %d: %+v %v, want the dialog given up at the poison", i, res, err)
				}
			}
			res, err := f.FetchMailbox(ctx, "B")
			if err != nil || res.Parked != 1 || res.Stored != 2 {
				t.Fatalf("third read: %+v %v, want the poison parked and both later deliveries stored", res, err)
			}
			if _, err := e.deliverer().RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(e.root)
			if err != nil || len(entries) != len(want) {
				t.Fatalf("intake entries %v %v, want the %d later deliveries", entries, err, len(want))
			}
			for _, ent := range entries {
				var md mailbox.IntakeMetadata
				if err := json.Unmarshal(omRead(t, filepath.Join(e.root, ent.Name()), mailbox.FileMetadataJSON), &md); err != nil {
					t.Fatal(err)
				}
				if _, ok := want[md.UserSubject]; !ok || md.VerificationStatus != checkresult.Valid || len(md.Documents) != 2 {
					t.Errorf("intake entry %+v", md)
				}
			}
			p, err := e.b.store.GetByOSCIMessageID(ctx, mailbox.In, "B", poison)
			if err != nil || p.State != mailbox.StateQuarantined || p.LastErrorCode != mailbox.ReasonUnreadable || len(p.Documents) != 1 {
				t.Fatalf("parked row %+v %v", p, err)
			}
			orig, err := e.b.blobs.Open(p.Documents[0].SHA256)
			if err != nil {
				t.Fatal(err)
			}
			raw := new(bytes.Buffer)
			raw.ReadFrom(orig)
			orig.Close()
			if !bytes.HasPrefix(raw.Bytes(), []byte("MIME-Version:")) || !bytes.Contains(raw.Bytes(), []byte("<"+osci.EncryptedContentID+">")) {
				t.Fatalf("parked original is not the response as received: %.200q", raw.Bytes())
			}
			// Parked, it was acknowledged: the intermediary records its
			// Reception and hands it out no more.
			if again, err := f.FetchMailbox(ctx, "B"); err != nil || again.Stored+again.Parked+again.Duplicates != 0 {
				t.Fatalf("next dialog %+v %v", again, err)
			}
			card, err := e.a.mb.Transport().FetchProcessCard(ctx, poison)
			if err != nil || card.Reception.IsZero() {
				t.Fatalf("the poison's card %+v %v, want Reception", card, err)
			}
			// Still unreadable: stays parked with the reason.
			if m, err := mailbox.Reprocess(ctx, e.b.store, e.b.blobs, e.b.mb, p.ID, "op", e.clk.Now()); err != nil || m.State != mailbox.StateQuarantined ||
				m.LastErrorCode != mailbox.ReasonUnreadable {
				t.Fatalf("reprocess with the limit still low: %+v %v", m, err)
			}
			e.rebuildB(t, func(c *Config) { c.Limits, c.XML = egvp.Limits{}, xmlsec.Limits{} })
			m, err := mailbox.Reprocess(ctx, e.b.store, e.b.blobs, e.b.mb, p.ID, "op", e.clk.Now())
			if err != nil || m.State != mailbox.StateReceived {
				t.Fatalf("reprocess with the limit raised: %+v %v", m, err)
			}
			if _, err := e.deliverer().RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			got, err := e.b.store.Get(ctx, p.ID)
			if err != nil || got.State != mailbox.StateDelivered || len(got.Documents) != tc.docs+1 {
				t.Fatalf("reprocessed %+v %v", got, err)
			}
			rec, err := e.b.store.IntakeRecord(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			var md mailbox.IntakeMetadata
			if err := json.Unmarshal(omRead(t, filepath.Join(e.root, rec.Location), mailbox.FileMetadataJSON), &md); err != nil {
				t.Fatal(err)
			}
			if len(md.Documents) != tc.docs {
				t.Fatalf("intake holds %d documents, want %d", len(md.Documents), tc.docs)
			}
			left, _ := os.ReadDir(e.b.mb.cfg.SpoolDir)
			for _, l := range left {
				t.Errorf("spool holds %s", l.Name())
			}
		})
	}
}

// TestCrashLoopDeliveryIsParkedUnread: a delivery whose reads kept
// stopping the process (every read counted, none ended) is no longer
// read: the bridge fetches it unread, the engine parks its original, and
// the next order acknowledges it, so the mailbox goes on.
func TestCrashLoopDeliveryIsParkedUnread(t *testing.T) {
	e := newOMEnv(t)
	ctx := context.Background()
	want := e.send(t, 2)
	out, err := e.a.store.List(ctx, mailbox.Filter{Direction: mailbox.Out})
	if err != nil || len(out) != 2 {
		t.Fatal(err)
	}
	crash := out[0].OSCIMessageID
	for range 3 {
		if _, err := e.b.store.BeginFetch(ctx, "B", crash, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.fetcher().FetchMailbox(ctx, "B")
	if err != nil || res.Parked != 1 || res.Stored != 1 || res.Skipped != 0 {
		t.Fatalf("fetch %+v %v", res, err)
	}
	p, err := e.b.store.GetByOSCIMessageID(ctx, mailbox.In, "B", crash)
	if err != nil || p.State != mailbox.StateQuarantined || p.LastErrorCode != mailbox.ReasonUnreadable {
		t.Fatalf("parked %+v %v", p, err)
	}
	if card, err := e.a.mb.Transport().FetchProcessCard(ctx, crash); err != nil || card.Reception.IsZero() {
		t.Fatalf("card %+v %v, want Reception", card, err)
	}
	m, err := mailbox.Reprocess(ctx, e.b.store, e.b.blobs, e.b.mb, p.ID, "op", e.clk.Now())
	if err != nil || m.State != mailbox.StateReceived {
		t.Fatalf("reprocess %+v %v", m, err)
	}
	if _, err := e.deliverer().RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(e.root); err != nil || len(entries) != len(want) {
		t.Fatalf("%d intake entries: %v", len(entries), err)
	}
}

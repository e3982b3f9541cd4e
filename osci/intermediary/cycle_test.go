package intermediary

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// outgoing builds a delivery from alice to bob. The rich one carries a plain
// container signed by alice (inline text and a plain attachment) and an
// encrypted container for bob (inline text and an encrypted attachment); the
// other only the encrypted container. text is the encrypted attachment's
// plaintext.
func outgoing(t *testing.T, id string, rich bool, text string) osci.OutgoingDelivery {
	t.Helper()
	bob := keyPair(t, "bob_cipher_4096").Cert
	aliceSig := keyPair(t, "alice_signature_4096")
	var ct bytes.Buffer
	key, _, err := osci.EncryptAttachment(&ct, strings.NewReader(text), "schriftsatz.pdf", certstest.DetRand("attachment "+id))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{"schriftsatz.pdf": ct.Bytes()}
	if rich {
		parts["anlage.txt"] = []byte("Anlage: Vollmacht\n")
	}
	open := func(cid string) (io.ReadCloser, error) {
		b, ok := parts[cid]
		if !ok {
			return nil, fmt.Errorf("no attachment %q", cid)
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	b := &osci.PackageBuilder{Rand: certstest.DetRand("package " + id)}
	if err := b.AddEncrypted(&osci.Container{ID: "project_coco", Contents: []osci.Content{{ID: "nachricht.xml", Data: []byte("<Nachricht/>")},
		{ID: "schriftsatz.pdf", Href: "schriftsatz.pdf"}}}, osci.ReaderIDs([]*x509.Certificate{bob}), key); err != nil {
		t.Fatal(err)
	}
	d := osci.OutgoingDelivery{MessageID: id, Subject: "Allgemeine Nachricht", Addressee: bob, Readers: []*x509.Certificate{bob}}
	cids := []string{"schriftsatz.pdf"}
	if rich {
		b.Signer = &osci.Signer{Key: aliceSig.Key, Certificate: aliceSig.Cert}
		b.SignerID, b.Attachments = osci.NewCertEntry(osci.SignatureOriginator, 0, aliceSig.Cert).ID, open
		if err := b.AddPlain(&osci.Container{ID: "govello_coco", Contents: []osci.Content{{ID: "additional_infos", Data: []byte("aktenzeichen=1 O 23/26")},
			{ID: "anlage", Href: "anlage.txt"}}}); err != nil {
			t.Fatal(err)
		}
		cids = append(cids, "anlage.txt")
	}
	d.Content = b.Bytes()
	for _, cid := range cids {
		d.Attachments = append(d.Attachments, osci.OutgoingAttachment{ContentID: cid, Size: int64(len(parts[cid])),
			Open: func() (io.ReadCloser, error) { return open(cid) }})
	}
	return d
}

// checkDelivery opens what bob fetched: the encrypted container and its
// attachment with bob's key, and in the rich delivery alice's content
// signature over the plain container and its attachment.
func checkDelivery(t *testing.T, d *osci.Delivery, store *osci.DirAttachments, rich bool, text string) {
	t.Helper()
	cs, err := osci.OpenContentPackage(d.Response.Message, decrypter(t, "bob_cipher_4096"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[bool]int{false: 1, true: 2}[rich]; len(cs) != want {
		t.Fatalf("%d containers, want %d", len(cs), want)
	}
	var plain bytes.Buffer
	if _, err := cs[0].DecryptAttachment(&plain, "schriftsatz.pdf", store, t.TempDir()); err != nil || plain.String() != text {
		t.Fatalf("attachment %q: %v", plain.String(), err)
	}
	if !rich {
		return
	}
	if !cs[1].Signed() || cs[1].Encrypted {
		t.Fatalf("plain container: signed %v encrypted %v", cs[1].Signed(), cs[1].Encrypted)
	}
	vs, err := cs[1].VerifySignatures(context.Background(), pinned(keyPair(t, "alice_signature_4096").Cert), store.Open)
	if err != nil || len(vs) != 1 {
		t.Fatalf("content signature: %d, %v", len(vs), err)
	}
}

// TestTranscriptCycle runs the cycle between our client and the
// simulator and keeps its transcript (testdata/osci/cycle.txt): alice's
// getMessageId and storeDelivery to bob, twice (a signed plain container, an
// encrypted container and attachments; then an encrypted container alone);
// bob's initDialog, process card listing, fetchDelivery until 9803 with the
// acknowledgement of each delivery by the next order, exitDialog; alice's
// fetchProcessCard showing Reception.
func TestTranscriptCycle(t *testing.T) {
	tr := newTranscript(t, "cycle: alice stores two deliveries for bob, bob fetches them, alice reads their process cards")
	ctx := context.Background()
	alice, bob := tr.client("alice", nil), tr.client("bob", nil)
	texts := []string{"%PDF-1.7 Klage\n" + strings.Repeat("Begründung. ", 200), "%PDF-1.7 Replik\n"}
	var ids []string
	for i, text := range texts {
		var id string
		if err := tr.do("alice: getMessageId", func() (err error) { id, err = alice.GetMessageID(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		d := outgoing(t, id, i == 0, text)
		title := "alice: storeDelivery " + id + " to bob, an encrypted container with an encrypted attachment"
		if i == 0 {
			title = "alice: storeDelivery " + id + " to bob, a plain container signed by alice with a plain attachment and an encrypted container with an encrypted attachment"
		}
		var card *osci.ProcessCardBundle
		if err := tr.do(title, func() (err error) { card, err = alice.StoreDelivery(ctx, d); return err }); err != nil {
			t.Fatal(err)
		}
		if card.MessageID != id || card.ProcessCard.Creation == nil || card.ProcessCard.Forwarding != nil {
			t.Fatalf("card %+v", card)
		}
		ids = append(ids, id)
	}
	var s *osci.Session
	if err := tr.do("bob: initDialog", func() (err error) { s, err = bob.OpenSession(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	var cards []osci.ProcessCardBundle
	if err := tr.do("bob: process cards of deliveries not yet received", func() (err error) {
		cards, _, err = s.ProcessCards(ctx, &osci.SelectionRule{RecentModification: &time.Time{}, NoReception: true, Role: "Addressee"}, 0)
		return err
	}); err != nil || len(cards) != 2 || cards[0].MessageID != ids[0] || cards[1].MessageID != ids[1] {
		t.Fatalf("cards %+v: %v", cards, err)
	}
	for i, id := range ids {
		store := &osci.DirAttachments{Dir: t.TempDir()}
		var d *osci.Delivery
		if err := tr.do("bob: fetchDelivery "+id, func() (err error) { d, err = s.FetchDelivery(ctx, id, store); return err }); err != nil {
			t.Fatal(err)
		}
		if d.More != (i == 0) || d.Card == nil || d.Card.ProcessCard.Forwarding == nil || d.Card.ProcessCard.Reception != nil {
			t.Fatalf("delivery %d: more %v card %+v", i, d.More, d.Card)
		}
		checkDelivery(t, d, store, i == 0, texts[i])
		if err := s.Close(ctx); !errors.Is(err, osci.ErrUnacknowledged) {
			t.Fatalf("exitDialog before the delivery is durable: %v", err)
		}
		tr.note("bob's session refuses to send while %s is not acknowledged; bob decrypted and verified it, stored it durably and acknowledges it", id)
		if err := s.Acknowledge(id); err != nil {
			t.Fatal(err)
		}
	}
	err := tr.do("bob: fetchDelivery until none is left (a MessageId without delivery)", func() error {
		_, err := s.FetchDelivery(ctx, "govapp_0", &osci.DirAttachments{Dir: t.TempDir()})
		return err
	})
	if !errors.Is(err, osci.ErrFeedbackNoDelivery) {
		t.Fatalf("nothing left: %v", err)
	}
	if err := tr.do("bob: exitDialog", func() error { return s.Close(ctx) }); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var pc *osci.ProcessCardBundle
		if err := tr.do("alice: fetchProcessCard "+id, func() (err error) { pc, err = alice.FetchProcessCard(ctx, id); return err }); err != nil {
			t.Fatal(err)
		}
		if p := pc.ProcessCard; p.Creation == nil || p.Forwarding == nil || p.Reception == nil || p.Subject != "Allgemeine Nachricht" {
			t.Fatalf("card %+v", p)
		}
	}
	tr.finish("cycle.txt")
}

package intermediary

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

var update = flag.Bool("update", false, "rewrite golden transcripts")

func sharedDir(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared")
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
}

var keyPairs sync.Map

func keyPair(t testing.TB, name string) *certs.KeyPair {
	if kp, ok := keyPairs.Load(name); ok {
		return kp.(*certs.KeyPair)
	}
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "vectors", "osci-java", "certs", name+".p12"))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := certs.LoadPKCS12Data(b, "123456")
	if err != nil {
		t.Fatal(err)
	}
	keyPairs.Store(name, kp)
	return kp
}

type detRand struct{ state [32]byte }

func (d *detRand) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		d.state = sha256.Sum256(d.state[:])
		n += copy(p[n:], d.state[:])
	}
	return n, nil
}

func newRand(seed string) *detRand { return &detRand{state: sha256.Sum256([]byte(seed))} }

// clock advances one second per reading, from a fixed start.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

func newSimulator(t testing.TB, faults ...Fault) (*Server, *httptest.Server) {
	s, err := New(Config{Cipher: keyPair(t, "osci_manager_cipher_4096"), Signature: keyPair(t, "osci_manager_signature_4096"),
		DataDir: t.TempDir(), Now: newClock().Now, Rand: newRand("simulator"), Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func pinned(c *x509.Certificate) xmlsec.KeySelector {
	ts := certs.NewTrustStore()
	ts.Pin(c)
	return xmlsec.ValidatorSelector{V: &certs.Validator{Trust: ts, Now: func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }}}
}

func newClient(t testing.TB, url, who string) *osci.Client {
	c, err := osci.NewClient(osci.ClientConfig{URL: url, Signature: keyPair(t, who+"_signature_4096"), Cipher: keyPair(t, who+"_cipher_4096"),
		IntermediaryCipher: keyPair(t, "osci_manager_cipher_4096").Cert, IntermediaryKeys: pinned(keyPair(t, "osci_manager_signature_4096").Cert),
		Rand: newRand(who), SpoolDir: t.TempDir(), RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send stores one delivery from alice to bob with an encrypted container
// and an encrypted attachment.
func send(t *testing.T, alice *osci.Client, bob *x509.Certificate, subject, text string) string {
	ctx := context.Background()
	id, err := alice.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	key, _, err := osci.EncryptAttachment(&ct, strings.NewReader(text), "schriftsatz.pdf", newRand(id))
	if err != nil {
		t.Fatal(err)
	}
	b := &osci.PackageBuilder{Rand: newRand("pkg" + id)}
	if err := b.AddEncrypted(&osci.Container{ID: "project_coco", Contents: []osci.Content{{ID: "nachricht.xml", Data: []byte("<Nachricht/>")},
		{ID: "schriftsatz.pdf", Href: "schriftsatz.pdf"}}}, osci.ReaderIDs([]*x509.Certificate{bob}), key); err != nil {
		t.Fatal(err)
	}
	data := ct.Bytes()
	card, err := alice.StoreDelivery(ctx, osci.OutgoingDelivery{MessageID: id, Subject: subject, Addressee: bob, Readers: []*x509.Certificate{bob},
		Content: b.Bytes(), Attachments: []osci.OutgoingAttachment{{ContentID: "schriftsatz.pdf", Size: int64(len(data)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	if card.ProcessCard.Creation == nil || card.MessageID != id {
		t.Fatalf("card %+v", card)
	}
	return id
}

// TestCycle runs the cycle between our client and the simulator:
// getMessageId and storeDelivery from alice to bob (twice); bob's
// initDialog, fetchDelivery until none is left, exitDialog; alice's
// fetchProcessCard showing Reception. It writes a transcript of the cards.
func TestCycle(t *testing.T) {
	_, srv := newSimulator(t)
	ctx := context.Background()
	alice, bob := newClient(t, srv.URL, "alice"), newClient(t, srv.URL, "bob")
	bobCert := keyPair(t, "bob_cipher_4096").Cert
	ids := []string{send(t, alice, bobCert, "Allgemeine Nachricht", "Klage"), send(t, alice, bobCert, "Allgemeine Nachricht", "Replik")}
	var transcript strings.Builder
	s, err := bob.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cards, _, err := s.ProcessCards(ctx, &osci.SelectionRule{RecentModification: &time.Time{}, NoReception: true, Role: "Addressee"}, 0)
	if err != nil || len(cards) != 2 {
		t.Fatalf("cards %d: %v", len(cards), err)
	}
	for i, id := range ids {
		store := &osci.DirAttachments{Dir: t.TempDir()}
		d, err := s.FetchDelivery(ctx, id, store)
		if err != nil {
			t.Fatal(err)
		}
		if d.More != (i == 0) {
			t.Fatalf("delivery %d: more = %v", i, d.More)
		}
		cs, err := osci.OpenContentPackage(d.Response.Message, decrypter(t, "bob_cipher_4096"))
		if err != nil {
			t.Fatal(err)
		}
		var plain bytes.Buffer
		if _, err := cs[0].DecryptAttachment(&plain, "schriftsatz.pdf", store, t.TempDir()); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&transcript, "fetched %s: %q, forwarding %s, more %v\n", id, plain.String(), osci.FormatTime(d.Card.ProcessCard.Forwarding.Time), d.More)
		if err := s.Acknowledge(id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.FetchDelivery(ctx, "govapp_0", &osci.DirAttachments{Dir: t.TempDir()}); !errors.Is(err, osci.ErrFeedbackNoDelivery) {
		t.Fatalf("nothing left: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		pc, err := alice.FetchProcessCard(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := pc.ProcessCard
		if p.Reception == nil || p.Forwarding == nil {
			t.Fatalf("card without reception: %+v", p)
		}
		fmt.Fprintf(&transcript, "card %s: creation %s forwarding %s reception %s subject %q inspections %d\n", id,
			osci.FormatTime(p.Creation.Time), osci.FormatTime(p.Forwarding.Time), osci.FormatTime(p.Reception.Time), p.Subject, len(pc.Inspections))
	}
	golden(t, "cycle.txt", []byte(transcript.String()))
}

func decrypter(t testing.TB, name string) *xmlenc.Decrypter {
	kp := keyPair(t, name)
	return &xmlenc.Decrypter{Key: kp.Key.(crypto.Decrypter), SpoolDir: t.TempDir()}
}

func golden(t *testing.T, name string, got []byte) {
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got: %s\nwant: %s", name, got, want)
	}
}

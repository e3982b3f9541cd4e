package osci_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

func pkiPair(t *testing.T, name string) *certs.KeyPair {
	t.Helper()
	k, c := certstest.PKIKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c}
}

// tee keeps the last response body a client read, as the gateway keeps
// a fetched response as evidence.
type tee struct {
	base http.RoundTripper
	mu   sync.Mutex
	last *bytes.Buffer
}

func (c *tee) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	b := &bytes.Buffer{}
	c.mu.Lock()
	c.last = b
	c.mu.Unlock()
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(resp.Body, b), resp.Body}
	return resp, nil
}

func (c *tee) body() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.last.Bytes()...)
}

type unreadWorld struct {
	url   string
	inter *certs.Validator
	now   time.Time
}

func newUnreadWorld(t *testing.T) *unreadWorld {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	sim, err := intermediary.New(intermediary.Config{Cipher: pkiPair(t, "intermediary-cipher"), Signature: pkiPair(t, "intermediary-signature"),
		DataDir: t.TempDir(), Now: func() time.Time { return now }, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	ts := certs.NewTrustStore()
	ts.Pin(pkiPair(t, "intermediary-signature").Cert)
	sets := certs.TrustSets{Intermediary: ts}
	return &unreadWorld{url: srv.URL, inter: sets.Validators(certs.Validator{Now: func() time.Time { return now }}).Intermediary, now: now}
}

func (w *unreadWorld) client(t *testing.T, xml xmlsec.Limits, hc *http.Client) *osci.Client {
	c, err := osci.NewClient(osci.ClientConfig{URL: w.url, Signature: pkiPair(t, "mailbox-signature"), Cipher: pkiPair(t, "mailbox-cipher"),
		IntermediaryCipher: pkiPair(t, "intermediary-cipher").Cert, IntermediaryKeys: xmlsec.ValidatorSelector{V: w.inter},
		XML: xml, Rand: rand.Reader, SpoolDir: t.TempDir(), HTTPClient: hc, RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// store sends a delivery to the test mailbox (which sends to itself)
// whose plain container holds n inline contents.
func (w *unreadWorld) store(t *testing.T, n int) string {
	c := w.client(t, xmlsec.Limits{}, nil)
	ctx := context.Background()
	id, err := c.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cc := &osci.Container{ID: "c0"}
	for i := range n {
		cc.Contents = append(cc.Contents, osci.Content{ID: fmt.Sprintf("t%d", i), Data: []byte("x")})
	}
	pb := &osci.PackageBuilder{Rand: rand.Reader}
	if err := pb.AddPlain(cc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StoreDelivery(ctx, osci.OutgoingDelivery{MessageID: id, Subject: "s", Addressee: pkiPair(t, "mailbox-cipher").Cert,
		Content: pb.Bytes()}); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestUnreadableResponseResumesDialog: a delivery whose response arrives
// whole but breaks the receiver's limits (here: more elements than it
// admits) used to break the dialog, so that it could never be
// acknowledged and stopped every later fetch. The session now resumes
// from the response's ControlBlock, the next order acknowledges the
// delivery (Reception), and the stored response reads once the limit is
// raised.
func TestUnreadableResponseResumesDialog(t *testing.T) {
	w := newUnreadWorld(t)
	poison, next := w.store(t, 300), w.store(t, 1)
	capture := &tee{base: http.DefaultTransport}
	strict := w.client(t, xmlsec.Limits{MaxElements: 200}, &http.Client{Transport: capture})
	ctx := context.Background()
	s, err := strict.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parts := &osci.DirAttachments{Dir: t.TempDir()}
	if _, err := s.FetchDelivery(ctx, poison, parts); !errors.Is(err, xmlsec.ErrTooManyElements) {
		t.Fatalf("fetch: %v, want the limit", err)
	}
	raw := capture.body()
	// Without the response's ControlBlock nothing goes on.
	if err := s.ResumeUnreadable(next, bytes.NewReader(raw)); !errors.Is(err, osci.ErrDialogState) {
		t.Fatalf("resume for another delivery: %v", err)
	}
	if err := s.ResumeUnreadable(poison, bytes.NewReader(raw)); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if _, _, err := s.ProcessCards(ctx, &osci.SelectionRule{MessageIDs: []string{poison}}, 0); !errors.Is(err, osci.ErrUnacknowledged) {
		t.Fatalf("order before Acknowledge: %v", err)
	}
	if err := s.Acknowledge(poison); err != nil {
		t.Fatal(err)
	}
	d, err := s.FetchDelivery(ctx, next, &osci.DirAttachments{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("the next delivery in the same dialog: %v", err)
	}
	if err := s.Acknowledge(d.MessageID); err != nil {
		t.Fatal(err)
	}
	cards, _, err := s.ProcessCards(ctx, &osci.SelectionRule{MessageIDs: []string{poison}}, 0)
	if err != nil || len(cards) != 1 || cards[0].ProcessCard.Reception == nil {
		t.Fatalf("card of the unreadable delivery: %+v %v, want Reception", cards, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Read again from the stored bytes, with the limit raised.
	got, err := w.client(t, xmlsec.Limits{}, nil).ReadDelivery(ctx, bytes.NewReader(raw), poison, &osci.DirAttachments{Dir: t.TempDir()})
	if err != nil || got.MessageID != poison || got.Response.ContentPackage == nil {
		t.Fatalf("read again: %+v %v", got, err)
	}
	if _, err := w.client(t, xmlsec.Limits{}, nil).ReadDelivery(ctx, bytes.NewReader(raw), next, &osci.DirAttachments{Dir: t.TempDir()}); !errors.Is(err, osci.ErrInvalidOrder) {
		t.Fatalf("read as another delivery: %v", err)
	}
}

// TestForeignResponseDoesNotResumeDialog: only the response to our own
// order resumes a dialog, because its ControlBlock must return our
// Challenge; another dialog's response (or one forged on the path) cannot
// make the next order acknowledge anything.
func TestForeignResponseDoesNotResumeDialog(t *testing.T) {
	w := newUnreadWorld(t)
	poison := w.store(t, 300)
	ctx := context.Background()
	fetchRaw := func() (*osci.Session, []byte) {
		capture := &tee{base: http.DefaultTransport}
		s, err := w.client(t, xmlsec.Limits{MaxElements: 200}, &http.Client{Transport: capture}).OpenSession(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FetchDelivery(ctx, poison, &osci.DirAttachments{Dir: t.TempDir()}); !errors.Is(err, xmlsec.ErrTooManyElements) {
			t.Fatalf("fetch: %v", err)
		}
		return s, capture.body()
	}
	s1, raw1 := fetchRaw()
	s1.Abandon()
	s2, _ := fetchRaw()
	if err := s2.ResumeUnreadable(poison, bytes.NewReader(raw1)); !errors.Is(err, osci.ErrDialogMismatch) {
		t.Fatalf("resumed with another dialog's response: %v", err)
	}
	if _, _, err := s2.ProcessCards(ctx, &osci.SelectionRule{MessageIDs: []string{poison}}, 0); err == nil {
		t.Fatal("the dialog went on")
	}
	if err := s2.ResumeUnreadable(poison, strings.NewReader("garbage")); err == nil {
		t.Fatal("resumed from garbage")
	}
}

package osciendpoint

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// secondIntermediary runs a simulator with keys of its own (intermediary
// B) and returns it as a configured intermediary named "justiz".
func secondIntermediary(t *testing.T, e *omEnv, reg *intermediaries.Registry) (*intermediaries.Set, *httptest.Server) {
	t.Helper()
	cipher := omIssue(t, "intermediate-ca", "intermediary B cipher", "", 9201, x509.KeyUsageKeyEncipherment)
	sig := omIssue(t, "intermediate-ca", "intermediary B signature", "", 9202, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment)
	sim, err := intermediary.New(intermediary.Config{Cipher: cipher, Signature: sig, DataDir: t.TempDir(), Now: e.clk.Now, Rand: certstest.DetRand("sim B")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(name string, c *x509.Certificate) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := &config.Config{Intermediaries: []config.IntermediaryConfig{{Name: "justiz", URL: srv.URL,
		CipherCert: write("cipher.pem", cipher.Cert), SignCerts: []string{write("sig.pem", sig.Cert)},
		CircuitFailures: 2, CircuitOpen: time.Minute}}}
	set, err := intermediaries.Load(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	return set, srv
}

// TestMessageGoesToTheRecipientsIntermediary: a message whose metadata
// names another intermediary gets its MessageId, is stored and has its
// process card at that intermediary, encrypted to and verified with that
// intermediary's certificates; ours never sees it.
func TestMessageGoesToTheRecipientsIntermediary(t *testing.T) {
	e := newOMEnv(t)
	set, _ := secondIntermediary(t, e, intermediaries.NewRegistry(e.clk.Now, nil))
	cfg := e.a.mb.cfg
	cfg.IntermediaryName, cfg.Intermediaries = "bebpo", set
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: omSecondIdentity(t).Cipher.Cert.Raw}))
	meta := []byte(`{"recipientIntermediary":"justiz","recipientCert":` + strconv.Quote(bCert) + `}`)
	if lane, err := a.Route(meta); err != nil || lane != "justiz" {
		t.Fatalf("Route = %q, %v", lane, err)
	}
	tr, err := a.TransportFor(meta)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := tr.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	card, err := tr.StoreDelivery(ctx, &mailbox.OutgoingDelivery{MessageID: id, Recipient: omSafeB, Subject: "Klage", Meta: meta})
	if err != nil {
		t.Fatalf("store at the recipient's intermediary: %v", err)
	}
	if card.Creation.IsZero() {
		t.Errorf("process card without creation: %+v", card)
	}
	if _, err := tr.FetchProcessCard(ctx, id); err != nil {
		t.Errorf("process card at the recipient's intermediary: %v", err)
	}
	if _, err := a.Transport().FetchProcessCard(ctx, id); !mailbox.IsNotFound(err) {
		t.Errorf("our own intermediary knows the message: %v", err)
	}
	for _, meta := range []string{``, `{"recipientIntermediaryUrl":"` + a.cfg.IntermediaryURL + `/"}`, `{"recipientIntermediary":"bebpo"}`} {
		if lane, err := a.Route([]byte(meta)); err != nil || lane != "bebpo" {
			t.Errorf("Route(%s) = %q, %v, want our own", meta, lane, err)
		}
	}
	if lane, err := a.Route([]byte(`{"recipientIntermediaryUrl":"` + set.Views()[0].URL + `"}`)); err != nil || lane != "justiz" {
		t.Errorf("a message queued with the URL of a configured intermediary routes to %q, %v", lane, err)
	}
}

// TestUnknownIntermediaryIsRefusedForGood: a message naming an
// intermediary that is not configured fails permanently, with the name,
// instead of going to ours.
func TestUnknownIntermediaryIsRefusedForGood(t *testing.T) {
	e := newOMEnv(t)
	for _, meta := range []string{`{"recipientIntermediary":"justiz-bw"}`, `{"recipientIntermediaryUrl":"https://elsewhere.invalid/osci"}`} {
		_, err := e.a.mb.TransportFor([]byte(meta))
		if !errors.Is(err, ErrUnknownIntermediary) || mailbox.Classify(err) != mailbox.Permanent {
			t.Errorf("TransportFor(%s) = %v (class %v)", meta, err, mailbox.Classify(err))
		}
	}
}

// TestOutageOfOneIntermediaryOpensItsCircuit: requests to an intermediary
// that is down fail as temporary; once its circuit is open the next
// request is refused without being made, while ours keeps working.
func TestOutageOfOneIntermediaryOpensItsCircuit(t *testing.T) {
	e := newOMEnv(t)
	reg := intermediaries.NewRegistry(e.clk.Now, nil)
	set, srv := secondIntermediary(t, e, reg)
	cfg := e.a.mb.cfg
	cfg.IntermediaryName, cfg.Intermediaries = "bebpo", set
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	tr, err := a.TransportFor([]byte(`{"recipientIntermediary":"justiz"}`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if _, err := tr.GetMessageID(ctx); mailbox.Classify(err) != mailbox.Temporary || mailbox.ErrorCode(err) == "circuit_open" {
			t.Fatalf("request %d to a stopped intermediary: %v (class %v)", i+1, err, mailbox.Classify(err))
		}
	}
	_, err = tr.GetMessageID(ctx)
	var open *intermediaries.CircuitOpenError
	if !errors.As(err, &open) || mailbox.ErrorCode(err) != "circuit_open" || mailbox.Classify(err) != mailbox.Temporary {
		t.Fatalf("third request = %v, want the open circuit", err)
	}
	if v := set.Views()[0]; v.State != "open" || v.ConsecutiveFailures != 2 {
		t.Errorf("health %+v", v)
	}
	if _, err := a.Transport().GetMessageID(ctx); err != nil {
		t.Errorf("our own intermediary during the other's outage: %v", err)
	}
}

// TestIntermediaryGivenInlineByTheEntry: an address-book entry may give
// its intermediary's URL and certificates instead of a configured name;
// the message goes there, encrypted to and verified with exactly those
// certificates, in a lane of its own; the same URL with another key is
// refused rather than mixed up with the first.
func TestIntermediaryGivenInlineByTheEntry(t *testing.T) {
	e := newOMEnv(t)
	configured, srv := secondIntermediary(t, e, intermediaries.NewRegistry(e.clk.Now, nil))
	pemOf := func(c *x509.Certificate) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	cipherB := omIssue(t, "intermediate-ca", "intermediary B cipher", "", 9201, x509.KeyUsageKeyEncipherment).Cert
	sigB := omIssue(t, "intermediate-ca", "intermediary B signature", "", 9202, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment).Cert
	if _, err := configured.Get("justiz"); err != nil {
		t.Fatal(err)
	}
	empty, err := intermediaries.Load(&config.Config{}, intermediaries.NewRegistry(e.clk.Now, nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.a.mb.cfg
	cfg.IntermediaryName, cfg.Intermediaries = "bebpo", empty
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bCert := pemOf(omSecondIdentity(t).Cipher.Cert)
	metaWith := func(cipher *x509.Certificate) []byte {
		return []byte(`{"recipientCert":` + strconv.Quote(bCert) + `,"recipientIntermediaryUrl":` + strconv.Quote(srv.URL) +
			`,"recipientIntermediaryCipherCert":` + strconv.Quote(pemOf(cipher)) + `,"recipientIntermediarySignatureCerts":[` + strconv.Quote(pemOf(sigB)) + `]}`)
	}
	meta := metaWith(cipherB)
	if lane, err := a.Route(meta); err != nil || lane != intermediaries.InlineName(srv.URL) {
		t.Fatalf("Route = %q, %v", lane, err)
	}
	tr, err := a.TransportFor(meta)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := tr.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.StoreDelivery(ctx, &mailbox.OutgoingDelivery{MessageID: id, Recipient: omSafeB, Subject: "Klage", Meta: meta}); err != nil {
		t.Fatalf("store at the inline intermediary: %v", err)
	}
	if v := empty.Views(); len(v) != 1 || v[0].Name != intermediaries.InlineName(srv.URL) || v[0].LastSuccess.IsZero() {
		t.Errorf("health of the inline intermediary: %+v", v)
	}
	if _, err := a.TransportFor(metaWith(sigB)); !errors.Is(err, ErrUnknownIntermediary) || mailbox.Classify(err) != mailbox.Permanent {
		t.Errorf("the same URL with another cipher certificate: %v", err)
	}
}

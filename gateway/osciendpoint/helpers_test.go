package osciendpoint

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite/sqlitetest"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// omTestNow is the validation time of the test PKI.
var omTestNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	omSafeA = "DE.Justiz.00000000-0000-4000-8000-00000000000a.000a"
	omSafeB = "DE.Justiz.00000000-0000-4000-8000-00000000000b.000b"
)

// omPKI loads a key pair of the test PKI.
func omPKI(t testing.TB, name string) *certs.KeyPair {
	t.Helper()
	k, c := certstest.PKIKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c}
}

var (
	omIssuedMu sync.Mutex
	omIssued   = map[string]*certs.KeyPair{}
)

// omIssue issues an RSA 3072 certificate from a CA of the test PKI, once
// per test binary and name.
// A non-empty uid goes into the subject's UID, as in beBPo VHN certificates.
func omIssue(t testing.TB, caName, cn, uid string, serial int64, ku x509.KeyUsage) *certs.KeyPair {
	t.Helper()
	omIssuedMu.Lock()
	defer omIssuedMu.Unlock()
	if kp := omIssued[cn]; kp != nil {
		return kp
	}
	ca := omPKI(t, caName)
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"Test"}},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: ku, SignatureAlgorithm: x509.SHA256WithRSA}
	if uid != "" {
		tmpl.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: uid}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kp := &certs.KeyPair{Key: key, Cert: c, Chain: []*x509.Certificate{ca.Cert}}
	omIssued[cn] = kp
	return kp
}

// omSecondIdentity is mailbox B's identity, issued by the intermediate CA.
func omSecondIdentity(t testing.TB) *certs.Identity {
	return &certs.Identity{
		Signature: omIssue(t, "intermediate-ca", "mailbox B signature", "", 9001, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment),
		Cipher:    omIssue(t, "intermediate-ca", "mailbox B cipher", "", 9002, x509.KeyUsageKeyEncipherment),
	}
}

// omTrust is a mailbox's trust: the test intermediary's signature
// certificate pinned, the test VHN CA, and the general test CAs and the
// VHN CA for party signatures (a beBPo signs its containers with its VHN key).
func omTrust(t testing.TB) certs.Validators {
	inter := certs.NewTrustStore()
	inter.Pin(omPKI(t, "intermediary-signature").Cert)
	vhn, content := certs.NewTrustStore(), certs.NewTrustStore()
	if err := vhn.AddCA(certstest.PKICert(t, "vhn-ca")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"root-ca", "intermediate-ca", "vhn-ca"} {
		if err := content.AddCA(certstest.PKICert(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	sets := certs.TrustSets{Intermediary: inter, VHN: vhn, ContentSigner: content}
	return sets.Validators(certs.Validator{Now: func() time.Time { return omTestNow },
		Policy: certs.Policy{SignatureRevocation: certs.RevocationOff, CipherRevocation: certs.RevocationOff}})
}

// omVHNIdentity is mailbox A's identity as a beBPo: its signature key pair
// is a VHN certificate naming omSafeA.
func omVHNIdentity(t testing.TB) *certs.Identity {
	return &certs.Identity{Signature: omIssue(t, "vhn-ca", "VHN A", omSafeA, 9102, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment),
		Cipher: omPKI(t, "mailbox-cipher")}
}

// omSide is one gateway: store, blobs and its OSCI mailbox.
type omSide struct {
	store mailbox.Store
	blobs *mailbox.Blobs
	mb    *Mailbox
	dir   string
}

// omEnv is two gateways (A sends, B receives) at one simulator.
type omEnv struct {
	clk    *certstest.Clock
	a, b   *omSide
	intake *mailbox.FolderIntake
	root   string
	log    *simLog // the simulator's line per order
}

// simLog collects the simulator's log lines.
type simLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *simLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// take returns the lines logged since the last take.
func (l *simLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// omWorld is what the gateways of a test share: the clock, the simulator
// and the directory that knows mailbox B.
type omWorld struct {
	clk  *certstest.Clock
	sim  *intermediary.Server
	url  string
	idB  *certs.Identity
	book func(ctx context.Context, safeID string) (addressbook.Recipient, error)
	log  *simLog // the simulator's line per answered order
}

func newOMWorld(t *testing.T, faults ...intermediary.Fault) *omWorld {
	t.Helper()
	w := &omWorld{clk: certstest.NewClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), 0), log: &simLog{}}
	sim, err := intermediary.New(intermediary.Config{Cipher: omPKI(t, "intermediary-cipher"), Signature: omPKI(t, "intermediary-signature"),
		DataDir: t.TempDir(), Now: w.clk.Now, Rand: certstest.DetRand("sim"), Faults: faults,
		Log: w.log.logf})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	w.sim, w.url = sim, srv.URL
	w.idB = omSecondIdentity(t)
	bPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.idB.Cipher.Cert.Raw}))
	w.book = func(_ context.Context, safeID string) (addressbook.Recipient, error) {
		if safeID != omSafeB {
			return addressbook.Recipient{}, addressbook.ErrNotFound
		}
		return addressbook.Recipient{SafeID: omSafeB, Name: "Amtsgericht Test", CipherCert: bPEM}, nil
	}
	return w
}

// mailbox is the OSCI mailbox name (safeID) of a gateway, spooling in
// spool (created); seed makes its randomness its own.
func (w *omWorld) mailbox(t *testing.T, name, safeID, seed, spool string, id *certs.Identity, card egvp.BusinessCard) *Mailbox {
	t.Helper()
	if err := os.Mkdir(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	mb, err := New(Config{Name: name, SafeID: safeID, Identity: id, IntermediaryURL: w.url,
		IntermediaryCipher: omPKI(t, "intermediary-cipher").Cert, Trust: omTrust(t), Recipients: w.book, Card: card,
		SpoolDir: spool, Now: w.clk.Now, Rand: certstest.DetRand(seed), RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

var (
	omCardA = egvp.BusinessCard{Organisation: "Stadt Erkelenz", Name: "Bußgeldstelle", City: "Erkelenz"}
	omCardB = egvp.BusinessCard{Organisation: "Justiz", Name: "Amtsgericht Test"}
)

func newOMEnv(t *testing.T, faults ...intermediary.Fault) *omEnv {
	t.Helper()
	return newOMEnvWith(t, omVHNIdentity(t), faults...)
}

// newOMEnvWith is newOMEnv with A's identity given.
func newOMEnvWith(t *testing.T, idA *certs.Identity, faults ...intermediary.Fault) *omEnv {
	t.Helper()
	w := newOMWorld(t, faults...)
	e := &omEnv{clk: w.clk, log: w.log}
	mk := func(name, safeID string, id *certs.Identity, card egvp.BusinessCard) *omSide {
		dir := t.TempDir()
		st, bl := sqlitetest.Open(t, dir, w.clk.Now)
		return &omSide{store: st, blobs: bl, mb: w.mailbox(t, name, safeID, name, filepath.Join(dir, "spool"), id, card), dir: dir}
	}
	e.a = mk("A", omSafeA, idA, omCardA)
	e.b = mk("B", omSafeB, w.idB, omCardB)
	e.root = filepath.Join(e.b.dir, "intake")
	if err := os.Mkdir(e.root, 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.intake, err = mailbox.NewFolderIntake(e.root, nil, e.clk.Now); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *omEnv) sender() *mailbox.Sender {
	return &mailbox.Sender{Store: e.a.store, Blobs: e.a.blobs, Now: e.clk.Now, Rand: certstest.DetRand("sender"),
		Transport: func(mailbox.Message) (mailbox.Transport, error) { return e.a.mb.Transport(), nil }}
}

func (e *omEnv) fetcher() *mailbox.Fetcher {
	return &mailbox.Fetcher{Store: e.b.store, Blobs: e.b.blobs, Now: e.clk.Now,
		Open: func(ctx context.Context, _ string) (mailbox.Session, error) { return e.b.mb.OpenSession(ctx) }}
}

func (e *omEnv) deliverer() *mailbox.Deliverer {
	return &mailbox.Deliverer{Store: e.b.store, Blobs: e.b.blobs, Sink: e.intake, Now: e.clk.Now, Rand: certstest.DetRand("deliverer")}
}

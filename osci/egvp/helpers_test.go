package egvp

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// shared reads a file of the shared reference material.
func shared(t testing.TB, rel string) []byte {
	t.Helper()
	return certstest.ReadFile(t, filepath.Join(certstest.SharedDir(t), filepath.FromSlash(rel)))
}

// pki loads a key pair of the test PKI.
func pki(t testing.TB, name string) *certs.KeyPair {
	t.Helper()
	k, c := certstest.PKIKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c}
}

var testNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// newClock advances one second per reading, from testNow.
func newClock() *certstest.Clock { return certstest.NewClock(testNow, time.Second) }

// generalCAs are the test PKI's root and intermediate CA.
var generalCAs = []string{"root-ca", "intermediate-ca"}

// trustSets is a mailbox's trust in these tests: the intermediary's
// signature certificate pinned, the test VHN CA, and contentCAs for party
// signatures (content signatures, non-VHN transport signatures).
func trustSets(t testing.TB, contentCAs ...string) certs.TrustSets {
	t.Helper()
	inter := certs.NewTrustStore()
	inter.Pin(certstest.PKICert(t, "intermediary-signature"))
	vhn := certs.NewTrustStore()
	if err := vhn.AddCA(certstest.PKICert(t, "vhn-ca")); err != nil {
		t.Fatal(err)
	}
	content := certs.NewTrustStore()
	for _, n := range contentCAs {
		if err := content.AddCA(certstest.PKICert(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	return certs.TrustSets{Intermediary: inter, VHN: vhn, ContentSigner: content}
}

// validators are trustSets' validators; revocation is off (no responder
// in these tests).
func validators(t testing.TB, contentCAs ...string) certs.Validators {
	return trustSets(t, contentCAs...).Validators(certs.Validator{Now: func() time.Time { return testNow },
		Policy: certs.Policy{SignatureRevocation: certs.RevocationOff, CipherRevocation: certs.RevocationOff}})
}

// world is a simulator and a client of the test mailbox, which sends to itself.
type world struct {
	client *osci.Client
	url    string
}

func newWorld(t testing.TB) *world {
	return newWorldAs(t, pki(t, "mailbox-signature"))
}

// newWorldAs is newWorld with the client signing its orders (the
// transport signature) with sig.
func newWorldAs(t testing.TB, sig *certs.KeyPair) *world {
	sim, err := intermediary.New(intermediary.Config{Cipher: pki(t, "intermediary-cipher"), Signature: pki(t, "intermediary-signature"),
		DataDir: t.TempDir(), Now: newClock().Now, Rand: certstest.DetRand("sim")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := osci.NewClient(osci.ClientConfig{URL: srv.URL, Signature: sig, Cipher: pki(t, "mailbox-cipher"),
		IntermediaryCipher: certstest.PKICert(t, "intermediary-cipher"), IntermediaryKeys: xmlsec.ValidatorSelector{V: validators(t).Intermediary},
		Rand: certstest.DetRand("client"), SpoolDir: t.TempDir(), RetryWaitMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &world{client: c, url: srv.URL}
}

// roundTrip stores pkg and fetches it back; it returns the delivery and
// the attachments as received.
func (w *world) roundTrip(t *testing.T, pkg *Package) (*osci.Delivery, *osci.DirAttachments) {
	t.Helper()
	return w.roundTripTB(t, pkg)
}

func (w *world) roundTripTB(t testing.TB, pkg *Package) (*osci.Delivery, *osci.DirAttachments) {
	t.Helper()
	ctx := context.Background()
	id, err := w.client.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pkg.Delivery.MessageID = id
	if _, err := w.client.StoreDelivery(ctx, pkg.Delivery); err != nil {
		t.Fatal(err)
	}
	s, err := w.client.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parts := &osci.DirAttachments{Dir: t.TempDir()}
	d, err := s.FetchDelivery(ctx, id, parts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Acknowledge(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return d, parts
}

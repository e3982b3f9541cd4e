package intermediary

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"flag"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts in testdata/osci at the module root")

// keyPair loads a sample keystore of the reference library.
func keyPair(t testing.TB, name string) *certs.KeyPair {
	t.Helper()
	k, c, chain := certstest.ReferenceKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c, Chain: chain}
}

// newClock advances one second per reading, from a fixed start.
func newClock() *certstest.Clock {
	return certstest.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), time.Second)
}

func newSimulator(t testing.TB, faults ...Fault) (*Server, *httptest.Server) {
	s, err := New(Config{Cipher: keyPair(t, "osci_manager_cipher_4096"), Signature: keyPair(t, "osci_manager_signature_4096"),
		DataDir: t.TempDir(), Now: newClock().Now, Rand: certstest.DetRand("simulator"), Faults: faults})
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

func clientConfig(t testing.TB, url, who string) osci.ClientConfig {
	return osci.ClientConfig{URL: url, Signature: keyPair(t, who+"_signature_4096"), Cipher: keyPair(t, who+"_cipher_4096"),
		IntermediaryCipher: keyPair(t, "osci_manager_cipher_4096").Cert, IntermediaryKeys: pinned(keyPair(t, "osci_manager_signature_4096").Cert),
		Rand: certstest.DetRand(who), SpoolDir: t.TempDir(), RetryWaitMax: 10 * time.Millisecond}
}

func newClient(t testing.TB, url, who string) *osci.Client {
	c, err := osci.NewClient(clientConfig(t, url, who))
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
	key, _, err := osci.EncryptAttachment(&ct, strings.NewReader(text), "schriftsatz.pdf", certstest.DetRand(id))
	if err != nil {
		t.Fatal(err)
	}
	b := &osci.PackageBuilder{Rand: certstest.DetRand("pkg" + id)}
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

func decrypter(t testing.TB, name string) *xmlenc.Decrypter {
	kp := keyPair(t, name)
	return &xmlenc.Decrypter{Key: kp.Key.(crypto.Decrypter), SpoolDir: t.TempDir()}
}

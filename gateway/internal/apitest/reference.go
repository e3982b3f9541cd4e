package apitest

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/osciendpoint"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ReferenceKey loads one of the reference library's sample keystores
// (../shared/vectors/osci-java/certs, password 123456), e.g. "bob_cipher_4096".
func ReferenceKey(t testing.TB, name string) *certs.KeyPair {
	t.Helper()
	k, c, chain := certstest.ReferenceKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c, Chain: chain}
}

// ReferenceReprocessor is the OSCI bridge of bob's mailbox at the
// reference library's test intermediary (its keys, the intermediary's
// signature and alice's signature certificate pinned), which reads the
// golden fetches of testdata/osci-java again; it serves every mailbox.
func ReferenceReprocessor(t testing.TB) func(string) (mailbox.Reprocessor, error) {
	t.Helper()
	inter, content := certs.NewTrustStore(), certs.NewTrustStore()
	inter.Pin(ReferenceKey(t, "osci_manager_signature_4096").Cert)
	content.Pin(ReferenceKey(t, "alice_signature_4096").Cert)
	sets := certs.TrustSets{Intermediary: inter, ContentSigner: content}
	now := func() time.Time { return certstest.ReferenceNow }
	mb, err := osciendpoint.New(osciendpoint.Config{Name: "bob", SafeID: "bob",
		Identity:        &certs.Identity{Signature: ReferenceKey(t, "bob_signature_4096"), Cipher: ReferenceKey(t, "bob_cipher_4096")},
		IntermediaryURL: "http://127.0.0.1:1/", IntermediaryCipher: ReferenceKey(t, "osci_manager_cipher_4096").Cert,
		Trust:    sets.Validators(certs.Validator{Now: now, Policy: certs.Policy{SignatureRevocation: certs.RevocationOff, CipherRevocation: certs.RevocationOff}}),
		SpoolDir: t.TempDir(), Now: now, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	return func(string) (mailbox.Reprocessor, error) { return mb, nil }
}

// ParkReference stores the golden fetch of one reference library message
// shape (testdata/osci-java/<shape>) for mailbox as the fetch engine parks
// an unreadable delivery, and returns the row.
func ParkReference(t testing.TB, st mailbox.Store, blobs *mailbox.Blobs, mailboxName, shape string) mailbox.Message {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "testdata", "osci-java", shape)
	raw, err := os.ReadFile(filepath.Join(dir, "fetchDelivery.mime"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := os.ReadFile(filepath.Join(dir, "messageid"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := blobs.Put(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.InsertIncoming(context.Background(), mailbox.NewIncoming{Mailbox: mailboxName, OSCIMessageID: strings.TrimSpace(string(id)),
		ContentSHA256: ref.SHA256, Size: ref.Size, Meta: []byte(`{}`), Now: certstest.ReferenceNow, Unreadable: "XML limit", Attempts: 3,
		Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: mailbox.FileOriginal, ContentType: "multipart/related", SHA256: ref.SHA256, Size: ref.Size}}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// ReferenceSafeID is bob's SAFE-ID in ReferenceConfig.
const ReferenceSafeID = "DE.Test.bob"

// ReferenceConfig writes, below dir, a gateway configuration with one
// mailbox "bob" holding the reference library's sample keys for bob (the
// library's test intermediary pinned, its sample root CA trusted, so
// alice's signatures validate), its intermediary at simURL, data in
// dataDir and a folder intake at intake, the API at apiListen; it returns
// the configuration's path.
func ReferenceConfig(t testing.TB, dir, simURL, dataDir, intake, apiListen string) string {
	t.Helper()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	vec := filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", "certs")
	for _, n := range []string{"bob_signature_4096", "bob_cipher_4096", "osci_manager_cipher_4096", "osci_manager_signature_4096"} {
		data, err := os.ReadFile(filepath.Join(vec, n+".p12"))
		if err != nil {
			t.Fatal(err)
		}
		write(n+".p12", data)
	}
	write("p12.password", []byte("123456\n"))
	write("tokens", []byte("ops:"+Token+"\n"))
	write("osci-manager-cipher.pem", pemCert(ReferenceKey(t, "osci_manager_cipher_4096").Cert.Raw))
	write("osci-manager-signature.pem", pemCert(ReferenceKey(t, "osci_manager_signature_4096").Cert.Raw))
	// The sample keystores carry their chain: the library's test CA and root.
	var cas []byte
	for _, c := range ReferenceKey(t, "alice_signature_4096").Chain {
		cas = append(cas, pemCert(c.Raw)...)
	}
	write("reference-cas.pem", cas)
	cfg := fmt.Sprintf(`data_dir: %q
log:
  format: json
  level: info
api:
  listen: %q
  tokens_file: tokens
trust:
  cas: [reference-cas.pem]
  revocation: "off"
intakes:
  - name: eakte
    type: folder
    path: %q
mailboxes:
  - name: bob
    safe_id: %s
    poll_interval: 1s
    intake: eakte
    intermediary:
      url: %q
      cipher_cert: osci-manager-cipher.pem
      signature_certs: [osci-manager-signature.pem]
    signature:
      pkcs12: bob_signature_4096.p12
      password: {file: p12.password}
    cipher:
      pkcs12: bob_cipher_4096.p12
      password: {file: p12.password}
`, dataDir, apiListen, intake, ReferenceSafeID, simURL)
	write("gateway.yaml", []byte(cfg))
	return filepath.Join(dir, "gateway.yaml")
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

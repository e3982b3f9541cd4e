package osciendpoint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// bobMailbox is bob's mailbox at the reference library's test
// intermediary: its keys, the intermediary's signature pinned, alice's
// signature certificate pinned for party signatures.
func bobMailbox(t *testing.T) *Mailbox {
	inter, content := certs.NewTrustStore(), certs.NewTrustStore()
	inter.Pin(libraryKey(t, "osci_manager_signature_4096").Cert)
	content.Pin(libraryKey(t, "alice_signature_4096").Cert)
	sets := certs.TrustSets{Intermediary: inter, ContentSigner: content}
	now := func() time.Time { return certstest.ReferenceNow }
	mb, err := New(Config{Name: "bob", SafeID: "bob", Identity: &certs.Identity{Signature: libraryKey(t, "bob_signature_4096"),
		Cipher: libraryKey(t, "bob_cipher_4096")}, IntermediaryURL: "http://127.0.0.1:1/", IntermediaryCipher: libraryKey(t, "osci_manager_cipher_4096").Cert,
		Trust:    sets.Validators(certs.Validator{Now: now, Policy: certs.Policy{SignatureRevocation: certs.RevocationOff, CipherRevocation: certs.RevocationOff}}),
		SpoolDir: t.TempDir(), Now: now, Rand: newOMRand("bob")})
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// TestReferenceLibraryMessagesReachTheIntake: each message the reference
// library stored for bob, kept as bob's gateway received it and read
// again through the bridge, arrives in the intake once, valid, with both
// containers' texts and attachments as documents, the notes in
// metadata.json, and CON.pdf beside con.pdf.
func TestReferenceLibraryMessagesReachTheIntake(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName), sqlite.Options{Now: func() time.Time { return certstest.ReferenceNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "intake")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	intake, err := mailbox.NewFolderIntake(root, nil, func() time.Time { return certstest.ReferenceNow })
	if err != nil {
		t.Fatal(err)
	}
	mb := bobMailbox(t)
	want := map[string][]string{
		"signed-plain-encrypted": {"content0.txt", "content2.txt", "geheim.txt", "schriftsatz.txt"},
		"signed-encrypted":       {"content0.txt", "geheim.txt"},
		"unsigned":               {"content0.txt", "content2.txt", "geheim.txt", "schriftsatz.txt"},
		"names":                  {"CON.pdf", "con.pdf", "content0.txt"},
	}
	ids := map[string]string{}
	for shape := range want {
		corpus := filepath.Join(certstest.RepoRoot(t), "testdata", "osci-java", shape)
		raw, err := os.ReadFile(filepath.Join(corpus, "fetchDelivery.mime"))
		if err != nil {
			t.Fatal(err)
		}
		id, err := os.ReadFile(filepath.Join(corpus, "messageid"))
		if err != nil {
			t.Fatal(err)
		}
		ids[strings.TrimSpace(string(id))] = shape
		// Stored as a fetch parks it, then read through the bridge.
		ref, err := blobs.Put(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "bob", OSCIMessageID: strings.TrimSpace(string(id)), ContentSHA256: ref.SHA256,
			Size: ref.Size, Meta: []byte(`{}`), Now: certstest.ReferenceNow, Unreadable: "kept for this test", Attempts: 1,
			Documents: []mailbox.Document{{Role: mailbox.RoleOriginal, Name: mailbox.FileOriginal, ContentType: "multipart/related", SHA256: ref.SHA256, Size: ref.Size}}})
		if err != nil {
			t.Fatal(err)
		}
		if m, err = mailbox.Reprocess(ctx, st, blobs, mb, m.ID, "test", certstest.ReferenceNow); err != nil || m.State != mailbox.StateReceived {
			t.Fatalf("%s: %+v %v", shape, m, err)
		}
	}
	d := &mailbox.Deliverer{Store: st, Blobs: blobs, Sink: intake, Now: func() time.Time { return certstest.ReferenceNow }, Rand: newOMRand("d")}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil || len(entries) != len(want) {
		t.Fatalf("%d intake entries: %v", len(entries), err)
	}
	for _, ent := range entries {
		edir := filepath.Join(root, ent.Name())
		var md mailbox.IntakeMetadata
		if err := json.Unmarshal(omRead(t, edir, mailbox.FileMetadataJSON), &md); err != nil {
			t.Fatal(err)
		}
		shape := ids[md.MessageID]
		var names []string
		for _, doc := range md.Documents {
			names = append(names, doc.OriginalName)
			sum := sha256.Sum256(omRead(t, edir, mailbox.DocumentsDir+"/"+doc.FileName))
			if hex.EncodeToString(sum[:]) != doc.SHA256 || !doc.Signed || doc.Coverage == "" {
				t.Errorf("%s: document %+v", shape, doc)
			}
			if err := mailbox.ValidFileName(doc.FileName); err != nil {
				t.Errorf("%s: %v", shape, err)
			}
		}
		sort.Strings(names)
		if md.VerificationStatus != mailbox.ResultValid || strings.Join(names, "|") != strings.Join(want[shape], "|") {
			t.Errorf("%s: status %s, documents %q", shape, md.VerificationStatus, names)
		}
		if len(md.Notes) == 0 || !strings.HasPrefix(strings.Join(md.Notes, "|"), "keine EGVP-Nachricht") {
			t.Errorf("%s: notes %q", shape, md.Notes)
		}
	}
	states, err := st.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range states {
		if c.State != mailbox.StateDelivered {
			t.Errorf("%+v", c)
		}
	}
}

// libraryKey loads a sample keystore of the reference library.
func libraryKey(t *testing.T, name string) *certs.KeyPair {
	t.Helper()
	k, c, chain := certstest.ReferenceKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c, Chain: chain}
}

package egvp

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// The golden fetches in testdata/osci-java at the module root are
// fetchDelivery responses as the gateway received them for bob's mailbox
// (transport-encrypted to bob, signed by the test intermediary
// osci_manager), each carrying a storeDelivery the public OSCI reference
// library 2.4.1 wrote as alice; library-check.txt is what the library
// itself read from the same delivery, its own signature check included.

// libraryTrust is bob's trust: the test intermediary's signature pinned,
// alice's signature certificate pinned for party signatures (the
// library's sample CA is not published).
func libraryTrust(t *testing.T) certs.Validators {
	inter, content := certs.NewTrustStore(), certs.NewTrustStore()
	inter.Pin(libraryKey(t, "osci_manager_signature_4096").Cert)
	content.Pin(libraryKey(t, "alice_signature_4096").Cert)
	sets := certs.TrustSets{Intermediary: inter, ContentSigner: content}
	return sets.Validators(certs.Validator{Now: func() time.Time { return certstest.ReferenceNow },
		Policy: certs.Policy{SignatureRevocation: certs.RevocationOff, CipherRevocation: certs.RevocationOff}})
}

// readGolden reads testdata/osci-java/<shape>/fetchDelivery.mime as bob
// would read it again from the stored original: osci.Client.ReadDelivery,
// then the Reader.
func readGolden(t *testing.T, shape string, r *Reader) *Received {
	t.Helper()
	dir := filepath.Join(certstest.RepoRoot(t), "testdata", "osci-java", shape)
	id := strings.TrimSpace(string(certstest.ReadFile(t, filepath.Join(dir, "messageid"))))
	trust := libraryTrust(t)
	c, err := osci.NewClient(osci.ClientConfig{URL: "http://127.0.0.1:1/", Signature: libraryKey(t, "bob_signature_4096"),
		Cipher: libraryKey(t, "bob_cipher_4096"), IntermediaryCipher: libraryKey(t, "osci_manager_cipher_4096").Cert,
		IntermediaryKeys: xmlsec.ValidatorSelector{V: trust.Intermediary}, Rand: certstest.DetRand("bob"), SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "fetchDelivery.mime"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parts := &osci.DirAttachments{Dir: t.TempDir()}
	d, err := c.ReadDelivery(context.Background(), f, id, parts)
	if err != nil {
		t.Fatal(err)
	}
	if r == nil {
		r = libraryReader(t)
	}
	got, err := r.Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func libraryReader(t *testing.T) *Reader {
	return &Reader{Cipher: libraryKey(t, "bob_cipher_4096"), Trust: libraryTrust(t), SpoolDir: t.TempDir(), Now: func() time.Time { return certstest.ReferenceNow }}
}

type wantDoc struct{ name, text, coverage string }

// TestReferenceLibraryMessagesReachTheIntake: every message shape of the
// reference library reads as a valid delivery (issue 19 saw all of them
// quarantined as verification_failed): each container's texts as .txt and
// attachments under their names, every document covered by a signature
// (the content signature where the container carries one, else the
// sender's transport signature), what is unusual in the notes.
func TestReferenceLibraryMessagesReachTheIntake(t *testing.T) {
	notE2E, notEGVP := NoteNotEndToEnd, NoteNotEGVP
	tests := []struct {
		shape string
		docs  []wantDoc
		notes []string
	}{
		// In package order: the library writes encrypted containers first.
		{"signed-plain-encrypted", []wantDoc{
			{"content2.txt", "Vertraulicher Inhalt", CoverTransport},
			{"geheim.txt", "Anlage geheim.txt: vertrauliche Bytes", CoverTransport},
			{"content0.txt", "Klageerwiderung im Verfahren 1 K 519/20", CoverContent},
			{"schriftsatz.txt", "Inhalt des Schriftsatzes, unverschluesselt.", CoverContent},
		}, []string{notEGVP, notE2E}},
		{"signed-encrypted", []wantDoc{
			{"content0.txt", "Vertraulicher Inhalt", CoverContent},
			{"geheim.txt", "Anlage geheim.txt: vertrauliche Bytes", CoverContent},
		}, []string{notEGVP}},
		{"unsigned", []wantDoc{
			{"content2.txt", "Vertraulicher Inhalt", CoverTransport},
			{"geheim.txt", "Anlage geheim.txt: vertrauliche Bytes", CoverTransport},
			{"content0.txt", "Klageerwiderung im Verfahren 1 K 519/20", CoverTransport},
			{"schriftsatz.txt", "Inhalt des Schriftsatzes, unverschluesselt.", CoverTransport},
		}, []string{notEGVP, notE2E}},
		{"names", []wantDoc{
			{"content0.txt", "Vertraulicher Inhalt", CoverContent},
			{"CON.pdf", "Anlage CON.pdf: vertrauliche Bytes", CoverContent},
			{"con.pdf", "Anlage con.pdf: vertrauliche Bytes", CoverContent},
		}, []string{notEGVP}},
	}
	alice := certs.DN(libraryKey(t, "alice_signature_4096").Cert.Subject)
	for _, tc := range tests {
		t.Run(tc.shape, func(t *testing.T) {
			got := readGolden(t, tc.shape, nil)
			if v := got.Report.Verdict(); v.Status != checkresult.Valid {
				t.Fatalf("verdict %+v\nproblems %q\nsignatures %+v", v, got.Report.Problems, got.Report.Signatures)
			}
			if got.EGVP || got.Subject != "Allgemeine Nachricht" {
				t.Fatalf("egvp %v subject %q", got.EGVP, got.Subject)
			}
			if len(got.Documents) != len(tc.docs) {
				t.Fatalf("%d documents: %+v", len(got.Documents), got.Documents)
			}
			for i, w := range tc.docs {
				d := got.Documents[i]
				if d.Name != w.name || string(certstest.ReadFile(t, d.Path)) != w.text || !d.Signed || d.Coverage != w.coverage ||
					len(d.SignedBy) != 1 || d.SignedBy[0] != alice {
					t.Errorf("document %d: %+v, want %+v", i, d, w)
				}
				if filepath.Base(d.Path) == d.Name {
					t.Errorf("document %s written under the sender's name", d.Name)
				}
			}
			var kinds []string
			for _, n := range got.Report.Notes {
				kinds = append(kinds, strings.SplitN(n, ":", 2)[0])
			}
			sort.Strings(kinds)
			want := append([]string(nil), tc.notes...)
			sort.Strings(want)
			if strings.Join(kinds, "|") != strings.Join(want, "|") {
				t.Fatalf("notes %q, want %q", got.Report.Notes, tc.notes)
			}
		})
	}
}

// TestReferenceLibrarySignsEncryptedAttachmentPlaintext: a container the
// reference library signed that holds an encrypted attachment verifies
// (issue 19 saw "integrity corrupted"): the library's "cid:" reference
// digests the attachment's plaintext, not the ciphertext that travels
// (ContentContainer.sign → Attachment.getDigestValue, the digest taken
// before encryption), and library-check.txt shows the library's own
// check of the same container passing.
func TestReferenceLibrarySignsEncryptedAttachmentPlaintext(t *testing.T) {
	got := readGolden(t, "signed-encrypted", nil)
	if !strings.Contains(string(certstest.ReadFile(t, filepath.Join(certstest.RepoRoot(t), "testdata", "osci-java", "signed-encrypted", "library-check.txt"))),
		"library signature check: true") {
		t.Fatal("the library's own check is not recorded as passing")
	}
	var content []SignatureCheck
	for _, s := range got.Report.Signatures {
		if s.Kind == KindContent {
			content = append(content, s)
		}
	}
	if len(content) != 1 || content[0].Integrity != checkresult.OK || content[0].CertValidity != checkresult.Valid {
		t.Fatalf("content signatures %+v", content)
	}
}

// TestEndToEndPolicyQuarantinesTransportOnlyContent: a mailbox that
// requires end-to-end encryption refuses a container in clear with the
// policy reason, not as a failed verification.
func TestEndToEndPolicyQuarantinesTransportOnlyContent(t *testing.T) {
	r := libraryReader(t)
	r.RequireEndToEnd = true
	got := readGolden(t, "signed-plain-encrypted", r)
	if v := got.Report.Verdict(); v.Status != checkresult.Invalid || v.Reason != ReasonPolicyEndToEnd || !strings.Contains(v.Text, "contentcontainer0") {
		t.Fatalf("verdict %+v", v)
	}
	if len(got.Documents) != 4 {
		t.Fatalf("%d documents", len(got.Documents))
	}
	if got := readGolden(t, "signed-encrypted", r); got.Report.Verdict().Status != checkresult.Valid {
		t.Fatalf("an encrypted container breaks no policy: %+v", got.Report.Verdict())
	}
}

// libraryKey loads a sample keystore of the reference library.
func libraryKey(t *testing.T, name string) *certs.KeyPair {
	t.Helper()
	k, c, chain := certstest.ReferenceKey(t, name)
	return &certs.KeyPair{Key: k, Cert: c, Chain: chain}
}

package osci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

type memOpener map[string][]byte

func (m memOpener) OpenPart(cid string) (io.ReadCloser, error) {
	b, ok := m[cid]
	if !ok {
		return nil, fmt.Errorf("no part %q", cid)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m memOpener) resolver() xmlsec.AttachmentResolver { return m.OpenPart }

// TestContentReferenceVector opens the content of the reference library's
// storeDelivery as its addressee (bob): the encrypted container, its
// encrypted attachment, and the plain, originator-signed container.
func TestContentReferenceVector(t *testing.T) {
	e, parts := collect(t, readShared(t, "vectors/osci-java/requests-plain/storeDelivery.mime"), MIMELimits{})
	m, err := Parse(e.SOAP, xmlsec.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	opener := memOpener{}
	var ids []string
	for _, p := range parts {
		opener[p.h.ContentID] = p.data
		ids = append(ids, p.h.ContentID)
	}
	alice := m.NonIntermediary.Get(SignatureOriginator)
	v, err := m.Verify(context.Background(), VerifyOptions{Keys: pinned(alice), Attachments: opener.resolver(), AttachmentIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := OpenContentPackage(v.Message, decrypterFor(t, "bob_cipher_4096"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || !cs[0].Encrypted || cs[0].ID != "contentcontainer1" || cs[1].ID != "contentcontainer0" {
		t.Fatalf("containers %+v", cs)
	}
	if string(cs[0].Contents[0].Data) != "Vertraulicher Inhalt" || cs[0].Contents[1].Href != "secret.txt" || !cs[0].AttachmentEncrypted("secret.txt") {
		t.Fatalf("encrypted container %+v", cs[0].Container)
	}
	var plain bytes.Buffer
	if _, err := cs[0].DecryptAttachment(&plain, "secret.txt", opener, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if plain.Len() == 0 || plain.Len() != len(opener["secret.txt"])-28 {
		t.Fatalf("secret.txt: %d bytes", plain.Len())
	}
	t.Logf("secret.txt: %q", plain.String())
	if string(cs[1].Contents[0].Data) != "Klageerwiderung im Verfahren 1 K 519/20" || cs[1].Contents[1].Href != "plain.txt" || !cs[1].Signed() {
		t.Fatalf("plain container %+v", cs[1].Container)
	}
	if _, err := cs[1].VerifySignatures(context.Background(), pinned(alice), opener.resolver()); err != nil {
		if errors.Is(err, xmlsec.ErrAlgorithmNotAllowed) || errors.Is(err, xmlsec.ErrMalformedSignature) {
			t.Skipf("content signature uses the xmldsig#base64 transform, which xmlsec does not implement yet: %v", err)
		}
		t.Fatal(err)
	}
	t.Run("not for alice", func(t *testing.T) {
		if _, err := OpenContentPackage(v.Message, decrypterFor(t, "alice_cipher_4096")); !errors.Is(err, xmlenc.ErrDecrypt) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestContentRoundTrip builds a storeDelivery with an encrypted container
// (inline, attachment, nested content; encrypted attachment), a signed plain
// container, signs and transport-encrypts the message, and opens it again as
// the intermediary (transport) and as bob (content).
func TestContentRoundTrip(t *testing.T) {
	aliceSig, mgrCipher := loadKeyPair(t, "alice_signature_4096"), loadCert(t, "osci_manager_cipher_4096")
	bob := loadCert(t, "bob_cipher_4096")
	p := testParties(t)
	rand := certstest.DetRand("content")
	secret := bytes.Repeat([]byte("Schriftsatz "), 10000)
	var encPart bytes.Buffer
	key, _, err := EncryptAttachment(&encPart, bytes.NewReader(secret), "schriftsatz.pdf", rand)
	if err != nil {
		t.Fatal(err)
	}
	parts := memOpener{"schriftsatz.pdf": encPart.Bytes(), "anlage.txt": []byte("Anlage")}
	readerID := p.nonInter[2].ID // reader0_cipher_ of bob
	signerID := NewCertEntry(SignatureOriginator, 0, aliceSig.Cert).ID
	b := &PackageBuilder{Rand: rand}
	err = b.AddEncrypted(&Container{ID: "project_coco", Contents: []Content{
		{ID: "nachricht.xml", Data: []byte("<Nachricht/>")},
		{ID: "schriftsatz.pdf", Href: "schriftsatz.pdf"},
		{ID: "nested", Container: &Container{ID: "inner", Contents: []Content{{ID: "x", Data: []byte("x")}}}},
	}}, []Reader{{Cert: bob, ID: readerID}}, key)
	if err != nil {
		t.Fatal(err)
	}
	b.Signer, b.SignerID, b.Attachments = &Signer{Key: aliceSig.Key, Certificate: aliceSig.Cert}, signerID, parts.resolver()
	if err := b.AddPlain(&Container{ID: "govello_coco", Contents: []Content{{ID: "additional_infos", Data: []byte("user_id=x")},
		{ID: "anlage", Href: "anlage.txt"}}}); err != nil {
		t.Fatal(err)
	}
	m := *sampleMessages(t)["storeDelivery"]
	m.Content = b.Bytes()
	env, err := m.SignedEnvelope(Signer{Key: aliceSig.Key, Certificate: aliceSig.Cert}, parts.resolver(), "schriftsatz.pdf", "anlage.txt")
	if err != nil {
		t.Fatal(err)
	}
	var wire bytes.Buffer
	err = WriteMessage(&wire, WriteOptions{Rand: rand, EncryptTo: mgrCipher, SpoolDir: t.TempDir()}, env,
		Attachment{ContentID: "schriftsatz.pdf", Size: int64(encPart.Len()), Body: bytes.NewReader(encPart.Bytes())},
		Attachment{ContentID: "anlage.txt", Size: 6, Body: bytes.NewReader(parts["anlage.txt"])})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	in, err := ReadMessage(&wire, ReadOptions{Decrypter: decrypterFor(t, "osci_manager_cipher_4096"), RequireEncryption: true, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	got := memOpener{}
	for _, p := range sink.parts {
		got[p.h.ContentID] = p.data
	}
	v, err := in.Message.Verify(context.Background(), VerifyOptions{Keys: pinned(aliceSig.Cert), Attachments: got.resolver(), AttachmentIDs: []string{"schriftsatz.pdf", "anlage.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := OpenContentPackage(v.Message, decrypterFor(t, "bob_cipher_4096"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].ID != "project_coco" || cs[0].Contents[2].Container.Contents[0].ID != "x" || string(cs[1].Contents[0].Data) != "user_id=x" {
		t.Fatalf("containers %+v %+v", cs[0].Container, cs[1].Container)
	}
	var out bytes.Buffer
	if _, err := cs[0].DecryptAttachment(&out, "schriftsatz.pdf", got, t.TempDir()); err != nil || !bytes.Equal(out.Bytes(), secret) {
		t.Fatalf("attachment: %v", err)
	}
	if _, err := cs[1].VerifySignatures(context.Background(), pinned(aliceSig.Cert), got.resolver()); err != nil {
		t.Fatal(err)
	}
	t.Run("attachment tampered", func(t *testing.T) {
		bad := memOpener{"schriftsatz.pdf": flipNear(got["schriftsatz.pdf"], 100)}
		var out bytes.Buffer
		if _, err := cs[0].DecryptAttachment(&out, "schriftsatz.pdf", bad, t.TempDir()); !errors.Is(err, xmlenc.ErrDecrypt) || out.Len() != 0 {
			t.Fatalf("err = %v, %d bytes released", err, out.Len())
		}
	})
	t.Run("signed attachment swapped", func(t *testing.T) {
		bad := memOpener{"anlage.txt": []byte("Anlagf")}
		if _, err := cs[1].VerifySignatures(context.Background(), pinned(aliceSig.Cert), bad.resolver()); !errors.Is(err, xmlsec.ErrDigestMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no key for plain attachment", func(t *testing.T) {
		if _, err := cs[1].DecryptAttachment(io.Discard, "anlage.txt", got, t.TempDir()); !errors.Is(err, ErrNoContentKey) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestContentRejects(t *testing.T) {
	tests := []struct {
		name string
		c    *Container
	}{
		{"no id", &Container{Contents: []Content{{ID: "a", Data: []byte("a")}}}},
		{"content without id", &Container{ID: "c", Contents: []Content{{Data: []byte("a")}}}},
		{"two kinds", &Container{ID: "c", Contents: []Content{{ID: "a", Data: []byte("a"), Href: "x"}}}},
		{"empty content", &Container{ID: "c", Contents: []Content{{ID: "a"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := (&PackageBuilder{}).AddPlain(tc.c); !errors.Is(err, ErrContent) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

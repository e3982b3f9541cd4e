package osci

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
)

type memSink struct{ parts []collected }

func (s *memSink) Attachment(h PartHeader, r io.Reader) error {
	b, err := io.ReadAll(r)
	s.parts = append(s.parts, collected{h, b})
	return err
}

func decrypterFor(t testing.TB, name string) *xmlenc.Decrypter {
	kp := loadKeyPair(t, name)
	return &xmlenc.Decrypter{Key: kp.Key.(crypto.Decrypter), SpoolDir: t.TempDir()}
}

// TestDecryptReferenceVectors decrypts every transport-encrypted request of
// the reference library with the test intermediary's key and verifies the
// ClientSignature of the inner message, attachments included.
func TestDecryptReferenceVectors(t *testing.T) {
	dec := decrypterFor(t, "osci_manager_cipher_4096")
	tests := []struct {
		name        string
		typ         MessageType
		attachments int
	}{
		{"initDialog", TypeInitDialog, 0},
		{"getMessageId", TypeGetMessageID, 0},
		{"storeDelivery", TypeStoreDelivery, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			in, err := ReadMessage(bytes.NewReader(readShared(t, "vectors/osci-java/requests-encrypted/"+tc.name+".mime")),
				ReadOptions{Decrypter: dec, RequireEncryption: true, Sink: sink})
			if err != nil {
				t.Fatal(err)
			}
			if !in.Encrypted || in.Message.Type != tc.typ || len(sink.parts) != tc.attachments {
				t.Fatalf("encrypted %v type %s attachments %d", in.Encrypted, in.Message.Type, len(sink.parts))
			}
			var ids []string
			for _, p := range sink.parts {
				ids = append(ids, p.h.ContentID)
			}
			signer := in.Message.NonIntermediary.Get(SignatureOriginator)
			if _, err := in.Message.Verify(context.Background(), VerifyOptions{Keys: pinned(signer), Attachments: memParts(sink.parts), AttachmentIDs: ids}); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		_, err := ReadMessage(bytes.NewReader(readShared(t, "vectors/osci-java/requests-encrypted/getMessageId.mime")),
			ReadOptions{Decrypter: decrypterFor(t, "bob_cipher_4096")})
		if !errors.Is(err, xmlenc.ErrDecrypt) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestTransportRoundTrip encrypts a storeDelivery with attachments to bob and
// reads it back; then tampers with the ciphertext.
func TestTransportRoundTrip(t *testing.T) {
	bob := loadCert(t, "bob_cipher_4096")
	env := []byte(envelopeOf(t, "storeDelivery"))
	big := bytes.Repeat([]byte("0123456789abcdef"), 50000)
	write := func(t *testing.T) []byte {
		var b bytes.Buffer
		err := WriteMessage(&b, WriteOptions{Rand: certstest.DetRand("enc"), EncryptTo: bob, SpoolDir: t.TempDir()}, env,
			Attachment{ContentID: "a.pdf", Size: 9, Body: strings.NewReader("%PDF-1.7\n")},
			Attachment{ContentID: "big.bin", Size: int64(len(big)), Body: bytes.NewReader(big)})
		if err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	raw := write(t)
	if !bytes.Equal(raw, write(t)) {
		t.Fatal("not deterministic under injected randomness")
	}
	if bytes.Contains(raw, []byte("storeDelivery")) || bytes.Contains(raw, []byte("0123456789abcdef")) {
		t.Fatal("plaintext visible")
	}
	sink := &memSink{}
	in, err := ReadMessage(bytes.NewReader(raw), ReadOptions{Decrypter: decrypterFor(t, "bob_cipher_4096"), Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if !in.Encrypted || in.Message.Type != TypeStoreDelivery || !bytes.Equal(in.Entity.SOAP, append([]byte(XMLDeclaration), env...)) ||
		len(sink.parts) != 2 || !bytes.Equal(sink.parts[1].data, big) {
		t.Fatalf("round trip lost data: %d parts", len(sink.parts))
	}
	tests := []struct {
		name string
		raw  []byte
		opts ReadOptions
		want error
	}{
		{"ciphertext flipped", flipNear(raw, len(raw)-5000), ReadOptions{Decrypter: decrypterFor(t, "bob_cipher_4096"), Sink: &memSink{}}, xmlenc.ErrDecrypt},
		{"wrong recipient", raw, ReadOptions{Decrypter: decrypterFor(t, "alice_cipher_4096"), Sink: &memSink{}}, xmlenc.ErrDecrypt},
		{"no key", raw, ReadOptions{Sink: &memSink{}}, ErrEncryption},
		{"plain where encryption required", plainEntity(t, env), ReadOptions{RequireEncryption: true, Sink: &memSink{}}, ErrNotEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := tc.opts.Sink.(*memSink)
			_, err := ReadMessage(bytes.NewReader(tc.raw), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if len(sink.parts) != 0 {
				t.Fatal("attachments released from a message that failed")
			}
		})
	}
}

func flipNear(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func plainEntity(t *testing.T, env []byte) []byte {
	var b bytes.Buffer
	if err := WriteMessage(&b, WriteOptions{Rand: certstest.DetRand("p")}, env); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

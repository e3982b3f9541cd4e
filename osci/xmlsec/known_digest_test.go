package xmlsec

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"io"
	"strings"
	"testing"
)

const att1 = "attachment octets\r\n"

// unreadable fails every read: a known digest must spare the octets.
type unreadable struct{}

func (unreadable) Read([]byte) (int, error) { return 0, errors.New("read not expected") }
func (unreadable) Close() error             { return nil }

func knownResolver(r func() io.ReadCloser, hash crypto.Hash, sum []byte) AttachmentResolver {
	return func(cid string) (io.ReadCloser, error) {
		if cid != "att1" {
			return nil, io.ErrUnexpectedEOF
		}
		return WithKnownDigest(r(), hash, sum), nil
	}
}

// Signing takes a known SHA-256 digest of an attachment without reading
// it, and the signature verifies against the real octets.
func TestKnownDigestSignsWithoutReading(t *testing.T) {
	sum := sha256.Sum256([]byte(att1))
	msg := signedMessage(t, []string{"#controlblock", "#body", "cid:att1"},
		SignOptions{Attachments: knownResolver(func() io.ReadCloser { return unreadable{} }, crypto.SHA256, sum[:])})
	if _, err := verifyBytes(t, msg, signerPolicy(t)); err != nil {
		t.Fatalf("verify against the octets: %v", err)
	}
}

// The known digest is what verification compares, so it must come from
// whoever wrote the octets: a wrong one fails the reference even though
// the octets match.
func TestKnownDigestIsTrustedForItsHashOnly(t *testing.T) {
	msg := signedMessage(t, []string{"#controlblock", "#body", "cid:att1"}, SignOptions{})
	octets := func() io.ReadCloser { return io.NopCloser(strings.NewReader(att1)) }
	p := signerPolicy(t)
	wrong := sha256.Sum256([]byte("other octets"))
	p.Attachments = knownResolver(octets, crypto.SHA256, wrong[:])
	if _, err := verifyBytes(t, msg, p); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("wrong known digest: %v, want ErrDigestMismatch", err)
	}
	// A digest under another hash is not used: the octets are read.
	other := sha512.Sum512([]byte("other octets"))
	p.Attachments = knownResolver(octets, crypto.SHA512, other[:])
	if _, err := verifyBytes(t, msg, p); err != nil {
		t.Fatalf("known digest under another hash: %v", err)
	}
}

package gcmstream

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// TagSize is the length of the authentication tag in bytes (128 bits).
const TagSize = 16

// StandardIVSize is the IV length written by default (96 bits).
const StandardIVSize = 12

// MaxIVSize bounds accepted IV lengths; OSCI uses 12 or 16.
const MaxIVSize = 64

// maxPlaintext is the GCM limit of 2^39-256 bits per invocation.
const maxPlaintext = (1<<39 - 256) / 8

var (
	// ErrAuth is returned for every ciphertext that does not authenticate:
	// a wrong key, a modified IV, ciphertext or tag, or a truncated input.
	ErrAuth = errors.New("gcmstream: message authentication failed")
	// ErrKeySize is returned for keys that are not 16, 24 or 32 bytes.
	ErrKeySize = errors.New("gcmstream: invalid key size")
	// ErrIVSize is returned for IV lengths of 0 or above MaxIVSize.
	ErrIVSize = errors.New("gcmstream: invalid iv size")
	// ErrTooLong is returned when a message exceeds the GCM length limit.
	ErrTooLong = errors.New("gcmstream: message too long")
)

// state is one GCM invocation: the block cipher, GHASH keyed with H, the
// pre-counter block J0 and the counter-mode keystream.
type state struct {
	block  cipher.Block
	hash   ghash
	j0     [16]byte
	ctr    cipher.Stream // crypto/cipher CTR: assembly on AES-NI and ARMv8 AES
	toWrap uint64        // keystream bytes left before the low 32 counter bits wrap
	upper  [12]byte      // the counter bits inc32 never changes
	// written counts plaintext bytes against the GCM length limit.
	written uint64
}

func newState(key, iv []byte) (*state, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("%w: %d bytes", ErrKeySize, len(key))
	}
	if len(iv) == 0 || len(iv) > MaxIVSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrIVSize, len(iv))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeySize, err)
	}
	s := &state{block: b}
	var h [16]byte
	b.Encrypt(h[:], h[:])
	s.hash.init(h[:])
	if len(iv) == StandardIVSize {
		copy(s.j0[:], iv)
		s.j0[15] = 1
	} else {
		// J0 = GHASH_H(IV ‖ 0^(s+64) ‖ [len(IV)]_64), SP 800-38D §7.1 step 2.
		s.hash.write(iv)
		s.j0 = s.hash.sum(0, uint64(len(iv))*8)
	}
	s.reset()
	return s, nil
}

// reset starts the invocation again under the same key and IV, keeping
// the GHASH key: used between the two decryption passes.
func (s *state) reset() {
	s.hash.y, s.hash.n, s.hash.nbuf = fieldElement{}, 0, 0
	ctr := s.j0
	binary.BigEndian.PutUint32(ctr[12:], binary.BigEndian.Uint32(ctr[12:])+1)
	s.setCounter(ctr)
	s.written = 0
}

// setCounter starts the keystream at counter block ctr. GCM's inc32 wraps
// the low 32 bits and leaves the rest alone, while crypto/cipher's CTR
// carries into the upper bits: the stream is restarted at each wrap, which
// only a non-96-bit IV can reach within one message.
func (s *state) setCounter(ctr [16]byte) {
	copy(s.upper[:], ctr[:12])
	s.toWrap = (1<<32 - uint64(binary.BigEndian.Uint32(ctr[12:]))) * 16
	s.ctr = cipher.NewCTR(s.block, ctr[:])
}

// xorKeyStream sets dst = src XOR keystream; dst and src may alias exactly.
func (s *state) xorKeyStream(dst, src []byte) error {
	s.written += uint64(len(src))
	if s.written > maxPlaintext {
		return ErrTooLong
	}
	for len(src) > 0 {
		if s.toWrap == 0 {
			var ctr [16]byte
			copy(ctr[:], s.upper[:])
			s.setCounter(ctr)
		}
		n := int(min(uint64(len(src)), s.toWrap))
		s.ctr.XORKeyStream(dst[:n], src[:n])
		s.toWrap -= uint64(n)
		dst, src = dst[n:], src[n:]
	}
	return nil
}

// tag returns E(K, J0) XOR GHASH(C).
func (s *state) tag() [TagSize]byte {
	sum := s.hash.sum(0, s.hash.n*8)
	var ek [16]byte
	s.block.Encrypt(ek[:], s.j0[:])
	var t [TagSize]byte
	subtle.XORBytes(t[:], sum[:], ek[:])
	return t
}

// tagEqual compares in constant time.
func tagEqual(a [TagSize]byte, b []byte) bool {
	return subtle.ConstantTimeCompare(a[:], b) == 1
}

package gcmstream

import (
	"errors"
	"fmt"
	"io"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("gcmstream: writer closed")

// Writer encrypts a stream. It writes IV ‖ ciphertext ‖ tag to the
// underlying writer; the tag is written by Close.
type Writer struct {
	dst    io.Writer
	s      *state
	buf    *chunk // from the pool on first use, back on Close
	used   int    // bytes of buf ever written, cleared on Close
	closed bool
	err    error
}

// NewWriter writes iv to dst and returns a Writer that encrypts with key
// (16, 24 or 32 bytes). The IV must never repeat under one key: draw it from
// a cryptographic random source. Close must be called to write the tag; it
// does not close dst.
func NewWriter(dst io.Writer, key, iv []byte) (*Writer, error) {
	s, err := newState(key, iv)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(iv); err != nil {
		return nil, fmt.Errorf("gcmstream: write iv: %w", err)
	}
	return &Writer{dst: dst, s: s}, nil
}

// Write encrypts p and writes the ciphertext. It never modifies p.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), chunkSize)
		if err := w.sealChunk(p[:k]); err != nil {
			return n, err
		}
		n += k
		p = p[k:]
	}
	return n, nil
}

// ReadFrom encrypts everything from r, reading straight into the working
// buffer, so io.Copy costs no extra buffer or copy.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	var total int64
	for {
		k, rerr := r.Read(w.buf[:])
		w.used = max(w.used, k)
		if k > 0 {
			if err := w.sealChunk(w.buf[:k]); err != nil {
				return total, err
			}
			total += int64(k)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.buf == nil {
		w.buf = getChunk()
	}
	return nil
}

// sealChunk encrypts p (at most chunkSize bytes; it may be w.buf itself)
// into w.buf, hashes and writes it.
func (w *Writer) sealChunk(p []byte) error {
	c := w.buf[:len(p)]
	w.used = max(w.used, len(p))
	if err := w.s.xorKeyStream(c, p); err != nil {
		w.err = err
		return err
	}
	w.s.hash.write(c)
	if _, err := w.dst.Write(c); err != nil {
		w.err = fmt.Errorf("gcmstream: write: %w", err)
		return w.err
	}
	return nil
}

// Close writes the authentication tag. Calling it twice is an error.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.buf != nil {
		putChunk(w.buf, w.used)
		w.buf = nil
	}
	if w.err != nil {
		return w.err
	}
	t := w.s.tag()
	if _, err := w.dst.Write(t[:]); err != nil {
		return fmt.Errorf("gcmstream: write tag: %w", err)
	}
	return nil
}

// Seal is a convenience for small messages: it returns IV ‖ C ‖ tag.
func Seal(key, iv, plaintext []byte) ([]byte, error) {
	s, err := newState(key, iv)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(iv)+len(plaintext)+TagSize)
	copy(out, iv)
	c := out[len(iv) : len(iv)+len(plaintext)]
	for off := 0; off < len(c); off += chunkSize {
		part := c[off:min(len(c), off+chunkSize)]
		if err := s.xorKeyStream(part, plaintext[off:off+len(part)]); err != nil {
			return nil, err
		}
		s.hash.write(part)
	}
	t := s.tag()
	copy(out[len(iv)+len(plaintext):], t[:])
	return out, nil
}

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
	buf    []byte
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
	return &Writer{dst: dst, s: s, buf: make([]byte, 32<<10)}, nil
}

// Write encrypts p and writes the ciphertext. It never modifies p.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), len(w.buf))]
		c := w.buf[:len(chunk)]
		if err := w.s.xorKeyStream(c, chunk); err != nil {
			w.err = err
			return n, err
		}
		w.s.hash.write(c)
		if _, err := w.dst.Write(c); err != nil {
			w.err = fmt.Errorf("gcmstream: write: %w", err)
			return n, w.err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// ReadFrom encrypts everything from r, so io.Copy avoids an extra buffer.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	in := make([]byte, len(w.buf))
	for {
		k, rerr := r.Read(in)
		if k > 0 {
			n, err := w.Write(in[:k])
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Close writes the authentication tag. Calling it twice is an error.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
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
	out := &sliceWriter{b: make([]byte, 0, len(iv)+len(plaintext)+TagSize)}
	w, err := NewWriter(out, key, iv)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.b, nil
}

type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

package parhash

import (
	"crypto/sha256"
	"hash"
)

const (
	bufSize = 256 << 10
	buffers = 4
)

// Hash is a SHA-256 computed on its own goroutine.
type Hash struct {
	free chan []byte
	full chan []byte
	sum  chan []byte
	made int // buffers allocated, at most buffers
	done bool
}

// New starts the hashing goroutine. Buffers are allocated as writes need
// them, sized to the writes up to bufSize, so a small input costs little.
func New() *Hash {
	h := &Hash{free: make(chan []byte, buffers), full: make(chan []byte, buffers), sum: make(chan []byte, 1)}
	go h.run(sha256.New())
	return h
}

// buffer returns a free buffer, or a new one while fewer than buffers
// exist.
func (h *Hash) buffer(want int) []byte {
	select {
	case b := <-h.free:
		return b
	default:
	}
	if h.made < buffers {
		h.made++
		return make([]byte, 0, min(bufSize, max(want, 4<<10)))
	}
	return <-h.free
}

func (h *Hash) run(s hash.Hash) {
	for b := range h.full {
		s.Write(b)
		h.free <- b[:0]
	}
	h.sum <- s.Sum(nil)
}

// Write hands a copy of p to the hashing goroutine; it never fails.
func (h *Hash) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := h.buffer(len(p))
		k := min(len(p), cap(b))
		b = append(b, p[:k]...)
		p = p[k:]
		h.full <- b
	}
	return n, nil
}

// Sum waits for the octets written so far to be hashed and returns their
// SHA-256. The Hash is done afterwards.
func (h *Hash) Sum() []byte {
	if h.done {
		panic("parhash: Sum after Sum or Abort")
	}
	h.done = true
	close(h.full)
	return <-h.sum
}

// Abort ends the goroutine without a result; it is a no-op after Sum.
func (h *Hash) Abort() {
	if !h.done {
		h.Sum()
	}
}

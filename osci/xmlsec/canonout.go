package xmlsec

import (
	"hash"
	"io"
	"sync"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
)

// canonOut receives the canonical octets and writes them into a hash as
// they are produced, a chunk at a time while the chunk is still in cache.
// Output that is only digested goes through one reused chunk, so a digest
// over a large element needs no buffer of its size; output that is kept is
// written into one buffer sized from the tree beforehand instead of being
// grown by doubling. Once the output has passed hashBehindAfter chunks,
// the hash runs on its own goroutine beside the canonicalization (on a
// second core it then costs no time).
type canonOut struct {
	b      []byte
	hashed int   // b[:hashed] is in h
	n      int64 // octets dropped from b after hashing (digest only)
	h      hash.Hash
	keep   bool
	chunks int            // chunks hashed (digest only)
	bw     *behind.Writer // hashes beside the caller once the output is large
}

// canonChunk is how many octets are gathered before they go to the hash.
const canonChunk = 32 << 10

var canonChunks = sync.Pool{New: func() any { b := make([]byte, 0, canonChunk); return &b }}

// start prepares the output: kept in a buffer of about sizeHint octets,
// or (keep false) only written into h.
func (w *canonOut) start(h hash.Hash, keep bool, sizeHint int) {
	w.h, w.keep, w.chunks = h, keep, 0
	if keep {
		w.b = make([]byte, 0, sizeHint+sizeHint/16+512)
	} else {
		w.b = (*canonChunks.Get().(*[]byte))[:0]
	}
}

func (w *canonOut) writeByte(c byte) { w.b = append(w.b, c) }

func (w *canonOut) writeString(s string) { w.b = append(w.b, s...) }

// hashBehindAfter is how many chunks an output hashes in the
// caller's goroutine before the hash moves to its own: below it, handing
// the octets over would cost more than hashing them.
const hashBehindAfter = 2

// hashChunk hands the octets not yet hashed to the hash.
func (w *canonOut) hashChunk() {
	w.sink().Write(w.b[w.hashed:])
	if w.keep {
		w.hashed = len(w.b)
		return
	}
	w.n += int64(len(w.b))
	w.b = w.b[:0]
}

// sink is where a chunk goes: the hash itself, or, from the chunk after
// hashBehindAfter on, the writer hashing beside the caller (it copies, so
// the chunk may be reused or grown at once).
// Writes to a hash do not fail, so neither does this one.
func (w *canonOut) sink() io.Writer {
	if w.bw == nil {
		if w.chunks < hashBehindAfter {
			w.chunks++
			return w.h
		}
		w.bw = behind.New(w.h)
	}
	return w.bw
}

// finish hands the rest to the hash and returns the kept output (nil when
// not kept). When it returns, everything is in the hash.
func (w *canonOut) finish() []byte {
	if w.h != nil {
		w.sink().Write(w.b[w.hashed:])
		w.hashed = len(w.b)
		w.endBehind()
	}
	if !w.keep {
		return nil
	}
	return w.b
}

// endBehind waits for the hashing goroutine, if one was started.
func (w *canonOut) endBehind() {
	if w.bw != nil {
		w.bw.Close()
		w.bw = nil
	}
}

// release returns the chunk of a digest-only output for reuse, and ends
// the hashing goroutine of an output abandoned after an error.
func (w *canonOut) release() {
	w.endBehind()
	if !w.keep && cap(w.b) == canonChunk {
		b := w.b[:0]
		canonChunks.Put(&b)
	}
	w.b = nil
}

// canonSizeHint estimates the canonical size of el from its names, values
// and texts, before escaping (which only adds).
func canonSizeHint(el *etree.Element) int {
	n := 2*(len(el.Space)+len(el.Tag)) + 6
	for i := range el.Attr {
		a := &el.Attr[i]
		n += len(a.Space) + len(a.Key) + len(a.Value) + 5
	}
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			n += canonSizeHint(t)
		case *etree.CharData:
			n += len(t.Data)
		case *etree.ProcInst:
			n += len(t.Target) + len(t.Inst) + 5
		}
	}
	return n
}

package xmlsec

import (
	"hash"
	"sync"

	"github.com/beevik/etree"
)

// canonOut receives the canonical octets and writes them into a hash as
// they are produced, a chunk at a time while the chunk is still in cache.
// Output that is only digested goes through one reused chunk, so a digest
// over a large element needs no buffer of its size; output that is kept is
// written into one buffer sized from the tree beforehand instead of being
// grown by doubling.
type canonOut struct {
	b      []byte
	hashed int   // b[:hashed] is in h
	n      int64 // octets dropped from b after hashing (digest only)
	h      hash.Hash
	keep   bool
}

// canonChunk is how many octets are gathered before they go to the hash.
const canonChunk = 32 << 10

var canonChunks = sync.Pool{New: func() any { b := make([]byte, 0, canonChunk); return &b }}

// start prepares the output: kept in a buffer of about sizeHint octets,
// or (keep false) only written into h.
func (w *canonOut) start(h hash.Hash, keep bool, sizeHint int) {
	w.h, w.keep = h, keep
	if keep {
		w.b = make([]byte, 0, sizeHint+sizeHint/16+512)
	} else {
		w.b = (*canonChunks.Get().(*[]byte))[:0]
	}
}

func (w *canonOut) writeByte(c byte) { w.b = append(w.b, c) }

func (w *canonOut) writeString(s string) { w.b = append(w.b, s...) }

// hashChunk hands the octets not yet hashed to the hash.
func (w *canonOut) hashChunk() {
	w.h.Write(w.b[w.hashed:])
	if w.keep {
		w.hashed = len(w.b)
		return
	}
	w.n += int64(len(w.b))
	w.b = w.b[:0]
}

// finish hands the rest to the hash and returns the kept output (nil when
// not kept).
func (w *canonOut) finish() []byte {
	if w.h != nil {
		w.h.Write(w.b[w.hashed:])
		w.hashed = len(w.b)
	}
	if !w.keep {
		return nil
	}
	return w.b
}

// release returns the chunk of a digest-only output for reuse.
func (w *canonOut) release() {
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

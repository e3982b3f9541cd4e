package behind

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"testing"
)

// The underlying writer receives exactly what was written, in order,
// across writes of every size around the buffer size, also when the
// caller reuses its buffer at once.
func TestWritesInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][]int{{}, {0}, {1}, {bufSize}, {bufSize + 1, 3}, {5 * bufSize, 17, bufSize - 1}} {
		var got bytes.Buffer
		w := New(&got)
		want := sha256.New()
		buf := make([]byte, 0, 6*bufSize)
		total := 0
		for _, n := range sizes {
			buf = buf[:n]
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
			if k, err := w.Write(buf); k != n || err != nil {
				t.Fatalf("Write(%d) = %d, %v", n, k, err)
			}
			want.Write(buf)
			total += n
			for i := range buf { // reused at once
				buf[i] = 0
			}
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if sum := sha256.Sum256(got.Bytes()); got.Len() != total || !bytes.Equal(sum[:], want.Sum(nil)) {
			t.Fatalf("sizes %v: %d octets arrived, want %d, or their content differs", sizes, got.Len(), total)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Write after Close = %v, want ErrClosed", err)
		}
	}
}

// failing accepts limit octets and then fails every write.
type failing struct {
	n, limit int
	calls    int
}

var errDisk = errors.New("disk full")

func (f *failing) Write(p []byte) (int, error) {
	f.calls++
	if f.n+len(p) > f.limit {
		return 0, errDisk
	}
	f.n += len(p)
	return len(p), nil
}

// The first error of the underlying writer reaches the caller: at a later
// Write once it has happened, and at Close in any case; nothing is written
// after it.
func TestFirstErrorSticks(t *testing.T) {
	f := &failing{limit: bufSize}
	w := New(f)
	p := make([]byte, bufSize)
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		_, werr = w.Write(p)
	}
	if !errors.Is(werr, errDisk) {
		t.Fatalf("100 writes after the disk filled: last error %v, want the disk's", werr)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close = %v, want the disk's error", err)
	}
	if f.calls != 2 {
		t.Fatalf("the underlying writer was called %d times, want 2 (one accepted, one failed, none after)", f.calls)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("second Close = %v, want the same error", err)
	}
}

// An error in the last buffer is not hidden by a clean end: Close reports
// it.
func TestErrorInLastWriteReachesClose(t *testing.T) {
	w := New(&failing{limit: 10})
	if _, err := w.Write(make([]byte, 11)); err != nil {
		t.Fatalf("Write = %v; the error can only be known later", err)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close = %v, want the disk's error", err)
	}
}

// After Flush the underlying writer holds everything written so far, and
// writing goes on.
func TestFlush(t *testing.T) {
	var got bytes.Buffer
	w := New(&got)
	p := bytes.Repeat([]byte("a"), 3*bufSize+5)
	w.Write(p)
	if err := w.Flush(); err != nil || got.Len() != len(p) {
		t.Fatalf("after Flush: %d octets, %v; want %d", got.Len(), err, len(p))
	}
	w.Write([]byte("b"))
	if err := w.Close(); err != nil || got.Len() != len(p)+1 {
		t.Fatalf("after Close: %d octets, %v", got.Len(), err)
	}
	if err := w.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close = %v, want ErrClosed", err)
	}
	f := New(&failing{limit: 1})
	f.Write([]byte("xy"))
	if err := f.Flush(); !errors.Is(err, errDisk) {
		t.Fatalf("Flush after a failed write = %v, want the disk's error", err)
	}
	f.Close()
}

func BenchmarkWriteSHA256(b *testing.B) {
	p := make([]byte, 1<<20)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		h := sha256.New()
		w := New(h)
		w.Write(p)
		w.Close()
		h.Sum(nil)
	}
}

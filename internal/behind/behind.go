package behind

import (
	"errors"
	"io"
	"sync"
)

const (
	bufSize = 256 << 10
	buffers = 4
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("behind: write after close")

// Writer writes to an io.Writer on its own goroutine.
type Writer struct {
	free    chan []byte
	full    chan []byte // nil: a Flush waits
	done    chan struct{}
	flushed chan struct{}
	made    int // buffers allocated, at most buffers

	mu  sync.Mutex
	err error // the first error of the underlying writer

	closed bool
}

// New starts the goroutine that writes to w. Buffers are allocated as
// writes need them, sized to the writes up to 256 KiB, so a small input
// costs little.
func New(w io.Writer) *Writer {
	b := &Writer{free: make(chan []byte, buffers), full: make(chan []byte, buffers), done: make(chan struct{}), flushed: make(chan struct{})}
	go b.run(w)
	return b
}

func (b *Writer) run(w io.Writer) {
	defer close(b.done)
	for p := range b.full {
		if p == nil {
			b.flushed <- struct{}{}
			continue
		}
		if b.failed() == nil {
			n, err := w.Write(p)
			if err == nil && n < len(p) {
				err = io.ErrShortWrite
			}
			if err != nil {
				b.mu.Lock()
				b.err = err
				b.mu.Unlock()
			}
		}
		b.free <- p[:0]
	}
}

func (b *Writer) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// buffer returns a free buffer, or a new one while fewer than buffers
// exist.
func (b *Writer) buffer(want int) []byte {
	select {
	case p := <-b.free:
		return p
	default:
	}
	if b.made < buffers {
		b.made++
		return make([]byte, 0, min(bufSize, max(want, 4<<10)))
	}
	return <-b.free
}

// Write hands a copy of p to the writing goroutine. It returns the
// underlying writer's first error once that has happened (reporting 0
// octets of p written: what was handed over before is not taken back).
func (b *Writer) Write(p []byte) (int, error) {
	if b.closed {
		return 0, ErrClosed
	}
	if err := b.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		q := b.buffer(len(p))
		k := min(len(p), cap(q))
		q = append(q, p[:k]...)
		p = p[k:]
		b.full <- q
	}
	return n, nil
}

// Flush waits until everything handed to Write has been written and
// returns the underlying writer's first error; writing may go on.
func (b *Writer) Flush() error {
	if b.closed {
		return ErrClosed
	}
	b.full <- nil
	<-b.flushed
	return b.failed()
}

// Close waits until everything handed to Write has been written and
// returns the underlying writer's first error. It does not close the
// underlying writer. A second Close returns the same result.
func (b *Writer) Close() error {
	if !b.closed {
		b.closed = true
		close(b.full)
	}
	<-b.done
	return b.failed()
}

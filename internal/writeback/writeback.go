package writeback

import (
	"io"
	"os"
)

// Step is how many octets are written before their write back starts.
const Step = 8 << 20

// start starts the write back of a range; tests replace it to see the
// ranges.
var start = startWriteback

// Writer writes to a file and starts the write back of every Step octets.
type Writer struct {
	f       *os.File
	off     int64 // octets written through this Writer
	started int64 // octets whose write back was started
	base    int64 // the file offset the Writer began at
}

// New returns a Writer appending to f at f's current offset.
func New(f *os.File) *Writer {
	base, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		base = -1 // not seekable: no write back is started
	}
	return &Writer{f: f, base: base}
}

// Of returns a Writer for w when w is an *os.File, else w itself.
func Of(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok {
		return New(f)
	}
	return w
}

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.off += int64(n)
	if w.base >= 0 && w.off-w.started >= Step {
		start(w.f, w.base+w.started, w.off-w.started)
		w.started = w.off
	}
	return n, err
}

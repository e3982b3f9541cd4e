package writeback

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
)

type span struct{ off, n int64 }

// record replaces the kernel call for the test and returns the ranges
// asked for.
func record(t *testing.T) *[]span {
	var got []span
	prev := start
	start = func(f *os.File, off, n int64) {
		got = append(got, span{off, n})
		startWriteback(f, off, n) // the real call as well: it must not disturb the file
	}
	t.Cleanup(func() { start = prev })
	return &got
}

// TestOctetsPassAndWritebackCoversThem writes 3.5 steps in odd pieces,
// after a header written past the Writer: the file holds exactly what
// was written, and the write back was started for each whole step, one
// range after the other, at the file offsets the Writer wrote.
func TestOctetsPassAndWritebackCoversThem(t *testing.T) {
	got := record(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	header := []byte("header written before the Writer\n")
	if _, err := f.Write(header); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 3*Step+Step/2)
	rand.Read(body)
	w := New(f)
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 1<<20+4093)
		if k, err := w.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	all, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(all, append(header, body...)) {
		t.Fatal("the file does not hold exactly what was written")
	}
	if len(*got) != 3 {
		t.Fatalf("write back started %d times, want 3: %v", len(*got), *got)
	}
	next := int64(len(header))
	for _, s := range *got {
		if s.off != next || s.n < Step {
			t.Fatalf("ranges %v: not one after the other from offset %d in steps of at least %d", *got, len(header), Step)
		}
		next = s.off + s.n
	}
}

// TestPipeIsOnlyWritten: a file that cannot seek (a pipe) is written
// through, with no write back asked for.
func TestPipeIsOnlyWritten(t *testing.T) {
	got := record(t)
	r, wf, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body := make([]byte, Step+1)
	rand.Read(body)
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	if _, err := New(wf).Write(body); err != nil {
		t.Fatal(err)
	}
	wf.Close()
	if b := <-done; !bytes.Equal(b, body) {
		t.Fatal("the pipe did not carry exactly what was written")
	}
	if len(*got) != 0 {
		t.Fatalf("write back asked for on a pipe: %v", *got)
	}
}

// TestWriteErrorPasses: the file's own error reaches the caller.
func TestWriteErrorPasses(t *testing.T) {
	f, err := os.Open(os.DevNull) // read-only: writes fail
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := New(f).Write([]byte("x")); err == nil {
		t.Fatal("a write to a read-only file succeeded")
	}
}

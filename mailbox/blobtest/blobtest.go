package blobtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/benchkit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Harness opens the store under test.
type Harness struct {
	// New prepares an empty backend and returns a function opening a
	// store on it; each call opens another instance on the same backend
	// (another process, or the same one after a restart). maxBytes is the
	// store's limit per blob (0: its default).
	New func(t *testing.T) (open func(maxBytes int64) mailbox.BlobStore)
	// Crash makes s stop as a killed process would: what it had not
	// committed is cut off (a closed connection, a dropped file handle).
	// Nil: dropping s is enough.
	Crash func(s mailbox.BlobStore)
	// LargeMB is the size of the streaming test in MB (200 unless -short:
	// then 20).
	LargeMB int
}

// Run runs the conformance suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"Missing", testMissing},
		{"AbortLeavesNothing", testAbort},
		{"ReadBackBeforeCommit", testReadBack},
		{"TooLarge", testTooLarge},
		{"SameContentSameName", testSameContent},
		{"ConcurrentWritersOfSameContent", testConcurrentSame},
		{"CrashBeforeCommitLeavesNothing", testCrash},
		{"VisibleToAnotherInstance", testOtherInstance},
		{"LargeStreamBoundedMemory", testLarge},
		{"Collect", testCollect},
		{"CollectRacingPut", testCollectRacingPut},
		{"CollectionLock", testCollectionLock},
		{"Linker", testLinker},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// Content returns n deterministic, incompressible-looking bytes of seed.
func Content(seed string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	s := sha256.Sum256([]byte(seed))
	for len(out) < n {
		out = append(out, s[:]...)
		s = sha256.Sum256(s[:])
	}
	return out[:n]
}

// Stream is a reader of n deterministic bytes that holds only one block
// in memory.
type Stream struct {
	n, off int64
	block  [sha256.Size]byte
	pos    int
}

// NewStream returns n bytes of seed as Content would, without holding
// them.
func NewStream(seed string, n int64) *Stream {
	return &Stream{n: n, block: sha256.Sum256([]byte(seed))}
}

func (s *Stream) Read(p []byte) (int, error) {
	if s.off >= s.n {
		return 0, io.EOF
	}
	if int64(len(p)) > s.n-s.off {
		p = p[:s.n-s.off]
	}
	n := 0
	for n < len(p) {
		if s.pos == len(s.block) {
			s.block = sha256.Sum256(s.block[:])
			s.pos = 0
		}
		c := copy(p[n:], s.block[s.pos:])
		s.pos += c
		n += c
	}
	s.off += int64(n)
	return n, nil
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func put(t *testing.T, s mailbox.BlobStore, b []byte) mailbox.BlobRef {
	t.Helper()
	ref, err := s.Put(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if ref.SHA256 != sum(b) || ref.Size != int64(len(b)) {
		t.Fatalf("Put = %+v, want %s/%d", ref, sum(b), len(b))
	}
	return ref
}

// begin starts a blob in s, failing t if it cannot.
func begin(t *testing.T, s mailbox.BlobStore) mailbox.BlobWriter {
	t.Helper()
	w, err := s.Begin()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func read(t *testing.T, s mailbox.BlobStore, h string) []byte {
	t.Helper()
	r, err := s.Open(h)
	if err != nil {
		t.Fatalf("Open %s: %v", h, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", h, err)
	}
	return b
}

func absent(t *testing.T, s mailbox.BlobStore, h, why string) {
	t.Helper()
	if _, err := s.Stat(h); !errors.Is(err, mailbox.ErrBlobMissing) {
		t.Fatalf("%s: Stat = %v, want ErrBlobMissing", why, err)
	}
	if r, err := s.Open(h); !errors.Is(err, mailbox.ErrBlobMissing) {
		if err == nil {
			r.Close()
		}
		t.Fatalf("%s: Open = %v, want ErrBlobMissing", why, err)
	}
}

func testRoundTrip(t *testing.T, h Harness) {
	s := h.New(t)(0)
	for _, n := range []int{0, 1, 1024, 1<<20 - 1, 1 << 20, 1<<20 + 1, 3<<20 + 17} {
		b := Content(fmt.Sprint("rt", n), n)
		ref := put(t, s, b)
		if got := read(t, s, ref.SHA256); !bytes.Equal(got, b) {
			t.Fatalf("size %d: read back %d bytes, not the content", n, len(got))
		}
		if size, err := s.Stat(ref.SHA256); err != nil || size != int64(n) {
			t.Fatalf("size %d: Stat = %d, %v", n, size, err)
		}
		if err := s.Verify(ref.SHA256); err != nil {
			t.Fatalf("size %d: Verify: %v", n, err)
		}
	}
}

func testMissing(t *testing.T, h Harness) {
	s := h.New(t)(0)
	for _, name := range []string{sum([]byte("never stored")), "", "ab", "../../etc/passwd", sum(nil)[:63] + "G"} {
		absent(t, s, name, fmt.Sprintf("%q", name))
		if err := s.Verify(name); !errors.Is(err, mailbox.ErrBlobMissing) {
			t.Fatalf("Verify(%q) = %v, want ErrBlobMissing", name, err)
		}
	}
}

func testAbort(t *testing.T, h Harness) {
	s := h.New(t)(0)
	b := Content("abort", 1<<20+5)
	w := begin(t, s)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	w.Abort() // twice is harmless
	if _, err := w.Commit(); !errors.Is(err, mailbox.ErrClosed) {
		t.Fatalf("Commit after Abort = %v, want ErrClosed", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Abort succeeded")
	}
	absent(t, s, sum(b), "aborted blob")
	// Abort after Commit keeps the blob.
	w = begin(t, s)
	w.Write(b)
	ref, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if got := read(t, s, ref.SHA256); !bytes.Equal(got, b) {
		t.Fatal("Abort after Commit changed the blob")
	}
}

// readBack writes b to w and reads it back before Commit.
func readBack(t *testing.T, w mailbox.BlobWriter, b []byte) {
	t.Helper()
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	r, err := w.Open()
	if err != nil {
		t.Fatalf("Open before Commit: %v", err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(got), err, len(b))
	}
}

// testReadBack: Open before Commit sees everything written, for a large
// blob and for small ones read back at once (a store that writes behind
// its caller must have written them first).
func testReadBack(t *testing.T, h Harness) {
	s := h.New(t)(0)
	for i := range 20 {
		small := Content(fmt.Sprintf("small-%d", i), 100+i)
		w := begin(t, s)
		readBack(t, w, small)
		w.Abort()
	}
	b := Content("readback", 2<<20+3)
	w := begin(t, s)
	defer w.Abort()
	readBack(t, w, b)
	absent(t, s, sum(b), "uncommitted blob")
	ref, err := w.Commit()
	if err != nil || ref.SHA256 != sum(b) {
		t.Fatalf("Commit after read back = %+v, %v", ref, err)
	}
	if !bytes.Equal(read(t, s, ref.SHA256), b) {
		t.Fatal("committed content differs")
	}
}

func testTooLarge(t *testing.T, h Harness) {
	s := h.New(t)(1000)
	b := Content("large", 1001)
	if _, err := s.Put(bytes.NewReader(b)); !errors.Is(err, mailbox.ErrTooLarge) {
		t.Fatalf("Put of 1001 bytes with a limit of 1000 = %v, want ErrTooLarge", err)
	}
	absent(t, s, sum(b), "refused blob")
	put(t, s, b[:1000])
}

func testSameContent(t *testing.T, h Harness) {
	s := h.New(t)(0)
	b := Content("same", 1<<20+100)
	r1 := put(t, s, b)
	r2 := put(t, s, b)
	if r1 != r2 {
		t.Fatalf("same content, two names: %+v %+v", r1, r2)
	}
	if err := s.Verify(r1.SHA256); err != nil {
		t.Fatal(err)
	}
}

func testConcurrentSame(t *testing.T, h Harness) {
	open := h.New(t)
	stores := []mailbox.BlobStore{open(0), open(0)}
	b := Content("concurrent", 3<<20+7)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(s mailbox.BlobStore) {
			defer wg.Done()
			ref, err := s.Put(NewStream("concurrent", int64(len(b))))
			if err == nil && ref.SHA256 != sum(b) {
				err = fmt.Errorf("ref %s, want %s", ref.SHA256, sum(b))
			}
			errs <- err
		}(stores[i%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Put: %v", err)
		}
	}
	for _, s := range stores {
		if !bytes.Equal(read(t, s, sum(b)), b) {
			t.Fatal("content differs after concurrent writes")
		}
	}
}

func testCrash(t *testing.T, h Harness) {
	open := h.New(t)
	s := open(0)
	b := Content("crash", 2<<20+9)
	w := begin(t, s)
	if _, err := w.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b[len(b)/2:]); err != nil {
		t.Fatal(err)
	}
	if h.Crash != nil {
		h.Crash(s)
	}
	// The crashed process's writer is never used again; Abort at the end
	// only hands back what it holds in this test process.
	t.Cleanup(w.Abort)
	s2 := open(0)
	absent(t, s2, sum(b), "blob written but not committed before a crash")
	ref := put(t, s2, b)
	if !bytes.Equal(read(t, s2, ref.SHA256), b) {
		t.Fatal("content differs after a crash and a new write")
	}
}

func testOtherInstance(t *testing.T, h Harness) {
	open := h.New(t)
	a, b := open(0), open(0)
	c := Content("other", 5000)
	ref := put(t, a, c)
	if !bytes.Equal(read(t, b, ref.SHA256), c) {
		t.Fatal("a blob committed by one instance is not read by another")
	}
}

// testLarge streams a large blob in and out while sampling the heap: a
// store that holds the blob in memory fails.
func testLarge(t *testing.T, h Harness) {
	mb := h.LargeMB
	if mb == 0 {
		mb = 200
	}
	if testing.Short() && mb > 20 {
		mb = 20
	}
	n := int64(mb) * 1000 * 1000
	s := h.New(t)(0)
	want := sha256.New()
	io.Copy(want, NewStream("large", n))
	wantSum := hex.EncodeToString(want.Sum(nil))

	peak := benchkit.WatchHeap(5 * time.Millisecond)
	ref, err := s.Put(NewStream("large", n))
	if err != nil {
		t.Fatalf("Put %d MB: %v", mb, err)
	}
	r, err := s.Open(ref.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	m, err := io.Copy(got, r)
	r.Close()
	used := peak().Growth
	if err != nil || m != n || ref.Size != n || ref.SHA256 != wantSum || hex.EncodeToString(got.Sum(nil)) != wantSum {
		t.Fatalf("%d MB: ref %+v, read %d bytes (%v), want %s", mb, ref, m, err, wantSum)
	}
	const bound = 96 << 20
	t.Logf("%d MB in and out, heap grew by at most %d MiB", mb, used>>20)
	if used > bound {
		t.Fatalf("writing and reading %d MB grew the heap by %d MiB (bound %d MiB): not streamed", mb, used>>20, bound>>20)
	}
	if err := s.Verify(ref.SHA256); err != nil {
		t.Fatal(err)
	}
}

func testCollect(t *testing.T, h Harness) {
	s := h.New(t)(0)
	later := time.Now().Add(time.Hour)
	earlier := time.Now().Add(-time.Hour)
	no := func() (bool, error) { return false, nil }
	yes := func() (bool, error) { return true, nil }

	if out, _, err := s.Collect(sum([]byte("none")), later, no); err != nil || out != mailbox.CollectGone {
		t.Fatalf("Collect of no blob = %v, %v; want CollectGone", out, err)
	}
	b := Content("collect", 1<<20+1)
	ref := put(t, s, b)
	if out, _, err := s.Collect(ref.SHA256, earlier, no); err != nil || out != mailbox.CollectRecent {
		t.Fatalf("Collect of a blob written after writtenBefore = %v, %v; want CollectRecent", out, err)
	}
	if out, _, err := s.Collect(ref.SHA256, later, yes); err != nil || out != mailbox.CollectReferenced {
		t.Fatalf("Collect of a referenced blob = %v, %v; want CollectReferenced", out, err)
	}
	if !bytes.Equal(read(t, s, ref.SHA256), b) {
		t.Fatal("a referenced blob changed or went")
	}
	if out, _, err := s.Collect(ref.SHA256, later, func() (bool, error) { return false, errors.New("store down") }); err == nil {
		t.Fatalf("Collect with a failing reference check = %v, nil", out)
	}
	if !bytes.Equal(read(t, s, ref.SHA256), b) {
		t.Fatal("a failed reference check removed the blob")
	}
	freed, removed := collectUntilDone(t, s, ref.SHA256, later, no)
	if !removed || freed != ref.Size {
		t.Fatalf("unreferenced old blob: removed %v, freed %d; want %d", removed, freed, ref.Size)
	}
	absent(t, s, ref.SHA256, "collected blob")
	put(t, s, b) // can be stored again
	if !bytes.Equal(read(t, s, ref.SHA256), b) {
		t.Fatal("a blob stored again after collection differs")
	}
}

// collectUntilDone calls Collect until it reports the blob removed or
// gone (a store may take more than one run), at most three times.
func collectUntilDone(t *testing.T, s mailbox.BlobStore, h string, before time.Time, ref func() (bool, error)) (int64, bool) {
	t.Helper()
	var freed int64
	for i := 0; i < 3; i++ {
		out, n, err := s.Collect(h, before, ref)
		if err != nil {
			t.Fatalf("Collect: %v", err)
		}
		freed += n
		switch out {
		case mailbox.CollectRemoved:
			return freed, true
		case mailbox.CollectGone:
			return freed, false
		case mailbox.CollectReferenced:
			t.Fatalf("Collect = CollectReferenced, reference check said no")
		}
	}
	return freed, false
}

// testCollectRacingPut writes the same content while a collection is
// deciding, after its reference check: the write's row commits after
// that check (the check said no), and refers to the blob from then on.
// Whatever the store does in that run and the runs after, the blob must
// stay readable.
func testCollectRacingPut(t *testing.T, h Harness) {
	open := h.New(t)
	s, other := open(0), open(0)
	b := Content("race", 1<<20+3)
	ref := put(t, s, b)
	later := time.Now().Add(time.Hour)
	putDone := make(chan error, 1)
	var rowCommitted atomic.Bool
	var once sync.Once
	racing := func() (bool, error) {
		if rowCommitted.Load() {
			return true, nil
		}
		once.Do(func() {
			go func() {
				_, err := other.Put(bytes.NewReader(b))
				putDone <- err
			}()
			// A store may hold the Put back until the collection decides.
			select {
			case err := <-putDone:
				putDone <- err
			case <-time.After(300 * time.Millisecond):
			}
		})
		return false, nil
	}
	if _, _, err := s.Collect(ref.SHA256, later, racing); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if err := <-putDone; err != nil {
		t.Fatalf("racing Put: %v", err)
	}
	rowCommitted.Store(true)
	for i := 0; i < 2; i++ { // the runs after (a store may decide in a later one)
		if _, _, err := s.Collect(ref.SHA256, later, racing); err != nil {
			t.Fatalf("Collect: %v", err)
		}
	}
	for _, st := range []mailbox.BlobStore{s, other, open(0)} {
		if !bytes.Equal(read(t, st, ref.SHA256), b) {
			t.Fatal("a Put racing a collection committed, but its blob is not readable")
		}
		if err := st.Verify(ref.SHA256); err != nil {
			t.Fatal(err)
		}
	}
}

func testCollectionLock(t *testing.T, h Harness) {
	open := h.New(t)
	a, b := open(0), open(0)
	unlock, err := a.LockCollection()
	if err != nil {
		t.Fatal(err)
	}
	if u, err := b.TryLockCollection(); !errors.Is(err, mailbox.ErrCollectionBusy) {
		if err == nil {
			u()
		}
		t.Fatalf("TryLockCollection while held by another instance = %v, want ErrCollectionBusy", err)
	}
	unlock()
	u, err := b.TryLockCollection()
	if err != nil {
		t.Fatalf("TryLockCollection after unlock: %v", err)
	}
	u()
}

// Sizes are the blob sizes Bench measures.
var Sizes = []struct {
	Name string
	N    int64
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"20MiB", 20 << 20}, {"200MiB", 200 << 20}}

// Bench measures writing (Put, committed) and reading (Open, read to the
// end) blobs of each of Sizes through s.
func Bench(b *testing.B, s mailbox.BlobStore) {
	for _, sz := range Sizes {
		b.Run("write/"+sz.Name, func(b *testing.B) {
			b.SetBytes(sz.N)
			for i := 0; i < b.N; i++ {
				if _, err := s.Put(NewStream(fmt.Sprint(sz.Name, i), sz.N)); err != nil {
					b.Fatal(err)
				}
			}
		})
		ref, err := s.Put(NewStream(sz.Name+"read", sz.N))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("read/"+sz.Name, func(b *testing.B) {
			b.SetBytes(sz.N)
			for i := 0; i < b.N; i++ {
				r, err := s.Open(ref.SHA256)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				r.Close()
				if err != nil || n != sz.N {
					b.Fatalf("read %d of %d bytes: %v", n, sz.N, err)
				}
			}
		})
	}
}

// testLinker holds a store that can link (mailbox.BlobLinker) to what
// linking promises: a file linked in is the blob, durable and named by
// its content, also after the file is removed; a blob linked out holds
// its content, and neither writing the same content again nor collecting
// the blob changes the linked file; a file above the limit is refused.
func testLinker(t *testing.T, h Harness) {
	open := h.New(t)
	s := open(0)
	l, ok := s.(mailbox.BlobLinker)
	if !ok {
		t.Skip("the store cannot link (no mailbox.BlobLinker): its users copy")
	}
	dir := t.TempDir()
	b := Content("linked", 1<<20+7)
	src := filepath.Join(dir, "spool")
	if err := os.WriteFile(src, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ref, err := l.LinkFrom(src, "")
	if errors.Is(err, mailbox.ErrNotLinked) {
		t.Skipf("the store cannot link here: %v", err)
	}
	if err != nil || ref.SHA256 != sum(b) || ref.Size != int64(len(b)) {
		t.Fatalf("LinkFrom = %+v, %v; want %s", ref, err, sum(b))
	}
	if err := os.Remove(src); err != nil {
		t.Fatal(err)
	}
	if got := read(t, open(0), ref.SHA256); !bytes.Equal(got, b) {
		t.Fatal("a linked-in blob reads back different content")
	}
	// A digest its writer took is taken instead of reading the file; one
	// that is not a SHA-256 is refused.
	known := Content("linked with its digest", 4099)
	srcKnown := filepath.Join(dir, "spool-known")
	if err := os.WriteFile(srcKnown, known, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LinkFrom(srcKnown, "sha256:"+sum(known)); !errors.Is(err, mailbox.ErrInvalidInput) {
		t.Fatalf("LinkFrom with a malformed known digest = %v, want ErrInvalidInput", err)
	}
	if ref, err := l.LinkFrom(srcKnown, sum(known)); err != nil || ref.SHA256 != sum(known) || ref.Size != int64(len(known)) {
		t.Fatalf("LinkFrom with the known digest = %+v, %v; want %s", ref, err, sum(known))
	} else if got := read(t, open(0), ref.SHA256); !bytes.Equal(got, known) {
		t.Fatal("a blob linked in with its known digest reads back different content")
	}
	out := filepath.Join(dir, "entry")
	if err := l.LinkTo(ref.SHA256, out); err != nil {
		t.Fatal(err)
	}
	put(t, s, b)
	if n, removed := collectUntilDone(t, s, ref.SHA256, time.Now().Add(time.Hour), func() (bool, error) { return false, nil }); !removed || n != int64(len(b)) {
		t.Fatalf("Collect of the linked blob: removed %v, %d bytes", removed, n)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("the linked-out file changed with the blob: %v", err)
	}
	if err := l.LinkTo(ref.SHA256, filepath.Join(dir, "gone")); !errors.Is(err, mailbox.ErrNotLinked) {
		t.Fatalf("LinkTo of a collected blob = %v, want ErrNotLinked", err)
	}
	small := open(1000)
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, Content("big", 1001), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := small.(mailbox.BlobLinker).LinkFrom(big, ""); !errors.Is(err, mailbox.ErrTooLarge) {
		t.Fatalf("LinkFrom of 1001 bytes with a limit of 1000 = %v, want ErrTooLarge", err)
	}
}

package mailbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// faultFS wraps the real file system and fails chosen operations, the way
// a full disk or a failing device would.
type faultFS struct {
	OSFS
	writeErr   error // returned by Write after writeAfter bytes
	writeAfter int64
	syncErr    error // returned by file Sync
	dirSyncErr error
	renameErr  error
	createErr  error
}

// openBlobs opens the blob store at root on fs (nil: the real file
// system), failing t if it does not open.
func openBlobs(t testing.TB, root string, fs FileSystem) *Blobs {
	t.Helper()
	b, err := OpenBlobs(root, fs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Faults a faultFS injects: a failing fsync and a full disk.
var (
	eio    = &os.PathError{Op: "fsync", Path: "x", Err: syscall.EIO}
	enospc = &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
)

// faultCase is a fault an operation meets and the error it must return.
type faultCase struct {
	name string
	fs   *faultFS
	want error
}

type faultFile struct {
	*os.File
	fs      *faultFS
	written int64
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.writeErr != nil && f.written+int64(len(p)) > f.fs.writeAfter {
		n := int(f.fs.writeAfter - f.written)
		if n > 0 {
			f.File.Write(p[:n])
			f.written += int64(n)
		}
		return max(n, 0), f.fs.writeErr
	}
	n, err := f.File.Write(p)
	f.written += int64(n)
	return n, err
}

func (f *faultFile) Sync() error {
	if f.fs.syncErr != nil {
		return f.fs.syncErr
	}
	return f.File.Sync()
}

func (fs *faultFS) CreateTemp(dir, pattern string) (WriteFile, error) {
	if fs.createErr != nil {
		return nil, fs.createErr
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: f, fs: fs}, nil
}

func (fs *faultFS) Create(name string) (WriteFile, error) {
	if fs.createErr != nil {
		return nil, fs.createErr
	}
	w, err := fs.OSFS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: w.(*os.File), fs: fs}, nil
}

func (fs *faultFS) Rename(a, b string) error {
	if fs.renameErr != nil {
		return fs.renameErr
	}
	return os.Rename(a, b)
}

func (fs *faultFS) SyncDir(dir string) error {
	if fs.dirSyncErr != nil {
		return fs.dirSyncErr
	}
	return fs.OSFS.SyncDir(dir)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func tmpFiles(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestBlobCommit(t *testing.T) {
	root := t.TempDir()
	b := openBlobs(t, root, nil)
	content := bytes.Repeat([]byte("Schriftsatz "), 10000)
	w, err := b.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(content); i += 4096 {
		if _, err := w.Write(content[i:min(i+4096, len(content))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(b.Path(sum(content))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("blob visible before Commit: %v", err)
	}
	ref, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if ref.SHA256 != sum(content) || ref.Size != int64(len(content)) {
		t.Fatalf("ref %+v", ref)
	}
	w.Abort() // no-op after Commit
	if err := b.Verify(ref.SHA256); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got := tmpFiles(t, root); len(got) != 0 {
		t.Fatalf("temp files left: %v", got)
	}
	// The same content again shares the file.
	ref2, err := b.Put(bytes.NewReader(content))
	if err != nil || ref2 != ref {
		t.Fatalf("second Put: %+v %v", ref2, err)
	}
	if _, err := w.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit twice: %v, want ErrClosed", err)
	}
}

func TestBlobAbortAndStaleTemp(t *testing.T) {
	root := t.TempDir()
	b := openBlobs(t, root, nil)
	w, _ := b.Begin()
	w.Write([]byte("half"))
	w.Abort()
	if got := tmpFiles(t, root); len(got) != 0 {
		t.Fatalf("Abort left %v", got)
	}
	// A write cut short by a crash leaves a temp file; the next open removes it.
	w2, _ := b.Begin()
	w2.Write([]byte("crashed"))
	if got := tmpFiles(t, root); len(got) != 1 {
		t.Fatalf("want one temp file, got %v", got)
	}
	if _, err := OpenBlobs(root, nil); err != nil {
		t.Fatal(err)
	}
	if got := tmpFiles(t, root); len(got) != 0 {
		t.Fatalf("open left %v", got)
	}
}

func TestBlobFaults(t *testing.T) {
	tests := []faultCase{
		{"disk full while writing", &faultFS{writeErr: enospc, writeAfter: 100}, ErrDiskFull},
		{"quota exceeded", &faultFS{writeErr: syscall.EDQUOT, writeAfter: 0}, ErrDiskFull},
		{"disk full creating", &faultFS{createErr: enospc}, ErrDiskFull},
		{"fsync fails", &faultFS{syncErr: eio}, syscall.EIO},
		{"fsync reports disk full", &faultFS{syncErr: enospc}, ErrDiskFull},
		{"rename fails", &faultFS{renameErr: eio}, syscall.EIO},
		{"directory fsync fails", &faultFS{dirSyncErr: eio}, syscall.EIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			b := openBlobs(t, root, &faultFS{})
			b.fs = tc.fs
			ref, err := b.Put(bytes.NewReader(bytes.Repeat([]byte{'x'}, 1000)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put: %v (ref %+v), want %v", err, ref, tc.want)
			}
			if errors.Is(tc.want, ErrDiskFull) && !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("error does not say disk full: %v", err)
			}
			if ref != (BlobRef{}) {
				t.Fatalf("failed Put returned a ref: %+v", ref)
			}
			if got := tmpFiles(t, root); len(got) != 0 {
				t.Fatalf("temp files left after failure: %v", got)
			}
		})
	}
}

func TestBlobLimit(t *testing.T) {
	b := openBlobs(t, t.TempDir(), nil)
	b.MaxBytes = 10
	if _, err := b.Put(strings.NewReader("12345678901")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put over limit: %v, want ErrTooLarge", err)
	}
	if _, err := b.Put(strings.NewReader("1234567890")); err != nil {
		t.Fatalf("Put at limit: %v", err)
	}
}

func TestBlobOpenAndVerify(t *testing.T) {
	b := openBlobs(t, t.TempDir(), nil)
	ref, err := b.Put(strings.NewReader("Urteil"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		h    string
		want error
	}{
		{"missing", sum([]byte("other")), ErrBlobMissing},
		{"not a hash", "../../etc/passwd", ErrBlobMissing},
		{"upper case", strings.ToUpper(ref.SHA256), ErrBlobMissing},
	}
	for _, tc := range tests {
		if _, err := b.Open(tc.h); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := os.WriteFile(b.Path(ref.SHA256), []byte("Urteil!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Verify(ref.SHA256); !errors.Is(err, ErrBlobCorrupt) {
		t.Fatalf("Verify tampered: %v, want ErrBlobCorrupt", err)
	}
}

// TestBlobDiskFullTmpfs fills a real 1 MiB tmpfs. It needs root and mount.
func TestBlobDiskFullTmpfs(t *testing.T) {
	dir := certstest.Tmpfs(t, "1m")
	b := openBlobs(t, dir, nil)
	_, err := b.Put(io.LimitReader(zeroReader{}, 2<<20))
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Put 2 MiB into 1 MiB: %v, want ErrDiskFull", err)
	}
	if got := tmpFiles(t, dir); len(got) != 0 {
		t.Fatalf("temp files left: %v", got)
	}
	// Space is back at once: a small blob fits again without reopening.
	if _, err := b.Put(strings.NewReader("klein")); err != nil {
		t.Fatalf("Put after freeing space: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

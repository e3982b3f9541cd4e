package mailbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/writeback"
)

// FileSystem is the seam between durable writes and the operating system;
// tests inject faults (ENOSPC, EIO) through it. OSFS is the real one.
type FileSystem interface {
	MkdirAll(dir string) error
	MkdirTemp(dir, pattern string) (string, error)
	// Create makes a new file; it fails if the name exists.
	Create(name string) (WriteFile, error)
	RemoveAll(path string) error
	CreateTemp(dir, pattern string) (WriteFile, error)
	Rename(from, to string) error
	Remove(name string) error
	// SyncDir fsyncs a directory so a rename or create in it is durable.
	SyncDir(dir string) error
	Open(name string) (io.ReadCloser, error)
	Stat(name string) (os.FileInfo, error)
	ReadDir(dir string) ([]os.DirEntry, error)
}

// WriteFile is a file being written.
type WriteFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// OSFS is the operating system's file system.
type OSFS struct{}

func (OSFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o750) }

// MkdirTemp creates a directory readable by the group (os.MkdirTemp gives
// 0700), since an intake entry renamed into place must be readable by the
// eAkte's import user.
func (OSFS) MkdirTemp(dir, pattern string) (string, error) {
	d, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	return d, os.Chmod(d, 0o750)
}
func (OSFS) Create(name string) (WriteFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
}
func (OSFS) RemoveAll(path string) error { return os.RemoveAll(path) }
func (OSFS) CreateTemp(dir, pattern string) (WriteFile, error) {
	return os.CreateTemp(dir, pattern)
}
func (OSFS) Rename(from, to string) error              { return os.Rename(from, to) }
func (OSFS) Remove(name string) error                  { return os.Remove(name) }
func (OSFS) Open(name string) (io.ReadCloser, error)   { return os.Open(name) }
func (OSFS) Stat(name string) (os.FileInfo, error)     { return os.Stat(name) }
func (OSFS) ReadDir(dir string) ([]os.DirEntry, error) { return os.ReadDir(dir) }
func (OSFS) SyncDir(dir string) error                  { return durable.SyncDir(dir) }

// diskErr marks a full disk with ErrDiskFull and keeps the cause.
func diskErr(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %s: %w", ErrDiskFull, op, err)
	}
	return fmt.Errorf("mailbox: %s: %w", op, err)
}

// Blobs is a content-addressed store of documents on disk: the file of
// content with SHA-256 h lives at <root>/sha256/h[0:2]/h. Files are written
// under <root>/tmp, fsync'd, renamed into place and the directory fsync'd,
// so a committed blob survives a crash and a visible blob is complete.
//
// Blobs is the BlobStore of a single node (or of nodes sharing one POSIX
// file system); Path, ReadBlobs and the backup are folder-only. A finished
// file of the same file system enters it by a link instead of a copy
// (LinkFrom), the rest the same.
type Blobs struct {
	root     string
	fs       FileSystem
	MaxBytes int64 // limit per blob, checked while writing; 0 = DefaultMaxBlobBytes
}

// OpenBlobs opens (creating) a blob store, removes the temporary files
// left by writes that were aborted or cut short by a crash, and puts back
// the files a garbage collection moved aside and did not finish with.
func OpenBlobs(root string, fs FileSystem) (*Blobs, error) {
	if fs == nil {
		fs = OSFS{}
	}
	b := &Blobs{root: root, fs: fs, MaxBytes: DefaultMaxBlobBytes}
	for _, d := range []string{b.tmpDir(), filepath.Join(root, "sha256"), b.purgeDir()} {
		if err := fs.MkdirAll(d); err != nil {
			return nil, diskErr("create blob directory", err)
		}
	}
	if err := fs.SyncDir(root); err != nil { // the two directories just made
		return nil, diskErr("fsync blob root", err)
	}
	ents, err := fs.ReadDir(b.tmpDir())
	if err != nil {
		return nil, diskErr("list blob temp files", err)
	}
	for _, e := range ents {
		if err := fs.Remove(filepath.Join(b.tmpDir(), e.Name())); err != nil {
			return nil, diskErr("remove stale temp file", err)
		}
	}
	if err := b.restorePurged(); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadBlobs returns the blob store at root for reading beside the process
// that writes it (a backup): unlike OpenBlobs it creates, removes and
// restores nothing.
func ReadBlobs(root string) *Blobs {
	return &Blobs{root: root, fs: OSFS{}, MaxBytes: DefaultMaxBlobBytes}
}

func (b *Blobs) tmpDir() string { return filepath.Join(b.root, "tmp") }

// Path returns where the blob with hex SHA-256 h lives.
func (b *Blobs) Path(h string) string {
	if len(h) < 3 {
		return filepath.Join(b.root, "sha256", "invalid")
	}
	return filepath.Join(b.root, "sha256", h[:2], h)
}

// BlobRef names a committed blob.
type BlobRef struct {
	SHA256 string
	Size   int64
}

// blobWriter is an open, uncommitted blob of the folder.
type blobWriter struct {
	b    *Blobs
	f    WriteFile
	h    hash.Hash      // the SHA-256 of what was written
	bw   *behind.Writer // writes f and h beside the caller, on the other core
	n    int64
	err  error
	done bool
}

// Begin starts a blob.
func (b *Blobs) Begin() (BlobWriter, error) {
	f, err := b.fs.CreateTemp(b.tmpDir(), "blob-*.tmp")
	if err != nil {
		return nil, diskErr("create blob", err)
	}
	h := sha256.New()
	// Commit fsyncs the file: its write back starts while it is written.
	return &blobWriter{b: b, f: f, h: h, bw: behind.New(io.MultiWriter(writeback.Of(f), h))}, nil
}

// Write streams content. The first error sticks: later writes and Commit
// return it.
func (w *blobWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, ErrClosed
	}
	max := w.b.MaxBytes
	if max <= 0 {
		max = DefaultMaxBlobBytes
	}
	if w.n+int64(len(p)) > max {
		w.err = fmt.Errorf("%w: blob exceeds %d bytes", ErrTooLarge, max)
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = diskErr("write blob", err)
		return n, w.err
	}
	return n, nil
}

// Commit makes the blob durable and visible: fsync the file, close it,
// rename it to its content address, fsync the directory. Only after Commit
// returns nil may a database row refer to the blob.
func (w *blobWriter) Commit() (BlobRef, error) {
	if w.done {
		return BlobRef{}, ErrClosed
	}
	if w.err != nil {
		w.Abort()
		return BlobRef{}, w.err
	}
	if err := w.bw.Close(); err != nil {
		w.err = diskErr("write blob", err)
		w.Abort()
		return BlobRef{}, w.err
	}
	ref := BlobRef{SHA256: hex.EncodeToString(w.h.Sum(nil)), Size: w.n}
	if err := w.f.Sync(); err != nil {
		w.Abort()
		return BlobRef{}, diskErr("fsync blob", err)
	}
	if err := w.f.Close(); err != nil {
		w.f = nil
		w.Abort()
		return BlobRef{}, diskErr("close blob", err)
	}
	tmp := w.f.Name()
	w.f = nil
	w.done = true
	return w.b.place(tmp, ref)
}

// place renames the fsync'd temporary file tmp holding ref's content to
// its content address and fsyncs the directory; tmp is removed when that
// fails.
func (b *Blobs) place(tmp string, ref BlobRef) (BlobRef, error) {
	dst := b.Path(ref.SHA256)
	dir := filepath.Dir(dst)
	if err := b.ensureDir(dir); err != nil {
		_ = b.fs.Remove(tmp)
		return BlobRef{}, err
	}
	if err := b.fs.Rename(tmp, dst); err != nil {
		_ = b.fs.Remove(tmp)
		return BlobRef{}, diskErr("rename blob", err)
	}
	// Also when the content was already there: an earlier Commit may have
	// crashed between its rename and its directory fsync.
	if err := b.fs.SyncDir(dir); err != nil {
		return BlobRef{}, diskErr("fsync blob directory", err)
	}
	return ref, nil
}

// Open reads back what was written so far, before Commit (a check that
// must see the content before it is kept).
func (w *blobWriter) Open() (io.ReadCloser, error) {
	if w.done {
		return nil, ErrClosed
	}
	if w.err != nil {
		return nil, w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = diskErr("write blob", err)
		return nil, w.err
	}
	return w.b.fs.Open(w.f.Name())
}

// Abort discards the blob and removes its temporary file.
func (w *blobWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	_ = w.bw.Close() // the content is dropped; only the goroutine must end
	if w.f != nil {
		name := w.f.Name()
		_ = w.f.Close()
		_ = w.b.fs.Remove(name)
	}
}

// ensureDir creates a shard directory and makes its entry durable.
func (b *Blobs) ensureDir(dir string) error {
	if _, err := b.fs.Stat(dir); err == nil {
		return nil
	}
	if err := b.fs.MkdirAll(dir); err != nil {
		return diskErr("create blob shard", err)
	}
	if err := b.fs.SyncDir(filepath.Dir(dir)); err != nil {
		return diskErr("fsync blob root", err)
	}
	return nil
}

// Put stores all of r as one blob.
func (b *Blobs) Put(r io.Reader) (BlobRef, error) { return PutBlob(b, r) }

// Open returns the content of a blob. It checks the name only; use Verify
// to re-hash the content.
func (b *Blobs) Open(h string) (io.ReadCloser, error) {
	if !validHex(h) {
		return nil, fmt.Errorf("%w: %q is not a SHA-256", ErrBlobMissing, h)
	}
	f, err := b.fs.Open(b.Path(h))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrBlobMissing, h)
	}
	return f, err
}

// Verify re-hashes a blob and returns ErrBlobCorrupt when it does not match.
func (b *Blobs) Verify(h string) error { return VerifyBlob(b, h) }

// Stat returns the size of a blob; ErrBlobMissing when its file is not
// there (or cannot be looked at).
func (b *Blobs) Stat(h string) (int64, error) {
	if !validHex(h) {
		return 0, fmt.Errorf("%w: %q is not a SHA-256", ErrBlobMissing, h)
	}
	fi, err := b.fs.Stat(b.Path(h))
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrBlobMissing, h, err)
	}
	return fi.Size(), nil
}

func validHex(h string) bool {
	return len(h) == 64 && strings.Trim(h, "0123456789abcdef") == ""
}

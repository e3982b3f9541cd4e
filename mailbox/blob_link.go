package mailbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// linker is a FileSystem that can give a committed file a second name
// without copying its content: a reflink (a copy-on-write clone, an
// independent file) where the file system has them, else a hard link.
// Blobs links through it (BlobLinker) when its FileSystem has it.
type linker interface {
	// Link makes newname, which must not exist, hold the content of
	// oldname, readable by the group (0640) and fsync'd; it is durable
	// once newname's directory is fsync'd.
	Link(oldname, newname string) error
	// Touch sets the modification time of name to now, as a write would.
	Touch(name string) error
}

// Touch sets the modification time of name to now.
func (OSFS) Touch(name string) error {
	now := time.Now()
	return os.Chtimes(name, now, now)
}

// Link clones oldname to newname where the file system supports it
// (FICLONE on Btrfs, XFS, ...), else hard-links it. A hard-linked file
// gets mode 0640, as every intake file has: both names are one inode,
// which only the daemon's user may write. Names on different file
// systems fail with EXDEV.
func (OSFS) Link(oldname, newname string) error {
	if err := cloneFile(oldname, newname); err == nil {
		return nil
	} else if !errors.Is(err, errNoClone) {
		return err
	}
	if err := os.Chmod(oldname, 0o640); err != nil {
		return err
	}
	if err := os.Link(oldname, newname); err != nil {
		return err
	}
	// The new name raised the inode's link count: make that durable with
	// the file (its content is fsync'd too, for a file not yet synced).
	f, err := os.Open(newname)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// errNoClone says the file system cannot clone (the caller links).
var errNoClone = errors.New("mailbox: file system cannot clone files")

// LinkTo gives blob h the name newname (BlobLinker): a clone, or a hard
// link of the blob's file. ErrNotLinked when the store's FileSystem
// cannot link or the link fails (another file system, a link count at
// its limit, a missing blob): the caller copies, which reports a missing
// blob as such.
func (b *Blobs) LinkTo(h, newname string) error {
	l, ok := b.fs.(linker)
	if !ok {
		return ErrNotLinked
	}
	if !validHex(h) {
		return fmt.Errorf("%w: %q is not a SHA-256", ErrNotLinked, h)
	}
	if err := l.Link(b.Path(h), newname); err != nil {
		_ = b.fs.Remove(newname) // a link made before the error; the copy needs the name
		return fmt.Errorf("%w: %w", ErrNotLinked, err)
	}
	return nil
}

// LinkFrom stores the finished file name as a blob by giving it a second
// name in the store rather than copying it (BlobLinker): it is linked
// under tmp/ and fsync'd (by the link) while it is read once to hash it,
// its time set
// to now as a write would (Collect's grace period counts from it), and
// renamed to its address as Commit does. ErrNotLinked when it cannot (no
// linking file system, another file system, not a regular file): nothing
// is left behind and the caller copies. The caller must not write the
// file afterwards; it may remove it.
func (b *Blobs) LinkFrom(name, known string) (BlobRef, error) {
	l, ok := b.fs.(linker)
	if !ok {
		return BlobRef{}, ErrNotLinked
	}
	fi, err := b.fs.Stat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return BlobRef{}, fmt.Errorf("%w: %s is not a regular file", ErrNotLinked, name)
	}
	max := b.MaxBytes
	if max <= 0 {
		max = DefaultMaxBlobBytes
	}
	if fi.Size() > max {
		return BlobRef{}, fmt.Errorf("%w: blob exceeds %d bytes", ErrTooLarge, max)
	}
	// The file is hashed while the link is made durable (the fsync writes
	// it to disk, the hash reads it from the cache): nothing writes a
	// finished file, so its content is the linked one. A digest its writer
	// took is taken instead.
	type hashed struct {
		ref BlobRef
		err error
	}
	hc := make(chan hashed, 1)
	if known != "" {
		if !validHex(known) {
			return BlobRef{}, fmt.Errorf("%w: the known SHA-256 %q is not one", ErrInvalidInput, known)
		}
		hc <- hashed{ref: BlobRef{SHA256: known, Size: fi.Size()}}
	} else {
		go func() {
			ref, err := b.hashFile(name, max)
			hc <- hashed{ref, err}
		}()
	}
	// A fresh name in tmp/: reserved by creating it, freed for the link.
	w, err := b.fs.CreateTemp(b.tmpDir(), "blob-*.tmp")
	if err != nil {
		<-hc
		return BlobRef{}, diskErr("create blob", err)
	}
	tmp := w.Name()
	_ = w.Close()
	if err := b.fs.Remove(tmp); err != nil {
		<-hc
		return BlobRef{}, diskErr("create blob", err)
	}
	if err := l.Link(name, tmp); err != nil {
		_ = b.fs.Remove(tmp)
		<-hc
		return BlobRef{}, fmt.Errorf("%w: %w", ErrNotLinked, err)
	}
	h := <-hc
	ref, err := h.ref, h.err
	if err == nil {
		if terr := l.Touch(tmp); terr != nil {
			err = diskErr("touch blob", terr)
		}
	}
	if err != nil {
		_ = b.fs.Remove(tmp)
		return BlobRef{}, err
	}
	return b.place(tmp, ref)
}

// hashFile reads the file name and returns its address.
func (b *Blobs) hashFile(name string, max int64) (BlobRef, error) {
	r, err := b.fs.Open(name)
	if err != nil {
		return BlobRef{}, diskErr("open blob", err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	switch {
	case err != nil:
		return BlobRef{}, fmt.Errorf("mailbox: read blob source: %w", err)
	case n > max:
		return BlobRef{}, fmt.Errorf("%w: blob exceeds %d bytes", ErrTooLarge, max)
	}
	return BlobRef{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// HashedFile is a finished spool file with the SHA-256 (hex) its writer
// took while writing it, in this process: storing it as a blob takes that
// digest instead of reading the file again. Nothing may write the file
// afterwards.
type HashedFile struct {
	*os.File
	SHA256 string
}

// PutFile stores f, read from its start, as a blob of b: linked where b
// can (BlobLinker.LinkFrom), copied otherwise. f is a finished file the
// caller hands over: nothing may write it afterwards. known is its
// SHA-256 as its writer took it (HashedFile), or "".
func PutFile(b BlobStore, f *os.File, known string) (BlobRef, error) {
	if l, ok := b.(BlobLinker); ok {
		if off, err := f.Seek(0, io.SeekCurrent); err == nil && off == 0 {
			ref, err := l.LinkFrom(f.Name(), known)
			if !errors.Is(err, ErrNotLinked) {
				return ref, err
			}
		}
	}
	return b.Put(f)
}

var _ BlobLinker = (*Blobs)(nil)

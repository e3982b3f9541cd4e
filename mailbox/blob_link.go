package mailbox

import (
	"errors"
	"fmt"
	"os"
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

var _ BlobLinker = (*Blobs)(nil)

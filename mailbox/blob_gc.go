package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Removing a blob races with a submission that puts the same content:
// Commit renames a fresh file over the address whether or not it exists,
// and the row that refers to it commits later. A blob file is therefore
// removed only when it was last written before a grace period that is
// longer than any submission, after it has been moved aside (so that a
// Put in between leaves its own file in place) and only when, moved aside,
// no document left unpurged refers to it. A file moved aside by a process
// that stopped before it decided is put back by OpenBlobs: restoring is
// never wrong, and the blob stays on the garbage list for the next run.

func (b *Blobs) purgeDir() string { return filepath.Join(b.root, "purge") }

// restorePurged puts back the files a collection moved aside and did not
// finish with.
func (b *Blobs) restorePurged() error {
	ents, err := b.fs.ReadDir(b.purgeDir())
	if err != nil {
		return diskErr("list blobs being removed", err)
	}
	for _, e := range ents {
		name := filepath.Join(b.purgeDir(), e.Name())
		if !validHex(e.Name()) {
			if err := b.fs.Remove(name); err != nil {
				return diskErr("remove stray file", err)
			}
			continue
		}
		if err := b.putBack(e.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// putBack moves blob h from the purge directory to its address.
func (b *Blobs) putBack(h string) error {
	dst := b.Path(h)
	if err := b.ensureDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := b.fs.Rename(filepath.Join(b.purgeDir(), h), dst); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return err
		}
		return diskErr("restore blob", err)
	}
	if err := b.fs.SyncDir(filepath.Dir(dst)); err != nil {
		return diskErr("fsync blob directory", err)
	}
	return nil
}

var _ BlobStore = (*Blobs)(nil)

// Collect removes the file of blob h if it was last written before
// writtenBefore and referenced, asked once the file is moved aside,
// reports no reference. It returns the bytes removed.
func (b *Blobs) Collect(h string, writtenBefore time.Time, referenced func() (bool, error)) (CollectOutcome, int64, error) {
	if !validHex(h) {
		return CollectGone, 0, nil
	}
	path := b.Path(h)
	fi, err := b.fs.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return CollectGone, 0, nil
	case err != nil:
		return 0, 0, diskErr("stat blob", err)
	case !fi.ModTime().Before(writtenBefore):
		return CollectRecent, 0, nil
	}
	aside := filepath.Join(b.purgeDir(), h)
	if err := b.fs.Rename(path, aside); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return CollectGone, 0, nil
		}
		return 0, 0, diskErr("move blob aside", err)
	}
	keep := func(o CollectOutcome, cause error) (CollectOutcome, int64, error) {
		if err := b.putBack(h); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, 0, errors.Join(cause, err)
		}
		return o, 0, cause
	}
	fi, err = b.fs.Stat(aside)
	switch {
	case errors.Is(err, os.ErrNotExist): // another process put it back
		return CollectRecent, 0, nil
	case err != nil:
		return keep(0, diskErr("stat blob", err))
	case !fi.ModTime().Before(writtenBefore): // a Put between the Stat and the rename
		return keep(CollectRecent, nil)
	}
	ref, err := referenced()
	if err != nil {
		return keep(0, err)
	}
	if ref {
		return keep(CollectReferenced, nil)
	}
	if err := b.fs.Remove(aside); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return CollectRecent, 0, nil
		}
		return keep(0, diskErr("remove blob", err))
	}
	if err := errors.Join(b.fs.SyncDir(b.purgeDir()), b.fs.SyncDir(filepath.Dir(path))); err != nil {
		return 0, 0, diskErr("fsync blob directory", err)
	}
	return CollectRemoved, fi.Size(), nil
}

// ErrCollectionBusy is returned by TryLockCollection while another process
// (a backup) holds the collection lock.
var ErrCollectionBusy = errors.New("mailbox: blob collection locked by another process")

// LockCollection takes the lock that keeps blob files from being removed
// (CollectGarbage) until unlock is called; a backup holds it while it
// copies the blobs of its database snapshot. It waits for a collection in
// progress to finish.
func (b *Blobs) LockCollection() (unlock func(), err error) {
	return b.lockCollection(syscall.LOCK_EX)
}

// TryLockCollection is LockCollection without waiting: ErrCollectionBusy
// when the lock is held.
func (b *Blobs) TryLockCollection() (unlock func(), err error) {
	return b.lockCollection(syscall.LOCK_EX | syscall.LOCK_NB)
}

func (b *Blobs) lockCollection(how int) (func(), error) {
	f, err := os.OpenFile(filepath.Join(b.root, "collect.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("mailbox: blob collection lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrCollectionBusy
		}
		return nil, fmt.Errorf("mailbox: blob collection lock: %w", err)
	}
	return func() { f.Close() }, nil
}

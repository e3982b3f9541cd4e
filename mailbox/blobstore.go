package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// BlobStore is the contract of a content-addressed store of documents,
// kept by the folder (Blobs), by PostgreSQL (mailbox/pgblobs) and by an
// S3-compatible object store (mailbox/s3blobs); mailbox/blobtest checks
// every implementation against it:
//
//   - A blob is named by the hex SHA-256 of its content, computed while it
//     is streamed in; memory stays bounded whatever its size.
//   - Commit returns only once the blob is durable; only then may a row
//     refer to it. Abort, or a crash before Commit returns, leaves nothing
//     visible: a blob is either complete under its name or absent.
//   - A committed blob is immutable: writing the same content again
//     (also concurrently) commits the same name and never a different
//     content under it.
//   - Open checks the name only; Verify re-hashes the content.
//   - Garbage is removed by Collect (see CollectGarbage) only after a grace
//     period, and never while the collection lock is held.
type BlobStore interface {
	// Begin starts a blob.
	Begin() (BlobWriter, error)
	// Put stores all of r as one blob.
	Put(r io.Reader) (BlobRef, error)
	// Open returns the content of a blob; ErrBlobMissing when there is none.
	Open(h string) (io.ReadCloser, error)
	// Verify re-hashes a blob: ErrBlobCorrupt when it does not match,
	// ErrBlobMissing when there is none.
	Verify(h string) error
	// Stat returns the size of a committed blob; ErrBlobMissing when there
	// is none.
	Stat(h string) (int64, error)
	// Collect removes blob h if it was last written before writtenBefore
	// and referenced, asked at a moment after which a concurrent write of
	// the same content is certain to keep its own copy, reports no
	// reference. It returns what it did and the bytes removed.
	Collect(h string, writtenBefore time.Time, referenced func() (bool, error)) (CollectOutcome, int64, error)
	// LockCollection keeps Collect from removing anything until unlock is
	// called, across every process using the store (a backup holds it);
	// it waits for a collection in progress.
	LockCollection() (unlock func(), err error)
	// TryLockCollection is LockCollection without waiting:
	// ErrCollectionBusy when the lock is held.
	TryLockCollection() (unlock func(), err error)
}

// BlobWriter is an open, uncommitted blob. Exactly one of Commit and Abort
// ends it; Abort after Commit is a no-op, so `defer w.Abort()` is safe. The
// first error of Write sticks: later writes and Commit return it.
type BlobWriter interface {
	io.Writer
	// Commit makes the blob durable and visible under its content address.
	Commit() (BlobRef, error)
	// Abort discards the blob.
	Abort()
	// Open reads back what was written so far, before Commit (a check that
	// must see the content before it is kept).
	Open() (io.ReadCloser, error)
}

// DialogLocker is a capability a Store may have beside the contract: a
// store shared by several gateways (PostgreSQL) lets one of them at a time
// hold a mailbox's fetch dialog. A caller asks for it with a type
// assertion on the interface; a store without it is one gateway's own.
type DialogLocker interface {
	TryLockDialog(ctx context.Context, mailbox string) (unlock func(), ok bool, err error)
}

// BlobLinker is a capability a BlobStore may have beside the contract:
// its blobs are files of the local file system, so a blob can be given a
// second name there, and a finished file can become a blob, instead of
// being copied (a copy-on-write clone where the file system has them,
// else a hard link). The folder (Blobs) has it; pgblobs and s3blobs do
// not, and their users copy. A caller asks for it with a type assertion
// on the interface, never on a concrete store.
//
// A hard link shares the blob's file, which is safe because a committed
// blob is immutable: nothing writes a blob's file after Commit (the same
// content written again is a new file renamed over the name, and Collect
// only removes the name), so a later change to the store never alters a
// file linked out of it.
type BlobLinker interface {
	// LinkFrom stores the finished file name as a blob by giving it a
	// second name in the store, read once to hash it and durable as
	// Commit makes a blob; the caller must not write the file afterwards
	// (it may remove it). known, when not empty, is the file's SHA-256
	// (hex) as its writer took it in this process (HashedFile): it is
	// taken instead of reading the file. ErrNotLinked when it cannot: the
	// caller copies (Put).
	LinkFrom(name, known string) (BlobRef, error)
	// LinkTo makes newname, which must not exist, hold the content of
	// blob h, mode 0640, fsync'd; it is durable once newname's directory
	// is fsync'd. ErrNotLinked when it cannot (another file system, ...):
	// the caller copies instead.
	LinkTo(h, newname string) error
}

// ErrNotLinked is returned by a BlobLinker that could not link: the
// caller copies instead.
var ErrNotLinked = errors.New("mailbox: blob not linked")

// CollectOutcome is what Collect did with one blob of the garbage list.
type CollectOutcome int

const (
	CollectRemoved    CollectOutcome = iota // the blob is removed
	CollectGone                             // there was no blob
	CollectRecent                           // written within the grace period (or restored by another process): left for the next run
	CollectReferenced                       // a document refers to it again: left in place
)

// DefaultMaxBlobBytes is the limit per blob when a store's MaxBytes is 0.
const DefaultMaxBlobBytes = 1 << 30

// PutBlob stores all of r as one blob through w's store: the Put of every
// implementation.
func PutBlob(b BlobStore, r io.Reader) (BlobRef, error) {
	w, err := b.Begin()
	if err != nil {
		return BlobRef{}, err
	}
	defer w.Abort()
	src := &sourceReader{r: r}
	if _, err := io.Copy(w, src); err != nil {
		if src.err == nil || err != src.err {
			return BlobRef{}, err // the store's: sticky, so Commit would return it too
		}
		return BlobRef{}, fmt.Errorf("mailbox: read blob source: %w", err)
	}
	return w.Commit()
}

// sourceReader remembers the error of the reader a blob is copied from,
// to tell it from the store's.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// VerifyBlob re-hashes blob h of b: the Verify of every implementation.
func VerifyBlob(b BlobStore, h string) error {
	r, err := b.Open(h)
	if err != nil {
		return err
	}
	defer r.Close()
	s := sha256.New()
	if _, err := io.Copy(s, r); err != nil {
		return fmt.Errorf("mailbox: read blob %s: %w", h, err)
	}
	if got := hex.EncodeToString(s.Sum(nil)); got != h {
		return fmt.Errorf("%w: %s hashes to %s", ErrBlobCorrupt, h, got)
	}
	return nil
}

// ValidBlobName reports whether h is a hex SHA-256 as blobs are named.
func ValidBlobName(h string) bool { return validHex(h) }

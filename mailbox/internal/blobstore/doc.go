// Package blobstore is what the blob stores outside package mailbox
// (pgblobs, s3blobs) decide alike. State is the bookkeeping of a
// mailbox.BlobWriter: the bytes taken, their SHA-256, the limit per blob,
// the first error and whether the writer is closed; each store keeps only
// where the bytes go. Collectable is the decision of Collect once a store
// has looked a blob up; each store keeps how it looks up and removes.
//
// Guarantees are mailbox.BlobWriter's and mailbox.BlobStore's: a Write
// past the limit takes nothing and fails with mailbox.ErrTooLarge, a
// Write after Commit or Abort with mailbox.ErrClosed, and the first error
// sticks: every later Write returns it again (and the store's Commit,
// asking Err). A blob is collectable only when it exists, was written
// before the grace period began and referenced says no; an error of
// referenced keeps the blob and is returned.
package blobstore

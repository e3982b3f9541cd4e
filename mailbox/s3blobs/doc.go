// Package s3blobs keeps the gateway's blobs in an S3-compatible object
// store (mailbox.BlobStore), for several gateways that share no file
// system.
//
// A blob is written to a spool file in a node-local directory, hashed as
// it streams in; the file is unlinked as soon as it is created, so an
// aborted write or a crash leaves nothing behind, on the node or in the
// bucket. Commit uploads it under its name, <prefix>sha256/<hash>, known
// only then (a multipart upload above the part size, read from the spool
// file so memory stays at a few parts), and returns once the object store
// has acknowledged the upload: S3 acknowledges only what it stores
// durably. Uploading under a temporary key and copying it to its hash was
// rejected: the copy doubles the bytes the store writes, and a crash
// between the two leaves temporary objects that only an age-based sweep
// could tell from another node's upload in progress. Writing the same
// content twice, also concurrently, stores the same bytes under the same
// key. Open, Stat and Verify read the object; Verify re-hashes it.
//
// S3 has no atomic rename and, without versioning, no delete that spares
// a concurrent overwrite. Collect therefore removes in two runs: the
// first moves an old, unreferenced blob aside to <prefix>purge/<hash>
// (Open still finds it there); a run at least the grace period later asks
// again whether a document refers to it and then puts it back or deletes
// it. A write that raced the first run has committed its row long before
// the second asks, so its blob is restored, never lost. Times compared
// with writtenBefore are the object store's Last-Modified: its clock must
// agree with the gateway's to well within the grace period.
//
// The collection lock is a lock file in the spool directory: it holds
// among the processes of one node only. Several nodes collecting at once
// is safe (each step is repeatable); a backup of the bucket is taken with
// the object store's own means (versioning, replication).
//
// Errors of the object store are wrapped with ErrUnavailable (temporary);
// a missing object is mailbox.ErrBlobMissing, a blob over MaxBytes
// mailbox.ErrTooLarge.
package s3blobs

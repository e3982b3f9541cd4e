// Package blobtest is the conformance suite of mailbox.BlobStore: every
// implementation (the folder, PostgreSQL, an S3-compatible object store)
// runs the same tests against a real backend, so that the gateway's
// guarantees (a committed blob is durable, complete and immutable, an
// aborted or crashed write leaves nothing, content is named by its
// SHA-256, memory stays bounded for large documents, garbage collection
// never removes a blob a concurrent write of the same content relies on,
// and, for a store that can link (mailbox.BlobLinker), a file linked in
// or out is the blob's content and stays so whatever happens to the blob
// later) hold whichever store is configured; a store that cannot link
// skips that test. A test fails with t.Fatal or
// t.Error naming the broken guarantee; nothing is mocked.
//
// Bench measures writing and reading through a store at the sizes of the
// documentation's recommendation.
package blobtest

// Package pgblobs keeps the gateway's blobs in PostgreSQL
// (mailbox.BlobStore), chunked, for several gateways that share a
// database and no file system.
//
// A writer opens a transaction at Begin and inserts the content as it
// streams in, in chunks of ChunkSize (1 MiB) into blob_chunks under a
// blob id drawn from a sequence, hashing as it goes; Commit inserts the
// row in blobs that names the id by its SHA-256 and commits. A blob is
// therefore visible complete or not at all: Abort rolls back, and a
// crash or a lost connection before the commit makes the server roll it
// back; nothing is left to sweep. Commit returns after PostgreSQL's
// commit, durable as the server is configured (synchronous_commit on).
// When the name exists already (the same content, also written
// concurrently), the writer's chunks are deleted in the same
// transaction and the row's written_at is renewed: the name keeps its
// first content, which is the same.
//
// Reading fetches one chunk per query, so memory stays at a chunk and no
// connection is held between reads. A writer holds one connection from
// Begin to Commit; MaxConns bounds how many blobs are written at once.
//
// Collect locks the blob's row (SELECT … FOR UPDATE) before it asks
// whether a document refers to the blob, and deletes row and chunks in
// the same transaction: a concurrent Commit of the same content waits
// for the row and then either renews it (the collection left it) or
// inserts its own chunks (it was removed). The collection lock is a
// PostgreSQL advisory lock, held on a connection of its own: it holds
// across all gateways using the database.
//
// The tables live in the database dsn names, which may be the message
// store's (one thing to back up, transactions never span both) or a
// database of its own (the blobs' volume and vacuum kept apart from the
// store's). Their schema is versioned by goose in blob_schema_migrations,
// apart from the store's, so either works; Open migrates with
// Options.Migrate and otherwise refuses a schema behind or ahead.
//
// Errors of the server are wrapped with ErrUnavailable (temporary); a
// missing blob is mailbox.ErrBlobMissing, a blob over MaxBytes
// mailbox.ErrTooLarge.
package pgblobs

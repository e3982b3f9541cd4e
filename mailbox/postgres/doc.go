// Package postgres is the mailbox.Store on PostgreSQL (pgx), for several
// gateways sharing one database. It has the SQLite store's tables and
// behaviour and passes the same conformance suite (mailbox/storetest).
//
// Durability: a change is committed when its transaction's COMMIT
// returned; nothing is reported done before. A lost connection is
// ErrUnavailable (temporary: retry), a full disk mailbox.ErrDiskFull. A
// transaction the server aborts for a deadlock or a serialization conflict
// between gateways committed nothing and is run again (up to 5 times).
//
// Several gateways: ClaimDue locks due rows with FOR UPDATE SKIP LOCKED,
// so two gateways never claim one row and neither waits for the other.
// A claim sets the lease (owner, expiry) and raises the fencing counter
// (lease_token); every later write of the holder (Apply, ExtendLease, and
// through them every step of the engines) names owner and token and is
// refused with mailbox.ErrLeaseLost once another gateway claimed the
// message after the lease ran out or an operator acted. Changes lock the
// message row (SELECT ... FOR UPDATE) before reading it. Insertions under
// a unique key (an incoming MessageId, an idempotency key) take turns on a
// transaction-scoped advisory lock, so the second finds the first's row.
// There is no ReleaseLeases: at start a gateway frees only expired leases,
// since a live one may be another gateway's.
//
// Journal: one hash chain for all gateways. Every append locks the single
// journal_head row (SELECT ... FOR UPDATE) and holds it until commit, so
// appends are serialised and entry N+1 is never visible before entry N.
// UPDATE, DELETE and TRUNCATE on journal are refused by triggers.
//
// The journal head outside the database: each gateway keeps the head in a
// file of its own (Options.HeadPath, in its data directory), written
// atomically after each of its commits that appended entries, as the
// SQLite store does beside its database file, and never moved backwards
// or over a journal found cut. journal_anchor records per gateway (Node)
// since when its file exists, so a removed file is reported
// (mailbox.ErrNoAnchor) rather than written anew. A file per gateway and
// not one shared file: a shared file would need shared storage and a lock
// across machines, which is what the database is for. Someone able to edit
// the database can therefore cut the journal's tail only undetected by a
// gateway whose file was removed too; `journal verify --config` on each
// node checks the database against that node's file. A file behind the
// database (entries of other gateways since) is not an error
// (JournalReport.AnchorBehind).
//
// Schema: versioned migrations (goose), embedded in the binary
// (migrations/), applied by `bebpo-gateway migrate` (Migrate) under an
// advisory lock, each in its own transaction. Open refuses a schema behind
// the program (ErrSchemaBehind) unless Options.Migrate, and one ahead of
// it (ErrSchemaTooNew) always. Times are Unix nanoseconds in BIGINT
// columns, as in the SQLite store: the journal hash covers nanoseconds.
//
// One OSCI dialog per mailbox across gateways: TryLockDialog takes a
// session advisory lock per mailbox on a connection of its own; the
// daemon's fetch loop skips a round while another gateway holds it. It is
// freed when its holder unlocks, dies or loses its connection; a paused
// holder keeps it (see TryLockDialog).
//
// Not yet here: blobs stay in the local folder of each gateway (shared
// storage for several gateways).
package postgres

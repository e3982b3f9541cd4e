// Package sqlstore is the mailbox.Store logic the SQLite and the
// PostgreSQL store share: the state machine's checks as the tables apply
// them, the journal's hash chain and the head file that anchors it,
// purge decisions, the mapping of rows to messages and the bookkeeping of
// reads. Each rule lives here once; a store supplies its connections, its
// transactions and a Dialect (the SQL that differs, how its driver's
// errors are told apart), and keeps only what it alone has.
//
// Guarantees are the stores': nothing is reported done before the
// transaction that made it committed (Config.WriteTx), and every change
// of a message appends its journal entry in that same transaction. After
// a commit that appended entries the journal head is written to the head
// file under a lock file, never backwards and never over a journal found
// cut or rewritten; a failed head write does not undo the commit and is
// reported by AnchorErr. A failure of the database is returned as the
// dialect classified it (full disk, I/O error, server unavailable).
package sqlstore

// Package storecopy moves a site's mailbox store from the embedded SQLite
// file to PostgreSQL (SQLiteToPostgres), the step behind
// `bebpo-gateway migrate --from sqlite --to postgres`.
//
// What it guarantees:
//
//   - Nothing is written before the source proved sound: its journal is
//     verified first, exactly as `journal verify` does (chain and the head
//     kept in gateway.db.journal-head); a broken journal is refused with
//     mailbox.ErrJournalBroken naming the first bad entry, before the
//     target is even migrated.
//   - No merge: the target must hold no message, document, journal entry
//     or any other row of the store (ErrTargetNotEmpty), and the data
//     directory no journal head file of PostgreSQL yet; a database holding
//     messages or journal entries is refused before its schema is migrated,
//     the rest is checked under the lock. The tables are
//     locked (EXCLUSIVE) for the copy, so a gateway started on the target
//     meanwhile waits instead of writing between the rows.
//   - All or nothing: every row is copied in one PostgreSQL transaction
//     (COPY), read from one SQLite read transaction (one committed state).
//     A cancelled context, a lost connection or a crash rolls the whole
//     copy back: the target is left empty (its schema migrated) and the
//     run can simply be started again; it is never half filled.
//   - Byte for byte: every column of every row is copied as stored (IDs,
//     Unix-nanosecond times, hashes, leases, NULLs); the identity of
//     messages.id continues after the highest copied ID. After the commit
//     the target is opened with the normal store code, which anchors its
//     journal head (Options.HeadPath, recorded in journal_anchor for this
//     node), its journal is verified as `journal verify --config` does,
//     and every table is read back: counts and a SHA-256 over all rows in
//     key order must equal the source's, and both journal heads must be
//     the same entry. Otherwise ErrMismatch (the target then holds the
//     copy: inspect it, drop and recreate the database, run again).
//   - Blobs: the documents' content is not in the store. With no
//     Options.TargetBlobs it stays where it is (the folder); with one, every
//     blob a kept (not purged) document refers to is copied before the
//     rows commit, re-hashed on the way (mailbox.ErrBlobCorrupt on a
//     difference, ErrBlobMissing when the source lacks one), so no copied
//     row refers to a blob the target lacks. Blobs copied by a run that
//     then failed stay in the target blob store unreferenced; they are
//     content-addressed, and a new run writes the same names.
//
// Not copied: schema_migrations (each store keeps its own), the SQLite
// journal_anchor row (the target records its own when it is first opened)
// and the other databases of the data directory (eeb.db, notify.db,
// register.db), which are not part of the store.
//
// The source must not be written meanwhile: the caller holds the data
// directory lock (gateway.LockDataDir), which a running gateway holds. A
// source whose journal head moves between the check and the copy is
// refused (ErrSourceChanged).
package storecopy

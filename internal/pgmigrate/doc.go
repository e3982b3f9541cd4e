// Package pgmigrate runs one embedded set of numbered SQL migrations
// against PostgreSQL with goose, and tells the schema version a database
// has. It is the one migration rule of every PostgreSQL schema the
// gateway owns (the message store, the blob tables), each with its own
// version table.
//
// Up applies the pending migrations, each in its own transaction, under a
// PostgreSQL session advisory lock, so that gateways started together
// migrate once. A database migrated further than the embedded files know
// is refused with the set's TooNew error and left alone; Check refuses a
// schema ahead of or behind the files. Other failures are the database's
// errors, wrapped, for the caller to classify.
package pgmigrate

package sqlite

// migrations are applied in order, each in its own transaction, and
// recorded in schema_migrations. Never edit a released migration; append.
// They run with foreign keys off, so a table can be rebuilt (SQLite cannot
// drop a constraint), and a foreign key check must pass before each
// commits. Times are Unix nanoseconds (UTC), 0 meaning "not set"; a
// PostgreSQL store uses the same tables and columns with timestamptz and
// NULL.
var migrations = []string{
	// 1: messages, documents, process cards, intake records, journal.
	`
CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
	mailbox         TEXT    NOT NULL,
	state           TEXT    NOT NULL,
	held_from       TEXT    NOT NULL DEFAULT '',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0,
	lease_token     INTEGER NOT NULL DEFAULT 0,
	osci_message_id TEXT,
	content_sha256  TEXT    NOT NULL,
	size            INTEGER NOT NULL,
	subject         TEXT    NOT NULL DEFAULT '',
	sender          TEXT    NOT NULL DEFAULT '',
	recipient       TEXT    NOT NULL DEFAULT '',
	last_error_code TEXT    NOT NULL DEFAULT '',
	last_error_text TEXT    NOT NULL DEFAULT '',
	meta            TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	finalized_at    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (mailbox, osci_message_id)
);
CREATE INDEX messages_due ON messages (direction, state, next_attempt_at);
CREATE INDEX messages_content ON messages (mailbox, direction, content_sha256);

CREATE TABLE documents (
	message_id   INTEGER NOT NULL REFERENCES messages (id),
	seq          INTEGER NOT NULL,
	role         TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL DEFAULT '',
	sha256       TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	PRIMARY KEY (message_id, seq)
);
CREATE INDEX documents_blob ON documents (sha256);

CREATE TABLE process_cards (
	message_id          INTEGER PRIMARY KEY REFERENCES messages (id),
	osci_message_id     TEXT    NOT NULL,
	creation            INTEGER NOT NULL DEFAULT 0,
	forwarding          INTEGER NOT NULL DEFAULT 0,
	reception           INTEGER NOT NULL DEFAULT 0,
	recent_modification INTEGER NOT NULL DEFAULT 0,
	subject             TEXT    NOT NULL DEFAULT '',
	inspections         TEXT    NOT NULL DEFAULT '[]',
	updated_at          INTEGER NOT NULL
);

CREATE TABLE intake_records (
	message_id      INTEGER PRIMARY KEY REFERENCES messages (id),
	sink            TEXT    NOT NULL,
	location        TEXT    NOT NULL,
	manifest_sha256 TEXT    NOT NULL,
	delivered_at    INTEGER NOT NULL
);

CREATE TABLE journal (
	seq        INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	message_id INTEGER NOT NULL,
	kind       TEXT    NOT NULL,
	detail     TEXT    NOT NULL,
	prev_hash  TEXT    NOT NULL,
	hash       TEXT    NOT NULL
);
CREATE INDEX journal_message ON journal (message_id);

-- journal_head holds the last entry so an append reads one row; in
-- PostgreSQL it is the row appenders lock (SELECT ... FOR UPDATE).
CREATE TABLE journal_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT    NOT NULL
);

-- The journal is append-only: the database refuses edits and deletions.
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
`, // 2: idempotency keys of submissions (one message per key).
	`
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX messages_idempotency ON messages (idempotency_key);
`, // 3: a MessageId is unique per mailbox and direction: a message to
	// oneself has an outgoing and an incoming copy under the same one.
	`
CREATE TABLE messages_v3 (
	id              INTEGER PRIMARY KEY,
	direction       TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
	mailbox         TEXT    NOT NULL,
	state           TEXT    NOT NULL,
	held_from       TEXT    NOT NULL DEFAULT '',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0,
	lease_token     INTEGER NOT NULL DEFAULT 0,
	osci_message_id TEXT,
	content_sha256  TEXT    NOT NULL,
	size            INTEGER NOT NULL,
	subject         TEXT    NOT NULL DEFAULT '',
	sender          TEXT    NOT NULL DEFAULT '',
	recipient       TEXT    NOT NULL DEFAULT '',
	last_error_code TEXT    NOT NULL DEFAULT '',
	last_error_text TEXT    NOT NULL DEFAULT '',
	meta            TEXT    NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	finalized_at    INTEGER NOT NULL DEFAULT 0,
	idempotency_key TEXT,
	UNIQUE (mailbox, direction, osci_message_id)
);
INSERT INTO messages_v3 (id, direction, mailbox, state, held_from, attempts, next_attempt_at, lease_owner, lease_until, lease_token,
	osci_message_id, content_sha256, size, subject, sender, recipient, last_error_code, last_error_text, meta, created_at, updated_at,
	finalized_at, idempotency_key)
SELECT id, direction, mailbox, state, held_from, attempts, next_attempt_at, lease_owner, lease_until, lease_token,
	osci_message_id, content_sha256, size, subject, sender, recipient, last_error_code, last_error_text, meta, created_at, updated_at,
	finalized_at, idempotency_key FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_due ON messages (direction, state, next_attempt_at);
CREATE INDEX messages_content ON messages (mailbox, direction, content_sha256);
CREATE UNIQUE INDEX messages_idempotency ON messages (idempotency_key);
`, // 4: an incoming message whose documents equal an earlier one's is
	// delivered and flagged with that message's MessageId.
	`
ALTER TABLE messages ADD COLUMN same_content_as TEXT NOT NULL DEFAULT '';
`, // 5: reads of deliveries not (yet) stored, counted before each read so
	// that a delivery that keeps failing (or stopping the process) is
	// parked instead of blocking its mailbox.
	`
CREATE TABLE fetch_attempts (
	mailbox         TEXT    NOT NULL,
	osci_message_id TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	last_error      TEXT    NOT NULL DEFAULT '',
	first_at        INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	PRIMARY KEY (mailbox, osci_message_id)
);
`, // 6: the journal head is also kept in a file beside the database
	// (HeadPath); this row says since when, so that a removed file is
	// reported instead of being silently written anew.
	`
CREATE TABLE journal_anchor (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	seq    INTEGER NOT NULL,
	hash   TEXT    NOT NULL,
	at     INTEGER NOT NULL,
	reason TEXT    NOT NULL
);
`, // 7: retention removes the content of documents of finished messages;
	// the row stays, marked, and a blob no kept document refers to any
	// more waits on blob_garbage until its file is removed.
	`
ALTER TABLE documents ADD COLUMN purged_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_finalized ON messages (mailbox, direction, state, finalized_at);
CREATE TABLE blob_garbage (
	sha256    TEXT    PRIMARY KEY,
	marked_at INTEGER NOT NULL
);
`,
}

package sqlite

// migrations are applied in order, each in its own transaction, and
// recorded in schema_migrations. Never edit a released migration; append.
// Times are Unix nanoseconds (UTC), 0 meaning "not set"; structured values
// (company data, the confirmation, the threshold decision, a process
// card) are JSON text. A PostgreSQL store uses the same tables and
// columns with timestamptz, jsonb and NULL.
var migrations = []string{
	// 1: procedures, bidders, queries, answers, reliances, assessments,
	// filings, registrations, journal.
	`
CREATE TABLE procedures (
	id          INTEGER PRIMARY KEY,
	number      TEXT    NOT NULL UNIQUE,
	description TEXT    NOT NULL,
	publication TEXT    NOT NULL DEFAULT '',
	value_cents INTEGER NOT NULL,
	kind        TEXT    NOT NULL,
	contract    TEXT    NOT NULL,
	date        INTEGER NOT NULL,
	decision    TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	created_by  TEXT    NOT NULL
);

CREATE TABLE bidders (
	id           INTEGER PRIMARY KEY,
	procedure_id INTEGER NOT NULL UNIQUE REFERENCES procedures (id),
	name         TEXT    NOT NULL,
	consortium   INTEGER NOT NULL
);

CREATE TABLE members (
	id        INTEGER PRIMARY KEY,
	bidder_id INTEGER NOT NULL REFERENCES bidders (id),
	company   TEXT    NOT NULL
);

CREATE TABLE queries (
	id              INTEGER PRIMARY KEY,
	procedure_id    INTEGER NOT NULL REFERENCES procedures (id),
	member_id       INTEGER NOT NULL REFERENCES members (id),
	channel         TEXT    NOT NULL,
	state           TEXT    NOT NULL,
	purpose         TEXT    NOT NULL,
	confirmation    TEXT    NOT NULL,
	requested_by    TEXT    NOT NULL,
	requested_at    INTEGER NOT NULL,
	ref             TEXT    NOT NULL DEFAULT '',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	answer_id       INTEGER NOT NULL DEFAULT 0,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0,
	lease_token     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queries_due ON queries (channel, state, next_attempt_at);
CREATE INDEX queries_procedure ON queries (procedure_id);

CREATE TABLE answers (
	id           INTEGER PRIMARY KEY,
	query_id     INTEGER NOT NULL REFERENCES queries (id),
	company      TEXT    NOT NULL,
	register_key TEXT    NOT NULL,
	vat_key      TEXT    NOT NULL,
	has_entries  INTEGER NOT NULL,
	channel      TEXT    NOT NULL,
	received_at  INTEGER NOT NULL,
	recorded_by  TEXT    NOT NULL,
	file_name    TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	content      BLOB,
	deleted_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX answers_register_key ON answers (register_key, received_at);
CREATE INDEX answers_vat_key ON answers (vat_key, received_at);
CREATE INDEX answers_received ON answers (deleted_at, received_at);

CREATE TABLE reliances (
	procedure_id INTEGER NOT NULL REFERENCES procedures (id),
	member_id    INTEGER NOT NULL REFERENCES members (id),
	answer_id    INTEGER NOT NULL REFERENCES answers (id),
	reused       INTEGER NOT NULL,
	confirmed_by TEXT    NOT NULL,
	at           INTEGER NOT NULL,
	PRIMARY KEY (procedure_id, member_id, answer_id)
);

CREATE TABLE assessments (
	id            INTEGER PRIMARY KEY,
	procedure_id  INTEGER NOT NULL REFERENCES procedures (id),
	answer_id     INTEGER NOT NULL REFERENCES answers (id),
	person        TEXT    NOT NULL,
	exclusion     TEXT    NOT NULL,
	self_cleaning TEXT    NOT NULL,
	note          TEXT    NOT NULL DEFAULT '',
	at            INTEGER NOT NULL
);

CREATE TABLE files (
	id           INTEGER PRIMARY KEY,
	name         TEXT    NOT NULL,
	content_type TEXT    NOT NULL,
	sha256       TEXT    NOT NULL,
	data         BLOB    NOT NULL
);

CREATE TABLE filings (
	id              INTEGER PRIMARY KEY,
	procedure_id    INTEGER NOT NULL REFERENCES procedures (id),
	kind            TEXT    NOT NULL,
	answer_id       INTEGER NOT NULL DEFAULT 0,
	file_id         INTEGER NOT NULL DEFAULT 0,
	query_id        INTEGER NOT NULL DEFAULT 0,
	message_id      TEXT    NOT NULL UNIQUE,
	state           TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	location        TEXT    NOT NULL DEFAULT '',
	filed_at        INTEGER NOT NULL DEFAULT 0,
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0,
	lease_token     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX filings_due ON filings (state, next_attempt_at);

CREATE TABLE registrations (
	id           INTEGER PRIMARY KEY,
	kind         TEXT    NOT NULL,
	message_id   INTEGER NOT NULL,
	submitted_at INTEGER NOT NULL,
	submitted_by TEXT    NOT NULL,
	sha256       TEXT    NOT NULL,
	process_card TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE journal (
	seq          INTEGER PRIMARY KEY,
	at           INTEGER NOT NULL,
	procedure_id INTEGER NOT NULL,
	kind         TEXT    NOT NULL,
	detail       TEXT    NOT NULL,
	prev_hash    TEXT    NOT NULL,
	hash         TEXT    NOT NULL
);
CREATE INDEX journal_procedure ON journal (procedure_id, seq);
`,
}

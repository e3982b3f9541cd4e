package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

const msgCols = `id, direction, mailbox, state, held_from, attempts, next_attempt_at, lease_owner, lease_until,
	lease_token, COALESCE(osci_message_id, ''), content_sha256, size, subject, sender, recipient,
	last_error_code, last_error_text, meta, created_at, updated_at, finalized_at, COALESCE(idempotency_key, ''), same_content_as`

// Scanner is a row to read (Rows, Row).
type Scanner interface{ Scan(...any) error }

func scanMessage(sc Scanner) (mailbox.Message, error) {
	var m mailbox.Message
	var dir, state, held, meta string
	var next, until, created, updated, final int64
	err := sc.Scan(&m.ID, &dir, &m.Mailbox, &state, &held, &m.Attempts, &next, &m.LeaseOwner, &until,
		&m.LeaseToken, &m.OSCIMessageID, &m.ContentSHA256, &m.Size, &m.Subject, &m.Sender, &m.Recipient,
		&m.LastErrorCode, &m.LastErrorText, &meta, &created, &updated, &final, &m.IdempotencyKey, &m.SameContentAs)
	if err != nil {
		return m, err
	}
	m.Direction, m.State, m.HeldFrom = mailbox.Direction(dir), mailbox.State(state), mailbox.State(held)
	m.NextAttemptAt, m.LeaseUntil = tm(next), tm(until)
	m.CreatedAt, m.UpdatedAt, m.FinalizedAt = tm(created), tm(updated), tm(final)
	if meta != "" {
		m.Meta = []byte(meta)
	}
	return m, nil
}

func getMessage(ctx context.Context, q Querier, id int64) (mailbox.Message, error) {
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+msgCols+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("%w: message %d", mailbox.ErrNotFound, id)
	}
	if err != nil {
		return m, err
	}
	m.Documents, err = loadDocuments(ctx, q, id)
	return m, err
}

// lockMessage is getMessage holding the row's lock until the transaction
// ends (where the dialect locks rows): a change of one gateway waits for
// another's on the same message and then sees its outcome (lease token
// included).
func (s *Store) lockMessage(ctx context.Context, tx Querier, id int64) (mailbox.Message, error) {
	if s.d.ForUpdate != "" {
		var got int64
		err := tx.QueryRow(ctx, `SELECT id FROM messages WHERE id = ?`+s.d.ForUpdate, id).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return mailbox.Message{}, fmt.Errorf("%w: message %d", mailbox.ErrNotFound, id)
		}
		if err != nil {
			return mailbox.Message{}, err
		}
	}
	return getMessage(ctx, tx, id)
}

// serialize makes the insertions under one unique key take turns where
// the dialect needs it.
func (s *Store) serialize(ctx context.Context, tx Querier, key string) error {
	if s.d.Serialize == nil {
		return nil
	}
	return s.d.Serialize(ctx, tx, key)
}

func loadDocuments(ctx context.Context, q Querier, id int64) ([]mailbox.Document, error) {
	return queryAll(ctx, q, scanDocument, `SELECT role, name, content_type, sha256, size, purged_at FROM documents WHERE message_id = ? ORDER BY seq`, id)
}

func scanDocument(sc Scanner) (mailbox.Document, error) {
	var d mailbox.Document
	var role string
	var purged int64
	err := sc.Scan(&role, &d.Name, &d.ContentType, &d.SHA256, &d.Size, &purged)
	d.Role, d.PurgedAt = mailbox.Role(role), tm(purged)
	return d, err
}

func insertDocuments(ctx context.Context, tx Querier, id int64, docs []mailbox.Document) error {
	for i, d := range docs {
		if _, err := tx.Exec(ctx, `INSERT INTO documents (message_id, seq, role, name, content_type, sha256, size) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, i, string(d.Role), d.Name, d.ContentType, d.SHA256, d.Size); err != nil {
			return err
		}
	}
	return nil
}

// Get returns one message with its documents.
func (s *Store) Get(ctx context.Context, id int64) (mailbox.Message, error) {
	m, err := getMessage(ctx, s.r, id)
	return m, s.mapErr(err)
}

// GetByOSCIMessageID finds a message of one direction by its OSCI
// MessageId within a mailbox.
func (s *Store) GetByOSCIMessageID(ctx context.Context, dir mailbox.Direction, mbox, osciID string) (mailbox.Message, error) {
	var id int64
	err := s.r.QueryRow(ctx, `SELECT id FROM messages WHERE mailbox = ? AND direction = ? AND osci_message_id = ?`, mbox, string(dir), osciID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return mailbox.Message{}, fmt.Errorf("%w: %s MessageId in mailbox %s", mailbox.ErrNotFound, dir, mbox)
	}
	if err != nil {
		return mailbox.Message{}, s.mapErr(err)
	}
	return s.Get(ctx, id)
}

// List returns messages matching f in id order, without documents.
func (s *Store) List(ctx context.Context, f mailbox.Filter) ([]mailbox.Message, error) {
	var where []string
	var args []any
	if f.Direction != "" {
		where, args = append(where, "direction = ?"), append(args, string(f.Direction))
	}
	if f.Mailbox != "" {
		where, args = append(where, "mailbox = ?"), append(args, f.Mailbox)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	where, args = append(where, "id > ?"), append(args, f.AfterID)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + msgCols + ` FROM messages WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id LIMIT ` + strconv.Itoa(limit)
	out, err := queryAll(ctx, s.r, scanMessage, q, args...)
	return out, s.mapErr(err)
}

// Enqueue stores a new outgoing message in StateQueued, due at once.
func (s *Store) Enqueue(ctx context.Context, n mailbox.NewOutgoing) (mailbox.Message, error) {
	if n.Mailbox == "" || n.Recipient == "" || len(n.Documents) == 0 {
		return mailbox.Message{}, fmt.Errorf("%w: enqueue needs mailbox, recipient and documents", mailbox.ErrInvalidInput)
	}
	n.Now = s.stamp(n.Now)
	now := ns(n.Now)
	var size int64
	for _, d := range n.Documents {
		size += d.Size
	}
	digest := mailbox.ContentDigest(n.Documents)
	var key any
	if n.IdempotencyKey != "" {
		key = n.IdempotencyKey
	}
	var id int64
	var outcome error
	err := s.write(ctx, func(tx Querier) error {
		if key != nil {
			if err := s.serialize(ctx, tx, "idempotency\n"+n.IdempotencyKey); err != nil {
				return err
			}
			var haveSHA string
			err := tx.QueryRow(ctx, `SELECT id, content_sha256 FROM messages WHERE idempotency_key = ?`, key).Scan(&id, &haveSHA)
			switch {
			case err == nil && haveSHA == digest:
				outcome = fmt.Errorf("%w: idempotency key already used by message %d", mailbox.ErrDuplicate, id)
				return nil
			case err == nil:
				outcome = fmt.Errorf("%w: idempotency key used by message %d with other documents", mailbox.ErrDuplicateConflict, id)
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		err := tx.QueryRow(ctx, `INSERT INTO messages (direction, mailbox, state, next_attempt_at, content_sha256, size, subject, sender, recipient, meta, idempotency_key, created_at, updated_at)
			VALUES ('out', ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Mailbox, now, digest, size, n.Subject, n.Mailbox, n.Recipient, string(n.Meta), key, now, now).Scan(&id)
		if err != nil {
			return err
		}
		if err := insertDocuments(ctx, tx, id, n.Documents); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: n.Now, MessageID: id, Kind: "enqueued",
			Detail: map[string]string{"mailbox": n.Mailbox, "recipient": n.Recipient, "documents": strconv.Itoa(len(n.Documents)), "size": strconv.FormatInt(size, 10)}})
		return err
	})
	return s.inserted(ctx, id, outcome, err)
}

// GetByIdempotencyKey finds the message a submission key became.
func (s *Store) GetByIdempotencyKey(ctx context.Context, key string) (mailbox.Message, error) {
	var id int64
	err := s.r.QueryRow(ctx, `SELECT id FROM messages WHERE idempotency_key = ?`, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || key == "" {
		return mailbox.Message{}, fmt.Errorf("%w: idempotency key", mailbox.ErrNotFound)
	}
	if err != nil {
		return mailbox.Message{}, s.mapErr(err)
	}
	return s.Get(ctx, id)
}

// CountByState counts messages per direction, mailbox and state.
func (s *Store) CountByState(ctx context.Context) ([]mailbox.StateCount, error) {
	out, err := queryAll(ctx, s.r, func(sc Scanner) (mailbox.StateCount, error) {
		var c mailbox.StateCount
		var dir, st string
		err := sc.Scan(&dir, &c.Mailbox, &st, &c.N)
		c.Direction, c.State = mailbox.Direction(dir), mailbox.State(st)
		return c, err
	}, `SELECT direction, mailbox, state, COUNT(*) FROM messages GROUP BY direction, mailbox, state ORDER BY direction, mailbox, state`)
	return out, s.mapErr(err)
}

// inserted ends an insertion whose write returned err: it returns message
// id as stored (by this write, or before it for a duplicate) together with
// the insertion's outcome (nil, or why nothing new was stored).
func (s *Store) inserted(ctx context.Context, id int64, outcome, err error) (mailbox.Message, error) {
	if err != nil {
		return mailbox.Message{}, err
	}
	m, err := s.Get(ctx, id)
	if err != nil {
		return m, err
	}
	return m, outcome
}

// InsertIncoming stores a fetched delivery; see mailbox.Store.
func (s *Store) InsertIncoming(ctx context.Context, n mailbox.NewIncoming) (mailbox.Message, error) {
	if n.Mailbox == "" || n.OSCIMessageID == "" || n.ContentSHA256 == "" {
		return mailbox.Message{}, fmt.Errorf("%w: incoming message needs mailbox, MessageId and content hash", mailbox.ErrInvalidInput)
	}
	n.Now = s.stamp(n.Now)
	var id int64
	var outcome error
	err := s.write(ctx, func(tx Querier) error {
		if err := s.serialize(ctx, tx, "incoming\n"+n.Mailbox+"\n"+n.OSCIMessageID); err != nil {
			return err
		}
		var have int64
		var haveSHA string
		err := tx.QueryRow(ctx, `SELECT id, content_sha256 FROM messages WHERE mailbox = ? AND direction = 'in' AND osci_message_id = ?`, n.Mailbox, n.OSCIMessageID).Scan(&have, &haveSHA)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// Stored now or before: the reads counted for it are done with.
		if err := forgetFetch(ctx, tx, n.Mailbox, n.OSCIMessageID); err != nil {
			return err
		}
		if err == nil {
			id = have
			kind := "duplicate_delivery"
			outcome = fmt.Errorf("%w: MessageId already stored as message %d", mailbox.ErrDuplicate, have)
			if haveSHA != n.ContentSHA256 {
				kind = "duplicate_conflict"
				outcome = fmt.Errorf("%w: message %d", mailbox.ErrDuplicateConflict, have)
			}
			_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: n.Now, MessageID: have, Kind: kind,
				Detail: map[string]string{"stored_sha256": haveSHA, "offered_sha256": n.ContentSHA256}})
			return err
		}
		state, code, text := mailbox.StateReceived, "", ""
		if n.Unreadable != "" {
			state, code, text = mailbox.StateQuarantined, mailbox.ReasonUnreadable, n.Unreadable
		}
		twin, twinID, err := sameContent(ctx, tx, n.Mailbox, n.ContentSHA256, 0)
		if err != nil {
			return err
		}
		now := ns(n.Now)
		final, due := int64(0), now
		if state == mailbox.StateQuarantined {
			final = now
		} else if n.NotBefore.After(n.Now) {
			due = ns(n.NotBefore)
		}
		err = tx.QueryRow(ctx, `INSERT INTO messages (direction, mailbox, state, next_attempt_at, osci_message_id, content_sha256, size, subject, sender, recipient,
			last_error_code, last_error_text, meta, created_at, updated_at, finalized_at, same_content_as)
			VALUES ('in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Mailbox, string(state), due, n.OSCIMessageID, n.ContentSHA256, n.Size, n.Subject, n.Sender, n.Recipient,
			code, text, string(n.Meta), now, now, final, twinID).Scan(&id)
		if err != nil {
			return err
		}
		if err := insertDocuments(ctx, tx, id, n.Documents); err != nil {
			return err
		}
		if n.Card != nil {
			if err := s.putCard(ctx, tx, id, n.OSCIMessageID, *n.Card, n.Now); err != nil {
				return err
			}
		}
		d := map[string]string{"mailbox": n.Mailbox, "osci_message_id": n.OSCIMessageID, "sha256": n.ContentSHA256, "state": string(state)}
		if code != "" {
			d["code"], d["text"] = code, text
		}
		if n.Attempts > 0 {
			d["attempts"] = strconv.Itoa(n.Attempts)
		}
		if twin != 0 {
			d["same_content_as"], d["same_content_message"] = twinID, strconv.FormatInt(twin, 10)
		}
		if due != now {
			d["held_until"] = n.NotBefore.UTC().Format(time.RFC3339Nano)
		}
		_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: n.Now, MessageID: id, Kind: "received", Detail: d})
		return err
	})
	return s.inserted(ctx, id, outcome, err)
}

// ClaimDue leases due messages; see mailbox.Store.
func (s *Store) ClaimDue(ctx context.Context, dir mailbox.Direction, now time.Time, owner string, lease time.Duration, limit int) ([]mailbox.Message, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("%w: claim needs an owner, a lease and a limit", mailbox.ErrInvalidInput)
	}
	states := mailbox.ClaimableStates(dir)
	args := []any{owner, ns(now.Add(lease)), ns(now), string(dir)}
	for _, st := range states {
		args = append(args, string(st))
	}
	args = append(args, ns(now), ns(now), limit)
	var out []mailbox.Message
	err := s.write(ctx, func(tx Querier) error {
		out = out[:0]
		var err error
		out, err = queryAll(ctx, tx, scanMessage, `UPDATE messages SET lease_owner = ?, lease_until = ?, lease_token = lease_token + 1, attempts = attempts + 1, updated_at = ?
			WHERE id IN (SELECT id FROM messages WHERE direction = ? AND state IN (`+placeholders(len(states))+`)
				AND next_attempt_at BETWEEN 1 AND ? AND (lease_owner = '' OR lease_until <= ?)
				ORDER BY next_attempt_at, id LIMIT ?`+s.d.SkipLocked+`)
			RETURNING `+msgCols, args...)
		if err != nil {
			return err
		}
		for i := range out {
			if out[i].Documents, err = loadDocuments(ctx, tx, out[i].ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// RecoverExpired frees expired leases and journals each; see mailbox.Store.
func (s *Store) RecoverExpired(ctx context.Context, now time.Time) ([]mailbox.Message, error) {
	return s.freeLeases(ctx, now, false, "lease_expired")
}

// ReleaseLeases frees every lease of s, live or not, raising each lease
// token so that a worker still holding one is fenced off, and journals
// each as "lease_released". Only a store that one process owns may offer
// it; it is a function and not a method so that no other store gets it.
func ReleaseLeases(ctx context.Context, s *Store, now time.Time) ([]mailbox.Message, error) {
	return s.freeLeases(ctx, now, true, "lease_released")
}

// freeLeases frees the leases that ended before now, or all of them.
func (s *Store) freeLeases(ctx context.Context, now time.Time, all bool, kind string) ([]mailbox.Message, error) {
	q, args := `UPDATE messages SET lease_owner = '', lease_until = 0, lease_token = lease_token + 1, updated_at = ?
			WHERE lease_owner <> '' AND lease_until <= ? RETURNING `+msgCols, []any{ns(now), ns(now)}
	if all {
		q, args = `UPDATE messages SET lease_owner = '', lease_until = 0, lease_token = lease_token + 1, updated_at = ?
			WHERE lease_owner <> '' RETURNING `+msgCols, []any{ns(now)}
	}
	var out []mailbox.Message
	err := s.write(ctx, func(tx Querier) error {
		out = out[:0]
		var err error
		if out, err = queryAll(ctx, tx, scanMessage, q, args...); err != nil {
			return err
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		for _, m := range out {
			if _, err := s.appendEvent(ctx, tx, mailbox.EventInput{At: now, MessageID: m.ID, Kind: kind,
				Detail: map[string]string{"state": string(m.State)}}); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// queryAll runs query and reads every row of its result with scan
// (ReadAll). The error of the query, a row or the iteration is returned
// as it is.
func queryAll[T any](ctx context.Context, q Querier, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return ReadAll(rows, scan)
}

// ReadAll reads every row of rows with scan and closes rows before it
// returns, so that a transaction's next statement has the connection.
func ReadAll[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// ScanValue reads a row of one column (a scan function of ReadAll).
func ScanValue[T any](sc Scanner) (T, error) {
	var v T
	err := sc.Scan(&v)
	return v, err
}

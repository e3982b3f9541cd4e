package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// sameContent finds the earliest incoming message of mbox (other than
// exclude) whose documents hash to sha: the same documents under another
// MessageId are another message, stored like any other and flagged.
func sameContent(ctx context.Context, tx Querier, mbox, sha string, exclude int64) (int64, string, error) {
	var id int64
	var osciID string
	err := tx.QueryRow(ctx, `SELECT id, osci_message_id FROM messages WHERE mailbox = ? AND direction = 'in' AND content_sha256 = ? AND id <> ?
		ORDER BY id LIMIT 1`, mbox, sha, exclude).Scan(&id, &osciID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", nil
	}
	return id, osciID, err
}

// forgetFetch drops the reads counted for a delivery now stored.
func forgetFetch(ctx context.Context, tx Querier, mbox, osciID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM fetch_attempts WHERE mailbox = ? AND osci_message_id = ?`, mbox, osciID)
	return err
}

// BeginFetch counts a read before it starts; see mailbox.Store.
func (s *Store) BeginFetch(ctx context.Context, mbox, osciID string, now time.Time) (int, error) {
	if mbox == "" || osciID == "" {
		return 0, fmt.Errorf("%w: a read needs mailbox and MessageId", mailbox.ErrInvalidInput)
	}
	at := ns(s.stamp(now))
	var n int
	err := s.write(ctx, func(tx Querier) error {
		return tx.QueryRow(ctx, `INSERT INTO fetch_attempts (mailbox, osci_message_id, attempts, first_at, updated_at) VALUES (?, ?, 1, ?, ?)
			ON CONFLICT (mailbox, osci_message_id) DO UPDATE SET attempts = fetch_attempts.attempts + 1, updated_at = excluded.updated_at
			RETURNING attempts`, mbox, osciID, at, at).Scan(&n)
	})
	return n, err
}

// EndFetch ends a read that stored nothing; see mailbox.FetchEnd.
func (s *Store) EndFetch(ctx context.Context, e mailbox.FetchEnd) error {
	e.Now = s.stamp(e.Now)
	return s.write(ctx, func(tx Querier) error {
		var n int
		err := tx.QueryRow(ctx, `SELECT attempts FROM fetch_attempts WHERE mailbox = ? AND osci_message_id = ?`+s.d.ForUpdate, e.Mailbox, e.OSCIMessageID).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		detail := map[string]string{"mailbox": e.Mailbox, "osci_message_id": e.OSCIMessageID, "attempts": strconv.Itoa(n)}
		switch {
		case e.Clear:
			if err := forgetFetch(ctx, tx, e.Mailbox, e.OSCIMessageID); err != nil {
				return err
			}
			detail["actor"] = e.Actor
			_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: e.Now, Kind: "fetch_cleared", Detail: detail})
			return err
		case e.Unreadable != "":
			if _, err := tx.Exec(ctx, `UPDATE fetch_attempts SET last_error = ?, updated_at = ? WHERE mailbox = ? AND osci_message_id = ?`,
				e.Unreadable, ns(e.Now), e.Mailbox, e.OSCIMessageID); err != nil {
				return err
			}
			detail["reason"] = e.Unreadable
			_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: e.Now, Kind: "fetch_unreadable", Detail: detail})
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE fetch_attempts SET attempts = `+s.d.Greatest+`(attempts - 1, 0), updated_at = ? WHERE mailbox = ? AND osci_message_id = ?`,
			ns(e.Now), e.Mailbox, e.OSCIMessageID)
		return err
	})
}

// Reread records a new reading of a parked message; see mailbox.Reread.
func (s *Store) Reread(ctx context.Context, r mailbox.Reread) (mailbox.Message, error) {
	r.Now = s.stamp(r.Now)
	return s.change(ctx, r.ID, func(tx Querier, m mailbox.Message) error {
		if m.Direction != mailbox.In || m.State != mailbox.StateQuarantined || m.LastErrorCode != mailbox.ReasonUnreadable {
			return &mailbox.TransitionError{ID: m.ID, From: m.State, To: mailbox.StateReceived, Op: "reread"}
		}
		detail := map[string]string{"actor": r.Actor, "osci_message_id": m.OSCIMessageID}
		now := ns(r.Now)
		if r.Failure != "" || r.Read == nil {
			if r.Failure == "" {
				return fmt.Errorf("%w: a reread needs the reading or the failure", mailbox.ErrInvalidInput)
			}
			if _, err := tx.Exec(ctx, `UPDATE messages SET last_error_text = ?, updated_at = ? WHERE id = ?`, r.Failure, now, m.ID); err != nil {
				return err
			}
			detail["outcome"], detail["text"] = mailbox.ReasonUnreadable, r.Failure
		} else {
			n := r.Read
			if n.OSCIMessageID != m.OSCIMessageID || (n.Mailbox != "" && n.Mailbox != m.Mailbox) || n.ContentSHA256 == "" {
				return fmt.Errorf("%w: the reading is of another delivery or has no content hash", mailbox.ErrInvalidInput)
			}
			twin, twinID, err := sameContent(ctx, tx, m.Mailbox, n.ContentSHA256, m.ID)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE messages SET state = ?, next_attempt_at = ?, attempts = 0, last_error_code = '', last_error_text = '',
				finalized_at = 0, content_sha256 = ?, size = ?, subject = ?, sender = ?, recipient = ?, meta = ?, same_content_as = ?, updated_at = ?,
				lease_owner = '', lease_until = 0, lease_token = lease_token + 1 WHERE id = ?`,
				string(mailbox.StateReceived), now, n.ContentSHA256, n.Size, n.Subject, n.Sender, n.Recipient, string(n.Meta), twinID, now, m.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM documents WHERE message_id = ?`, m.ID); err != nil {
				return err
			}
			if err := insertDocuments(ctx, tx, m.ID, n.Documents); err != nil {
				return err
			}
			if n.Card != nil {
				if err := s.putCard(ctx, tx, m.ID, m.OSCIMessageID, *n.Card, r.Now); err != nil {
					return err
				}
			}
			detail["outcome"], detail["to"], detail["sha256"] = "read", string(mailbox.StateReceived), n.ContentSHA256
			if twin != 0 {
				detail["same_content_as"], detail["same_content_message"] = twinID, strconv.FormatInt(twin, 10)
			}
		}
		_, err := s.appendEvent(ctx, tx, mailbox.EventInput{At: r.Now, MessageID: m.ID, Kind: "reread", Detail: detail})
		return err
	})
}

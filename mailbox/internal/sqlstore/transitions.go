package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// change runs fn on message id in one write transaction and returns the
// message as committed.
func (s *Store) change(ctx context.Context, id int64, fn func(tx Querier, m mailbox.Message) error) (mailbox.Message, error) {
	err := s.write(ctx, func(tx Querier) error {
		m, err := s.lockMessage(ctx, tx, id)
		if err != nil {
			return err
		}
		return fn(tx, m)
	})
	if err != nil {
		return mailbox.Message{}, err
	}
	return s.Get(ctx, id)
}

// Apply makes an engine transition; see mailbox.Store.
func (s *Store) Apply(ctx context.Context, c mailbox.Change) (mailbox.Message, error) {
	c.Now = s.stamp(c.Now)
	return s.change(ctx, c.ID, func(tx Querier, m mailbox.Message) error {
		if c.Owner == "" || m.LeaseOwner != c.Owner || m.LeaseToken != c.Token {
			return fmt.Errorf("%w: message %d", mailbox.ErrLeaseLost, c.ID)
		}
		if err := mailbox.CheckEngineTransition(m.ID, m.Direction, m.State, c.To); err != nil {
			return err
		}
		sets := []string{"state = ?", "next_attempt_at = ?", "updated_at = ?"}
		args := []any{string(c.To), ns(c.Next), ns(c.Now)}
		detail := map[string]string{"from": string(m.State), "to": string(c.To)}
		switch c.To {
		case mailbox.StateIDAssigned:
			if m.State == mailbox.StateQueued {
				if c.OSCIMessageID == "" {
					return fmt.Errorf("%w: id_assigned needs a MessageId", mailbox.ErrInvalidInput)
				}
				sets, args = append(sets, "osci_message_id = ?"), append(args, c.OSCIMessageID)
				detail["osci_message_id"] = c.OSCIMessageID
			}
		case mailbox.StateDelivered:
			if c.Intake == nil {
				return fmt.Errorf("%w: delivered needs an intake record", mailbox.ErrInvalidInput)
			}
			r := c.Intake
			if _, err := tx.Exec(ctx, `INSERT INTO intake_records (message_id, sink, location, manifest_sha256, delivered_at) VALUES (?, ?, ?, ?, ?)`,
				m.ID, r.Sink, r.Location, r.ManifestSHA256, ns(r.DeliveredAt)); err != nil {
				return err
			}
			detail["sink"], detail["location"], detail["manifest_sha256"] = r.Sink, r.Location, r.ManifestSHA256
		}
		if mailbox.IsFinal(c.To) || (c.To == mailbox.StateSent && c.Next.IsZero()) {
			sets, args = append(sets, "finalized_at = ?"), append(args, ns(c.Now))
		}
		if c.ClearError {
			sets = append(sets, "last_error_code = ''", "last_error_text = ''")
		}
		if c.ErrCode != "" || c.ErrText != "" {
			sets, args = append(sets, "last_error_code = ?", "last_error_text = ?"), append(args, c.ErrCode, c.ErrText)
			detail["code"], detail["text"] = c.ErrCode, c.ErrText
		}
		if !c.KeepLease {
			sets = append(sets, "lease_owner = ''", "lease_until = 0")
		}
		if !c.Next.IsZero() {
			detail["next_attempt_at"] = c.Next.UTC().Format(time.RFC3339Nano)
		}
		args = append(args, m.ID)
		if _, err := tx.Exec(ctx, `UPDATE messages SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
			if s.d.IsUnique(err) {
				return fmt.Errorf("%w: MessageId already used for an outgoing message of mailbox %s", mailbox.ErrDuplicate, m.Mailbox)
			}
			return err
		}
		if c.Card != nil {
			id := c.Card.OSCIMessageID
			if id == "" {
				id = m.OSCIMessageID
			}
			if err := s.putCard(ctx, tx, m.ID, id, *c.Card, c.Now); err != nil {
				return err
			}
		}
		for k, v := range c.Detail {
			detail[k] = v
		}
		kind := "state"
		if c.To == m.State {
			kind = "deferred"
		}
		_, err := s.appendEvent(ctx, tx, mailbox.EventInput{At: c.Now, MessageID: m.ID, Kind: kind, Detail: detail})
		return err
	})
}

// ExtendLease renews a lease; see mailbox.Store.
func (s *Store) ExtendLease(ctx context.Context, id int64, owner string, token int64, until time.Time) error {
	return s.write(ctx, func(tx Querier) error {
		n, err := tx.Exec(ctx, `UPDATE messages SET lease_until = ? WHERE id = ? AND lease_owner = ? AND lease_owner <> '' AND lease_token = ?`,
			ns(until), id, owner, token)
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%w: message %d", mailbox.ErrLeaseLost, id)
		}
		return nil
	})
}

// Operate makes an operator transition; see mailbox.OperatorTarget.
func (s *Store) Operate(ctx context.Context, a mailbox.OperatorAction) (mailbox.Message, error) {
	a.Now = s.stamp(a.Now)
	return s.change(ctx, a.ID, func(tx Querier, m mailbox.Message) error {
		r, err := mailbox.OperatorTarget(m, a.Op, a.Now)
		if err != nil {
			return err
		}
		sets := []string{"state = ?", "held_from = ?", "next_attempt_at = ?", "updated_at = ?",
			"lease_owner = ''", "lease_until = 0", "lease_token = lease_token + 1"}
		args := []any{string(r.To), string(r.HeldFrom), ns(r.Next), ns(a.Now)}
		detail := map[string]string{"op": string(a.Op), "actor": a.Actor, "from": string(m.State), "to": string(r.To)}
		if a.Reason != "" {
			detail["reason"] = a.Reason
		}
		if r.ClearID {
			sets = append(sets, "osci_message_id = NULL")
			if m.OSCIMessageID != "" {
				detail["dropped_osci_message_id"] = m.OSCIMessageID
			}
		}
		if r.ResetAttempt {
			sets = append(sets, "attempts = 0")
		}
		if r.Finalize {
			sets, args = append(sets, "finalized_at = ?"), append(args, ns(a.Now))
		} else if !mailbox.IsFinal(r.To) {
			sets = append(sets, "finalized_at = 0")
		}
		args = append(args, m.ID)
		if _, err := tx.Exec(ctx, `UPDATE messages SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...); err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: a.Now, MessageID: m.ID, Kind: "operator", Detail: detail})
		return err
	})
}

// putCard stores a process card, keeping fields already known that the
// new card leaves empty.
func (s *Store) putCard(ctx context.Context, tx Querier, id int64, osciID string, c mailbox.ProcessCard, now time.Time) error {
	insp, err := json.Marshal(c.Inspections)
	if err != nil {
		return err
	}
	if c.Inspections == nil {
		insp = nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO process_cards (message_id, osci_message_id, creation, forwarding, reception, recent_modification, subject, inspections, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, COALESCE(`+s.d.Text+`, '[]'), ?)
		ON CONFLICT (message_id) DO UPDATE SET
			creation = CASE WHEN excluded.creation <> 0 THEN excluded.creation ELSE process_cards.creation END,
			forwarding = CASE WHEN excluded.forwarding <> 0 THEN excluded.forwarding ELSE process_cards.forwarding END,
			reception = CASE WHEN excluded.reception <> 0 THEN excluded.reception ELSE process_cards.reception END,
			recent_modification = CASE WHEN excluded.recent_modification <> 0 THEN excluded.recent_modification ELSE process_cards.recent_modification END,
			subject = CASE WHEN excluded.subject <> '' THEN excluded.subject ELSE process_cards.subject END,
			inspections = CASE WHEN `+s.d.Text+` IS NOT NULL THEN excluded.inspections ELSE process_cards.inspections END,
			updated_at = excluded.updated_at`,
		id, osciID, ns(c.Creation), ns(c.Forwarding), ns(c.Reception), ns(c.RecentModification), c.Subject, nullable(insp), ns(now), nullable(insp))
	return err
}

func nullable(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// ProcessCard returns the stored Laufzettel of a message.
func (s *Store) ProcessCard(ctx context.Context, id int64) (mailbox.ProcessCard, error) {
	var c mailbox.ProcessCard
	var cr, fw, rc, rm int64
	var insp string
	err := s.r.QueryRow(ctx, `SELECT osci_message_id, creation, forwarding, reception, recent_modification, subject, inspections FROM process_cards WHERE message_id = ?`, id).
		Scan(&c.OSCIMessageID, &cr, &fw, &rc, &rm, &c.Subject, &insp)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%w: process card of message %d", mailbox.ErrNotFound, id)
	}
	if err != nil {
		return c, s.mapErr(err)
	}
	c.Creation, c.Forwarding, c.Reception, c.RecentModification = tm(cr), tm(fw), tm(rc), tm(rm)
	if err := json.Unmarshal([]byte(insp), &c.Inspections); err != nil {
		return c, fmt.Errorf("%s: process card inspections of message %d: %w", s.d.Name, id, err)
	}
	return c, nil
}

// UpdateProcessCard merges a process card and releases a receipt hold;
// see mailbox.Store.
func (s *Store) UpdateProcessCard(ctx context.Context, id int64, c mailbox.ProcessCard, now time.Time) error {
	now = s.stamp(now)
	return s.write(ctx, func(tx Querier) error {
		m, err := s.lockMessage(ctx, tx, id)
		if err != nil {
			return err
		}
		osciID := c.OSCIMessageID
		if osciID == "" {
			osciID = m.OSCIMessageID
		}
		if err := s.putCard(ctx, tx, m.ID, osciID, c, now); err != nil {
			return err
		}
		detail := map[string]string{"osci_message_id": osciID}
		for k, t := range map[string]time.Time{"creation": c.Creation, "forwarding": c.Forwarding, "reception": c.Reception} {
			if !t.IsZero() {
				detail[k] = t.UTC().Format(time.RFC3339Nano)
			}
		}
		n, err := tx.Exec(ctx, `UPDATE messages SET next_attempt_at = ?, updated_at = ?
			WHERE id = ? AND direction = 'in' AND state = ? AND next_attempt_at > ? AND (lease_owner = '' OR lease_until <= ?)`,
			ns(now), ns(now), m.ID, string(mailbox.StateReceived), ns(now), ns(now))
		if err != nil {
			return err
		}
		if n == 1 {
			detail["next_attempt_at"] = now.UTC().Format(time.RFC3339Nano)
		}
		_, err = s.appendEvent(ctx, tx, mailbox.EventInput{At: now, MessageID: m.ID, Kind: "process_card", Detail: detail})
		return err
	})
}

// IntakeRecord returns where an incoming message was handed over.
func (s *Store) IntakeRecord(ctx context.Context, id int64) (mailbox.IntakeRecord, error) {
	var r mailbox.IntakeRecord
	var at int64
	err := s.r.QueryRow(ctx, `SELECT sink, location, manifest_sha256, delivered_at FROM intake_records WHERE message_id = ?`, id).
		Scan(&r.Sink, &r.Location, &r.ManifestSHA256, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: intake record of message %d", mailbox.ErrNotFound, id)
	}
	r.DeliveredAt = tm(at)
	return r, s.mapErr(err)
}

func (s *Store) appendEvent(ctx context.Context, tx Querier, in mailbox.EventInput) (mailbox.Event, error) {
	// Where rows are locked, the lock on the head row queues the appends
	// of every gateway: the journal stays one chain, and seq N+1 commits
	// only after seq N.
	var seq int64
	var head string
	err := tx.QueryRow(ctx, `SELECT seq, hash FROM journal_head WHERE id = 1`+s.d.ForUpdate).Scan(&seq, &head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return mailbox.Event{}, err
	}
	if seq == 0 {
		head = mailbox.GenesisHash
	}
	e := mailbox.Seal(in, seq+1, head)
	if _, err := tx.Exec(ctx, `INSERT INTO journal (seq, at, message_id, kind, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.UnixNano(), e.MessageID, e.Kind, e.Detail, e.PrevHash, e.Hash); err != nil {
		return e, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO journal_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, e.Seq, e.Hash)
	return e, err
}

// Append adds a journal entry of its own.
func (s *Store) Append(ctx context.Context, in mailbox.EventInput) (mailbox.Event, error) {
	in.At = s.stamp(in.At)
	var e mailbox.Event
	err := s.write(ctx, func(tx Querier) error {
		var err error
		e, err = s.appendEvent(ctx, tx, in)
		return err
	})
	return e, err
}

// Events returns journal entries after a sequence number.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]mailbox.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	return s.events(ctx, `SELECT seq, at, message_id, kind, detail, prev_hash, hash FROM journal WHERE seq > ? ORDER BY seq LIMIT `+strconv.Itoa(limit), after)
}

// MessageEvents returns the journal entries of one message.
func (s *Store) MessageEvents(ctx context.Context, id int64) ([]mailbox.Event, error) {
	return s.events(ctx, `SELECT seq, at, message_id, kind, detail, prev_hash, hash FROM journal WHERE message_id = ? ORDER BY seq`, id)
}

func (s *Store) events(ctx context.Context, q string, arg int64) ([]mailbox.Event, error) {
	out, err := queryAll(ctx, s.r, func(sc Scanner) (mailbox.Event, error) {
		var e mailbox.Event
		var at int64
		err := sc.Scan(&e.Seq, &at, &e.MessageID, &e.Kind, &e.Detail, &e.PrevHash, &e.Hash)
		e.At = time.Unix(0, at).UTC()
		return e, err
	}, q, arg)
	return out, s.mapErr(err)
}

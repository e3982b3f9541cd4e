package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen for the register's types
		panic(err)
	}
	return string(b)
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", register.ErrNotFound, what)
	}
	return mapErr(err)
}

func withDetail(e register.Entry, k, v string) register.Entry {
	d := map[string]string{k: v}
	for kk, vv := range e.Detail {
		d[kk] = vv
	}
	e.Detail = d
	return e
}

// scanner is one row: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// selecter runs a query: the read pool or a write transaction.
type selecter interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// selectAll runs query on db and reads every row with scan. The error is
// the driver's, unmapped: inside a write transaction write maps it, a
// reader passes it through mapErr.
func selectAll[T any](ctx context.Context, db selecter, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return out, nil
}

// --- procedures

const procCols = `id, number, description, publication, value_cents, kind, contract, date, decision, created_at, created_by`

func scanProcedure(row scanner) (register.Procedure, error) {
	var p register.Procedure
	var date, created int64
	var dec string
	err := row.Scan(&p.ID, &p.Number, &p.Description, &p.Publication, &p.Value, &p.Kind, &p.Contract, &date, &dec, &created, &p.CreatedBy)
	if err != nil {
		return p, err
	}
	p.Date, p.CreatedAt = tm(date), tm(created)
	return p, json.Unmarshal([]byte(dec), &p.Decision)
}

func (s *Store) CreateProcedure(ctx context.Context, p register.Procedure, e register.Entry) (register.Procedure, error) {
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO procedures (number, description, publication, value_cents, kind, contract, date, decision, created_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Number, p.Description, p.Publication, p.Value, p.Kind, p.Contract, ns(p.Date), js(p.Decision), ns(p.CreatedAt), p.CreatedBy)
		if isUnique(err) {
			return nil, fmt.Errorf("%w: procedure %q", register.ErrExists, p.Number)
		}
		if err != nil {
			return nil, err
		}
		p.ID, _ = res.LastInsertId()
		e.ProcedureID = p.ID
		return []register.Entry{e}, nil
	})
	return p, err
}

func (s *Store) Procedure(ctx context.Context, number string) (register.Procedure, error) {
	p, err := scanProcedure(s.r.QueryRowContext(ctx, `SELECT `+procCols+` FROM procedures WHERE number = ?`, number))
	return p, notFound(err, "procedure "+strconv.Quote(number))
}

func (s *Store) ProcedureByID(ctx context.Context, id int64) (register.Procedure, error) {
	p, err := scanProcedure(s.r.QueryRowContext(ctx, `SELECT `+procCols+` FROM procedures WHERE id = ?`, id))
	return p, notFound(err, "procedure "+strconv.FormatInt(id, 10))
}

func (s *Store) Procedures(ctx context.Context) ([]register.Procedure, error) {
	out, err := selectAll(ctx, s.r, scanProcedure, `SELECT `+procCols+` FROM procedures ORDER BY id`)
	return out, mapErr(err)
}

// --- bidders

func (s *Store) SetBidder(ctx context.Context, b register.Bidder, e register.Entry) (register.Bidder, error) {
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO bidders (procedure_id, name, consortium) VALUES (?, ?, ?)`, b.ProcedureID, b.Name, b.Consortium)
		if isUnique(err) {
			return nil, fmt.Errorf("%w: the procedure has a bidder", register.ErrExists)
		}
		if err != nil {
			return nil, err
		}
		b.ID, _ = res.LastInsertId()
		for i := range b.Members {
			res, err := tx.ExecContext(ctx, `INSERT INTO members (bidder_id, company) VALUES (?, ?)`, b.ID, js(b.Members[i].Company))
			if err != nil {
				return nil, err
			}
			b.Members[i].ID, _ = res.LastInsertId()
			b.Members[i].BidderID = b.ID
		}
		return []register.Entry{withDetail(e, "bidder", strconv.FormatInt(b.ID, 10))}, nil
	})
	return b, err
}

func (s *Store) Bidder(ctx context.Context, procedureID int64) (register.Bidder, error) {
	b := register.Bidder{ProcedureID: procedureID}
	err := s.r.QueryRowContext(ctx, `SELECT id, name, consortium FROM bidders WHERE procedure_id = ?`, procedureID).Scan(&b.ID, &b.Name, &b.Consortium)
	if err != nil {
		return b, notFound(err, "bidder of procedure "+strconv.FormatInt(procedureID, 10))
	}
	b.Members, err = selectAll(ctx, s.r, func(row scanner) (register.Member, error) {
		m := register.Member{BidderID: b.ID}
		var c string
		if err := row.Scan(&m.ID, &c); err != nil {
			return m, err
		}
		return m, json.Unmarshal([]byte(c), &m.Company)
	}, `SELECT id, company FROM members WHERE bidder_id = ? ORDER BY id`, b.ID)
	return b, mapErr(err)
}

// --- queries

const queryCols = `id, procedure_id, member_id, channel, state, purpose, confirmation, requested_by, requested_at, ref, attempts,
	next_attempt_at, last_error, answer_id, lease_owner, lease_until, lease_token`

func scanQuery(row scanner) (register.Query, error) {
	var q register.Query
	var conf string
	var req, next, until int64
	err := row.Scan(&q.ID, &q.ProcedureID, &q.MemberID, &q.Channel, &q.State, &q.Purpose, &conf, &q.RequestedBy, &req, &q.Ref, &q.Attempts,
		&next, &q.LastError, &q.AnswerID, &q.LeaseOwner, &until, &q.LeaseToken)
	if err != nil {
		return q, err
	}
	q.RequestedAt, q.NextAttemptAt, q.LeaseUntil = tm(req), tm(next), tm(until)
	return q, json.Unmarshal([]byte(conf), &q.Confirmation)
}

func (s *Store) CreateQuery(ctx context.Context, q register.Query, sheet func(register.Query) register.StoredFile, e register.Entry) (register.Query, error) {
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO queries (procedure_id, member_id, channel, state, purpose, confirmation, requested_by, requested_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, q.ProcedureID, q.MemberID, q.Channel, q.State, q.Purpose, js(q.Confirmation), q.RequestedBy, ns(q.RequestedAt), ns(q.NextAttemptAt))
		if err != nil {
			return nil, err
		}
		q.ID, _ = res.LastInsertId()
		if sheet != nil {
			f := sheet(q)
			res, err := tx.ExecContext(ctx, `INSERT INTO files (name, content_type, sha256, data) VALUES (?, ?, ?, ?)`, f.Name, f.ContentType, f.SHA256, f.Data)
			if err != nil {
				return nil, err
			}
			fid, _ := res.LastInsertId()
			fl := register.Filing{ProcedureID: q.ProcedureID, Kind: register.FilingSheet, FileID: fid, QueryID: q.ID}
			if err := insertFiling(ctx, tx, fl, q.RequestedAt); err != nil {
				return nil, err
			}
		}
		return []register.Entry{withDetail(e, "query", strconv.FormatInt(q.ID, 10))}, nil
	})
	return q, err
}

func insertFiling(ctx context.Context, tx *sql.Tx, f register.Filing, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO filings (procedure_id, kind, answer_id, file_id, query_id, message_id, state, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`, f.ProcedureID, f.Kind, f.AnswerID, f.FileID, f.QueryID, register.FilingMessageID(f), ns(now))
	if isUnique(err) {
		return fmt.Errorf("%w: filing %s", register.ErrExists, register.FilingMessageID(f))
	}
	return err
}

func (s *Store) Query(ctx context.Context, id int64) (register.Query, error) {
	q, err := scanQuery(s.r.QueryRowContext(ctx, `SELECT `+queryCols+` FROM queries WHERE id = ?`, id))
	return q, notFound(err, "query "+strconv.FormatInt(id, 10))
}

func (s *Store) Queries(ctx context.Context, procedureID int64) ([]register.Query, error) {
	out, err := selectAll(ctx, s.r, scanQuery, `SELECT `+queryCols+` FROM queries WHERE procedure_id = ? ORDER BY id`, procedureID)
	return out, mapErr(err)
}

func (s *Store) ClaimQueries(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]register.Query, error) {
	var out []register.Query
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		var err error
		out, err = selectAll(ctx, tx, scanQuery, `SELECT `+queryCols+` FROM queries WHERE channel = 'interface' AND state IN ('to_send', 'pending')
			AND next_attempt_at <= ? AND lease_until <= ? ORDER BY next_attempt_at, id LIMIT ?`, ns(now), ns(now), limit)
		if err != nil {
			return nil, err
		}
		for i := range out {
			q := &out[i]
			q.Attempts++
			q.LeaseToken++
			q.LeaseOwner, q.LeaseUntil = owner, now.Add(lease)
			if _, err := tx.ExecContext(ctx, `UPDATE queries SET attempts = ?, lease_token = ?, lease_owner = ?, lease_until = ? WHERE id = ?`,
				q.Attempts, q.LeaseToken, owner, ns(q.LeaseUntil), q.ID); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	return out, err
}

func (s *Store) UpdateQuery(ctx context.Context, q register.Query, e *register.Entry) error {
	return s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		res, err := tx.ExecContext(ctx, `UPDATE queries SET state = ?, ref = ?, next_attempt_at = ?, last_error = ?, lease_owner = '', lease_until = 0
			WHERE id = ? AND lease_token = ?`, q.State, q.Ref, ns(q.NextAttemptAt), q.LastError, q.ID, q.LeaseToken)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, fmt.Errorf("%w: query %d", register.ErrLeaseLost, q.ID)
		}
		if e == nil {
			return nil, nil
		}
		return []register.Entry{*e}, nil
	})
}

// --- answers

const answerCols = `id, query_id, company, has_entries, channel, received_at, recorded_by, file_name, content_type, size, sha256, deleted_at`

func scanAnswer(row scanner) (register.Answer, error) {
	var a register.Answer
	var c string
	var rec, del int64
	err := row.Scan(&a.ID, &a.QueryID, &c, &a.HasEntries, &a.Channel, &rec, &a.RecordedBy, &a.FileName, &a.ContentType, &a.Size, &a.SHA256, &del)
	if err != nil {
		return a, err
	}
	a.ReceivedAt, a.DeletedAt = tm(rec), tm(del)
	return a, json.Unmarshal([]byte(c), &a.Company)
}

func (s *Store) AddAnswer(ctx context.Context, a register.Answer, content []byte, leaseToken int64, rel register.Reliance, f register.Filing, e register.Entry) (register.Answer, error) {
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		q := `UPDATE queries SET state = 'answered', lease_owner = '', lease_until = 0, last_error = '' WHERE id = ? AND state NOT IN ('answered', 'refused')`
		args := []any{a.QueryID}
		if leaseToken != 0 {
			q += ` AND lease_token = ?`
			args = append(args, leaseToken)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			if leaseToken != 0 {
				return nil, fmt.Errorf("%w: query %d", register.ErrLeaseLost, a.QueryID)
			}
			return nil, fmt.Errorf("%w: query %d is answered already or unknown", register.ErrExists, a.QueryID)
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO answers (query_id, company, register_key, vat_key, has_entries, channel, received_at, recorded_by,
			file_name, content_type, size, sha256, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.QueryID, js(a.Company), a.Company.RegisterKey(), a.Company.VATKey(), a.HasEntries, a.Channel, ns(a.ReceivedAt), a.RecordedBy,
			a.FileName, a.ContentType, a.Size, a.SHA256, content)
		if err != nil {
			return nil, err
		}
		a.ID, _ = res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `UPDATE queries SET answer_id = ? WHERE id = ?`, a.ID, a.QueryID); err != nil {
			return nil, err
		}
		rel.AnswerID, f.AnswerID = a.ID, a.ID
		if err := insertReliance(ctx, tx, rel); err != nil {
			return nil, err
		}
		if err := insertFiling(ctx, tx, f, a.ReceivedAt); err != nil {
			return nil, err
		}
		return []register.Entry{withDetail(e, "answer", strconv.FormatInt(a.ID, 10))}, nil
	})
	return a, err
}

func insertReliance(ctx context.Context, tx *sql.Tx, r register.Reliance) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO reliances (procedure_id, member_id, answer_id, reused, confirmed_by, at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ProcedureID, r.MemberID, r.AnswerID, r.Reused, r.ConfirmedBy, ns(r.At))
	if isUnique(err) {
		return fmt.Errorf("%w: the procedure relies on answer %d for member %d already", register.ErrExists, r.AnswerID, r.MemberID)
	}
	return err
}

func (s *Store) Answer(ctx context.Context, id int64) (register.Answer, error) {
	a, err := scanAnswer(s.r.QueryRowContext(ctx, `SELECT `+answerCols+` FROM answers WHERE id = ?`, id))
	return a, notFound(err, "answer "+strconv.FormatInt(id, 10))
}

func (s *Store) AnswerContent(ctx context.Context, id int64) ([]byte, error) {
	var b []byte
	var del int64
	err := s.r.QueryRowContext(ctx, `SELECT content, deleted_at FROM answers WHERE id = ?`, id).Scan(&b, &del)
	if err != nil {
		return nil, notFound(err, "answer "+strconv.FormatInt(id, 10))
	}
	if del != 0 {
		return nil, fmt.Errorf("%w: answer %d", register.ErrAnswerDeleted, id)
	}
	return b, nil
}

func (s *Store) answers(ctx context.Context, where string, args ...any) ([]register.Answer, error) {
	out, err := selectAll(ctx, s.r, scanAnswer, `SELECT `+answerCols+` FROM answers WHERE `+where+` ORDER BY id`, args...)
	return out, mapErr(err)
}

func (s *Store) AnswersAbout(ctx context.Context, registerKey, vatKey string, since time.Time) ([]register.Answer, error) {
	return s.answers(ctx, `deleted_at = 0 AND received_at >= ? AND ((register_key <> '' AND register_key = ?) OR (vat_key <> '' AND vat_key = ?))`,
		ns(since), registerKey, vatKey)
}

func (s *Store) Rely(ctx context.Context, rel register.Reliance, f register.Filing, e register.Entry) error {
	return s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		if err := insertReliance(ctx, tx, rel); err != nil {
			return nil, err
		}
		if err := insertFiling(ctx, tx, f, rel.At); err != nil {
			return nil, err
		}
		return []register.Entry{e}, nil
	})
}

func (s *Store) Reliances(ctx context.Context, procedureID int64) ([]register.Reliance, error) {
	out, err := selectAll(ctx, s.r, func(row scanner) (register.Reliance, error) {
		var r register.Reliance
		var at int64
		err := row.Scan(&r.ProcedureID, &r.MemberID, &r.AnswerID, &r.Reused, &r.ConfirmedBy, &at)
		r.At = tm(at)
		return r, err
	}, `SELECT procedure_id, member_id, answer_id, reused, confirmed_by, at FROM reliances WHERE procedure_id = ? ORDER BY at, answer_id`, procedureID)
	return out, mapErr(err)
}

func (s *Store) AddAssessment(ctx context.Context, a register.Assessment, e register.Entry) (register.Assessment, error) {
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO assessments (procedure_id, answer_id, person, exclusion, self_cleaning, note, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ProcedureID, a.AnswerID, a.Person, a.Exclusion, a.SelfCleaning, a.Note, ns(a.At))
		if err != nil {
			return nil, err
		}
		a.ID, _ = res.LastInsertId()
		return []register.Entry{e}, nil
	})
	return a, err
}

func (s *Store) Assessments(ctx context.Context, procedureID int64) ([]register.Assessment, error) {
	out, err := selectAll(ctx, s.r, func(row scanner) (register.Assessment, error) {
		var a register.Assessment
		var at int64
		err := row.Scan(&a.ID, &a.ProcedureID, &a.AnswerID, &a.Person, &a.Exclusion, &a.SelfCleaning, &a.Note, &at)
		a.At = tm(at)
		return a, err
	}, `SELECT id, procedure_id, answer_id, person, exclusion, self_cleaning, note, at FROM assessments WHERE procedure_id = ? ORDER BY id`, procedureID)
	return out, mapErr(err)
}

// --- filings

const filingCols = `id, procedure_id, kind, answer_id, file_id, query_id, message_id, state, attempts, next_attempt_at, last_error, location, filed_at, lease_token`

func scanFiling(row scanner) (register.Filing, error) {
	var f register.Filing
	var next, filed int64
	err := row.Scan(&f.ID, &f.ProcedureID, &f.Kind, &f.AnswerID, &f.FileID, &f.QueryID, &f.MessageID, &f.State, &f.Attempts, &next, &f.LastError, &f.Location, &filed, &f.LeaseToken)
	f.NextAttemptAt, f.FiledAt = tm(next), tm(filed)
	return f, err
}

func (s *Store) ClaimFilings(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]register.Filing, error) {
	var out []register.Filing
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		var err error
		out, err = selectAll(ctx, tx, scanFiling, `SELECT `+filingCols+` FROM filings WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
			ORDER BY next_attempt_at, id LIMIT ?`, ns(now), ns(now), limit)
		if err != nil {
			return nil, err
		}
		for i := range out {
			f := &out[i]
			f.Attempts++
			f.LeaseToken++
			if _, err := tx.ExecContext(ctx, `UPDATE filings SET attempts = ?, lease_token = ?, lease_owner = ?, lease_until = ? WHERE id = ?`,
				f.Attempts, f.LeaseToken, owner, ns(now.Add(lease)), f.ID); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	return out, err
}

func (s *Store) FinishFiling(ctx context.Context, f register.Filing, rec *mailbox.IntakeRecord, e *register.Entry) error {
	return s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		var res sql.Result
		var err error
		if rec != nil {
			res, err = tx.ExecContext(ctx, `UPDATE filings SET state = 'filed', location = ?, filed_at = ?, last_error = '', lease_owner = '', lease_until = 0
				WHERE id = ? AND lease_token = ?`, rec.Sink+":"+rec.Location, ns(rec.DeliveredAt), f.ID, f.LeaseToken)
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE filings SET next_attempt_at = ?, last_error = ?, lease_owner = '', lease_until = 0
				WHERE id = ? AND lease_token = ?`, ns(f.NextAttemptAt), f.LastError, f.ID, f.LeaseToken)
		}
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, fmt.Errorf("%w: filing %d", register.ErrLeaseLost, f.ID)
		}
		if e == nil {
			return nil, nil
		}
		return []register.Entry{*e}, nil
	})
}

func (s *Store) Filings(ctx context.Context, procedureID int64) ([]register.Filing, error) {
	out, err := selectAll(ctx, s.r, scanFiling, `SELECT `+filingCols+` FROM filings WHERE procedure_id = ? ORDER BY id`, procedureID)
	return out, mapErr(err)
}

func (s *Store) File(ctx context.Context, id int64) (register.StoredFile, error) {
	f := register.StoredFile{ID: id}
	err := s.r.QueryRowContext(ctx, `SELECT name, content_type, sha256, data FROM files WHERE id = ?`, id).Scan(&f.Name, &f.ContentType, &f.SHA256, &f.Data)
	return f, notFound(err, "file "+strconv.FormatInt(id, 10))
}

// --- retention

// Expired leaves out answers with a filing still pending: they are deleted
// once they are in the eAkte.
func (s *Store) Expired(ctx context.Context, cutoff time.Time) ([]register.Answer, error) {
	return s.answers(ctx, `deleted_at = 0 AND received_at < ? AND NOT EXISTS (SELECT 1 FROM filings f WHERE f.answer_id = answers.id AND f.state = 'pending')`, ns(cutoff))
}

func (s *Store) DeleteAnswer(ctx context.Context, id int64, at time.Time, e register.Entry) error {
	return s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		// Overwrite first so that secure_delete zeroes the old pages.
		res, err := tx.ExecContext(ctx, `UPDATE answers SET content = zeroblob(length(content)) WHERE id = ? AND deleted_at = 0`, id)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, fmt.Errorf("%w: answer %d (or deleted already)", register.ErrNotFound, id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE answers SET content = NULL, deleted_at = ? WHERE id = ?`, ns(at), id); err != nil {
			return nil, err
		}
		return []register.Entry{e}, nil
	})
}

// --- registrations

func (s *Store) AddRegistration(ctx context.Context, r register.Registration, e register.Entry) (register.Registration, error) {
	err := s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		res, err := tx.ExecContext(ctx, `INSERT INTO registrations (kind, message_id, submitted_at, submitted_by, sha256) VALUES (?, ?, ?, ?, ?)`,
			r.Kind, r.MessageID, ns(r.SubmittedAt), r.SubmittedBy, r.SHA256)
		if err != nil {
			return nil, err
		}
		r.ID, _ = res.LastInsertId()
		return []register.Entry{withDetail(e, "registration", strconv.FormatInt(r.ID, 10))}, nil
	})
	return r, err
}

func (s *Store) UpdateRegistration(ctx context.Context, r register.Registration, e *register.Entry) error {
	return s.write(ctx, func(tx *sql.Tx) ([]register.Entry, error) {
		card := ""
		if r.ProcessCard != nil {
			card = js(r.ProcessCard)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE registrations SET process_card = ? WHERE id = ?`, card, r.ID); err != nil {
			return nil, err
		}
		if e == nil {
			return nil, nil
		}
		return []register.Entry{*e}, nil
	})
}

func (s *Store) Registrations(ctx context.Context) ([]register.Registration, error) {
	out, err := selectAll(ctx, s.r, func(row scanner) (register.Registration, error) {
		var r register.Registration
		var at int64
		var card string
		if err := row.Scan(&r.ID, &r.Kind, &r.MessageID, &at, &r.SubmittedBy, &r.SHA256, &card); err != nil {
			return r, err
		}
		r.SubmittedAt = tm(at)
		if card == "" {
			return r, nil
		}
		r.ProcessCard = &mailbox.ProcessCard{}
		return r, json.Unmarshal([]byte(card), r.ProcessCard)
	}, `SELECT id, kind, message_id, submitted_at, submitted_by, sha256, process_card FROM registrations ORDER BY id`)
	return out, mapErr(err)
}

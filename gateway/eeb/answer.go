package eeb

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// MaxReasonLength bounds the free text of a rejection (stoerungsGrund).
const MaxReasonLength = 1000

// berlin is the day an acknowledgement date is checked in.
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

func day(t time.Time) time.Time {
	t = t.In(berlin)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, berlin)
}

// check refuses a decision that is not exactly one of acknowledge and
// reject, an acknowledgement dated before the request arrived or after
// today, an unknown code or an overlong reason.
func (s *Service) check(t Task, d Decision) error {
	switch {
	case d.Acknowledged.IsZero() == (d.RejectCode == ""):
		return fmt.Errorf("%w: acknowledge on a date or reject with a code, exactly one", ErrBadAnswer)
	case d.RejectCode != "" && xjustiz.RejectionCode(d.RejectCode).Name() == "":
		return fmt.Errorf("%w: rejection code %q is not one of EEB.StoerungsID (1, 2, 3)", ErrBadAnswer, d.RejectCode)
	case d.RejectCode == "" && d.RejectReason != "":
		return fmt.Errorf("%w: a reason goes with a rejection only", ErrBadAnswer)
	case utf8.RuneCountInString(d.RejectReason) > MaxReasonLength || !utf8.ValidString(d.RejectReason):
		return fmt.Errorf("%w: the reason is longer than %d characters or not UTF-8", ErrBadAnswer, MaxReasonLength)
	}
	if !d.Acknowledged.IsZero() {
		a, first, last := day(d.Acknowledged), day(t.ReceivedAt), day(s.c.Now())
		if a.Before(first) || a.After(last) {
			return fmt.Errorf("%w: acknowledgement date %s: the request arrived on %s; the date lies between that day and today (%s)",
				ErrBadAnswer, a.Format(time.DateOnly), first.Format(time.DateOnly), last.Format(time.DateOnly))
		}
	}
	return nil
}

// IdempotencyKey is the submission key of a task's answer: derived from
// the court's request alone, so whatever happens to this database the
// message store never takes two answers to one request.
func IdempotencyKey(t Task) string {
	return "eeb:" + strings.ToLower(t.CourtMessageID) + ":" + strconv.FormatInt(t.MessageID, 10)
}

// Answer answers task id with d on behalf of actor: it builds the
// nachricht.eeb.zuruecklaufend.2200007 for the court's request, queues it
// to the court's SAFE-ID through the submission path (the record as
// xjustiz_nachricht.xml) and records who answered, when, and the message.
// A task answered before is refused (ErrAnswered), one being answered
// too (ErrBusy). Should the process stop after queueing, the next attempt
// (or Resume) finds the queued message by its idempotency key and records
// what it carries.
func (s *Service) Answer(ctx context.Context, id int64, d Decision, actor string) (Task, error) {
	if s.c.Submitter == nil {
		return Task{}, ErrUnavailable
	}
	if strings.TrimSpace(actor) == "" {
		return Task{}, fmt.Errorf("%w: who answers is not known", ErrBadAnswer)
	}
	t, err := s.c.Tasks.Task(ctx, id)
	if err != nil {
		return Task{}, err
	}
	if t.State == StateAnswered {
		return t, fmt.Errorf("%w: task %d by %s", ErrAnswered, id, t.Answer.By)
	}
	if err := s.check(t, d); err != nil {
		return Task{}, err
	}
	now := s.c.Now()
	if t, err = s.c.Tasks.Claim(ctx, id, actor, now, now.Add(s.c.ClaimFor)); err != nil {
		return t, err
	}
	if done, sent, err := s.finishQueued(ctx, t); done || err != nil {
		return sent, err
	}
	t.ClaimedBy = actor
	m, rec, err := s.queue(ctx, t, d)
	if err != nil {
		if rerr := s.c.Tasks.Release(context.WithoutCancel(ctx), id); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return Task{}, err
	}
	return s.finish(ctx, t, Answer{Decision: d, By: actor, At: now.UTC(), SentMessageID: m.ID, RecordMessageID: rec})
}

// finishQueued completes a claim whose answer an earlier attempt queued.
func (s *Service) finishQueued(ctx context.Context, t Task) (bool, Task, error) {
	m, ok, err := s.c.Submitter.Lookup(ctx, IdempotencyKey(t))
	if err != nil || !ok {
		return false, Task{}, err
	}
	r, _, err := s.record(m)
	if err != nil || r == nil || r.EEB == nil {
		return true, Task{}, fmt.Errorf("eeb: task %d: the queued answer (message %d) cannot be read: %w", t.ID, m.ID, err)
	}
	d := Decision{}
	if r.EEB.Acknowledged {
		d.Acknowledged = r.EEB.Date
	}
	if r.EEB.Rejection != nil {
		d.RejectCode, d.RejectReason = string(r.EEB.Rejection.Code), r.EEB.Rejection.Reason
	}
	sent, err := s.finish(ctx, t, Answer{Decision: d, By: t.ClaimedBy, At: m.CreatedAt, SentMessageID: m.ID, RecordMessageID: r.MessageID})
	return true, sent, err
}

// finish journals the answer on the court's message and records it.
func (s *Service) finish(ctx context.Context, t Task, a Answer) (Task, error) {
	d := map[string]string{"task": strconv.FormatInt(t.ID, 10), "actor": a.By, "sent_message": strconv.FormatInt(a.SentMessageID, 10),
		"xjustiz_message_id": a.RecordMessageID}
	if a.RejectCode != "" {
		d["result"], d["reject_code"] = "rejected", a.RejectCode
	} else {
		d["result"], d["acknowledged_on"] = "acknowledged", day(a.Acknowledged).Format(time.DateOnly)
	}
	if err := s.journalOnce(ctx, t.MessageID, "eeb_answered", d, "task"); err != nil {
		return Task{}, err
	}
	done, err := s.c.Tasks.Answered(ctx, t.ID, a)
	if err != nil {
		return Task{}, err
	}
	s.c.Logger.Info("eEB task answered; the answer is queued for the court", zap.Int64("task", t.ID),
		zap.Int64(logging.KeyMessageID, t.MessageID), zap.Int64("sentMessageId", a.SentMessageID),
		zap.String("court", t.Court), zap.String("result", d["result"]))
	return done, nil
}

// queue builds the answer and hands it to the submission path.
func (s *Service) queue(ctx context.Context, t Task, d Decision) (mailbox.Message, string, error) {
	m, err := s.c.Mail.Get(ctx, t.MessageID)
	if err != nil {
		return mailbox.Message{}, "", err
	}
	r, _, err := s.record(m)
	if err == nil && r == nil {
		err = ErrNoRecord
	}
	if err != nil {
		return mailbox.Message{}, "", err
	}
	sender := s.c.Sender(t.Mailbox)
	a, err := r.EEBAnswer(sender)
	if err != nil {
		return mailbox.Message{}, "", err
	}
	if d.RejectCode != "" {
		a.Rejection = &xjustiz.Rejection{Code: xjustiz.RejectionCode(d.RejectCode), Reason: d.RejectReason}
	} else {
		a.Acknowledged = day(d.Acknowledged)
	}
	built, err := s.c.Codec.BuildEEB(a)
	if err != nil {
		return mailbox.Message{}, "", err
	}
	subject := "Elektronisches Empfangsbekenntnis"
	if t.CaseCourt != "" {
		subject += " – " + t.CaseCourt
	}
	req := submit.MessageRequest{Mailbox: t.Mailbox, To: t.CourtSafeID, Subject: subject,
		CaseNumberSender: a.CaseSender, CaseNumberRecipient: a.CaseRecipient}
	if _, err := s.c.Submitter.Check(ctx, req); errors.Is(err, submit.ErrUnknownRecipient) {
		// A court not in the address book is answered with the cipher
		// certificate its signed request carried.
		if req.RecipientCert = originatorCert(m); req.RecipientCert == "" {
			return mailbox.Message{}, "", err
		}
	} else if err != nil {
		return mailbox.Message{}, "", err
	}
	draft := s.c.Submitter.Begin()
	defer draft.Abort()
	if err := draft.AddDocument(egvp.FileXJustiz, "application/xml", bytes.NewReader(built.Record)); err != nil {
		return mailbox.Message{}, "", err
	}
	acc, err := draft.Commit(ctx, req, IdempotencyKey(t))
	if err != nil {
		return mailbox.Message{}, "", err
	}
	return acc.Message, built.MessageID, nil
}

// originatorCert is the sender's cipher certificate as its message
// carried it (PEM), "" when the report has none.
func originatorCert(m mailbox.Message) string {
	var meta mailbox.IncomingMeta
	if json.Unmarshal(m.Meta, &meta) != nil {
		return ""
	}
	for _, c := range meta.Report.Certificates {
		if c.Role == "originator" {
			return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))
		}
	}
	return ""
}

// Resume finishes answers a stopped process left half done: a task still
// answering after its claim ran out is recorded as answered when its
// answer was queued, and opened again when not.
func (s *Service) Resume(ctx context.Context) error {
	if s.c.Submitter == nil {
		return nil
	}
	ts, err := s.c.Tasks.Tasks(ctx, Filter{States: []State{StateAnswering}, Limit: 1000})
	if err != nil {
		return err
	}
	now := s.c.Now()
	for _, t := range ts {
		if t.ClaimedUntil.After(now) {
			continue
		}
		if t, err = s.c.Tasks.Claim(ctx, t.ID, t.ClaimedBy, now, now.Add(s.c.ClaimFor)); err != nil {
			if errors.Is(err, ErrAnswered) || errors.Is(err, ErrBusy) {
				continue
			}
			return err
		}
		done, _, err := s.finishQueued(ctx, t)
		if err != nil {
			return err
		}
		if !done {
			if err := s.c.Tasks.Release(ctx, t.ID); err != nil {
				return err
			}
			s.c.Logger.Warn("eEB task reopened: an answer was begun but never queued; it waits for a person again", zap.Int64("task", t.ID),
				zap.Int64(logging.KeyMessageID, t.MessageID), zap.String("court", t.Court))
		}
	}
	return nil
}

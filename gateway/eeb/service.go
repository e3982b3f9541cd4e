package eeb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// DefaultOverdueAfter is how long a task may stay open before the
// deadline guard reports it, when the configuration says nothing.
const DefaultOverdueAfter = 3 * 24 * time.Hour

// Config wires a Service.
type Config struct {
	Tasks Store
	Mail  mailbox.Store
	Blobs mailbox.BlobStore
	Codec *xjustiz.Codec
	// Submitter queues the answers; nil: tasks can be read, not answered.
	Submitter *submit.Submitter
	// Sender names the authority behind one of our mailboxes
	// (absender.sonstige of the answers, e.g. "Stadt Erkelenz").
	Sender func(mailbox string) string
	// OverdueAfter is how long a task may stay open; default DefaultOverdueAfter.
	OverdueAfter time.Duration
	// ClaimFor bounds how long one answer may take before another attempt
	// may finish or retry it; default 5 minutes.
	ClaimFor time.Duration
	Logger   *zap.Logger
	Now      func() time.Time
}

// Service follows the message journal into tasks and replies and answers
// tasks. It is safe for concurrent use.
type Service struct {
	c Config
}

// New builds a Service.
func New(c Config) (*Service, error) {
	if c.Tasks == nil || c.Mail == nil || c.Blobs == nil || c.Codec == nil {
		return nil, errors.New("eeb: service needs the task store, the message store, the blobs and a codec")
	}
	if c.OverdueAfter <= 0 {
		c.OverdueAfter = DefaultOverdueAfter
	}
	if c.ClaimFor <= 0 {
		c.ClaimFor = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sender == nil {
		c.Sender = func(string) string { return "" }
	}
	return &Service{c: c}, nil
}

// Tasks is the service's task store, for reading.
func (s *Service) Tasks() Store { return s.c.Tasks }

// Codec reads and builds the records.
func (s *Service) Codec() *xjustiz.Codec { return s.c.Codec }

// OverdueAfter is how long a task may stay open.
func (s *Service) OverdueAfter() time.Duration { return s.c.OverdueAfter }

// followBatch is how many journal entries one round reads.
const followBatch = 200

// Follow reads the journal after the recorded cursor, turns what it
// finds into tasks, our records and the courts' replies, and records
// them with the new cursor in one transaction: an entry is acted on
// exactly once however the process stops. It reports whether more
// entries wait. Only incoming messages that reached intake_pending
// (verified, or released by an operator) count: a quarantined request is
// a person's to look at first.
func (s *Service) Follow(ctx context.Context) (bool, error) {
	cur, err := s.c.Tasks.Cursor(ctx)
	if err != nil {
		return false, err
	}
	evs, err := s.c.Mail.Events(ctx, cur, followBatch)
	if err != nil || len(evs) == 0 {
		return false, err
	}
	b := Batch{Cursor: evs[len(evs)-1].Seq}
	var logs []func()
	for _, ev := range evs {
		switch {
		case ev.MessageID == 0:
		case ev.Kind == "enqueued":
			r, ok, err := s.ourRecord(ctx, ev.MessageID)
			if err != nil {
				return false, err
			}
			if ok {
				b.Requests = append(b.Requests, r)
			}
		case (ev.Kind == "state" || ev.Kind == "operator") && detail(ev)["to"] == string(mailbox.StateIntakePending):
			if err := s.incoming(ctx, ev.MessageID, &b, &logs); err != nil {
				return false, err
			}
		}
	}
	if err := s.c.Tasks.Record(ctx, b); err != nil {
		return false, err
	}
	for _, l := range logs {
		l()
	}
	return len(evs) == followBatch, nil
}

func detail(ev mailbox.Event) map[string]string {
	d := map[string]string{}
	_ = json.Unmarshal([]byte(ev.Detail), &d)
	return d
}

// record finds a message's XJustiz record (xjustiz_nachricht.xml, else
// another name the ERVB rule allows) and reads it: nil when the message
// has none; ErrNoRecord or mailbox.ErrBlobMissing when it cannot be read
// (a permanent fact, logged by the caller); any other error is a failure
// worth retrying.
func (s *Service) record(m mailbox.Message) (*xjustiz.Record, []byte, error) {
	var doc *mailbox.Document
	for i := range m.Documents {
		d := &m.Documents[i]
		if d.Role == mailbox.RoleOriginal || !egvp.IsXJustizName(d.Name) {
			continue
		}
		if doc == nil || d.Name == egvp.FileXJustiz {
			doc = d
		}
	}
	if doc == nil {
		return nil, nil, nil
	}
	f, err := s.c.Blobs.Open(doc.SHA256)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, xjustiz.DefaultLimits().MaxBytes+1))
	if err != nil {
		return nil, nil, err
	}
	r, err := s.c.Codec.Read(data)
	if err != nil {
		return nil, data, fmt.Errorf("%w: %w", ErrNoRecord, err)
	}
	return r, data, nil
}

// ourRecord indexes an outgoing message's record by its XJustiz id.
func (s *Service) ourRecord(ctx context.Context, id int64) (Request, bool, error) {
	m, err := s.c.Mail.Get(ctx, id)
	if err != nil {
		return Request{}, false, err
	}
	if m.Direction != mailbox.Out {
		return Request{}, false, nil
	}
	var meta struct {
		XJustizMessageID string `json:"xjustizMessageId"`
		EEBRequested     bool   `json:"eebRequested"`
	}
	_ = json.Unmarshal(m.Meta, &meta)
	r, _, err := s.record(m)
	switch {
	case errors.Is(err, mailbox.ErrBlobMissing), errors.Is(err, ErrNoRecord):
		s.c.Logger.Warn("eEB: the XJustiz record of an outgoing message cannot be read; a court's eEB answer to it will show as unmatched",
			zap.Int64(logging.KeyMessageID, id), zap.Error(err))
	case err != nil:
		return Request{}, false, err
	case r != nil:
		return Request{XJustizMessageID: r.MessageID, MessageID: id, EEBRequested: r.EEBRequested || meta.EEBRequested}, r.MessageID != "", nil
	}
	if meta.XJustizMessageID != "" {
		return Request{XJustizMessageID: meta.XJustizMessageID, MessageID: id, EEBRequested: meta.EEBRequested}, true, nil
	}
	return Request{}, false, nil
}

// incoming turns a verified incoming message into a task (a request) or
// a reply (an answer to one of ours).
func (s *Service) incoming(ctx context.Context, id int64, b *Batch, logs *[]func()) error {
	m, err := s.c.Mail.Get(ctx, id)
	if err != nil {
		return err
	}
	if m.Direction != mailbox.In {
		return nil
	}
	r, _, err := s.record(m)
	switch {
	case errors.Is(err, mailbox.ErrBlobMissing), errors.Is(err, ErrNoRecord):
		s.c.Logger.Warn("eEB: the XJustiz record of a received message cannot be read; an eEB it asks for or carries needs a person",
			zap.Int64(logging.KeyMessageID, id), zap.Error(err))
		return nil
	case err != nil:
		return err
	case r == nil:
		return nil
	case r.EEB != nil:
		return s.reply(ctx, m, r, b, logs)
	case r.EEBRequested:
		if _, err := s.c.Tasks.TaskForMessage(ctx, id); err == nil {
			return nil // opened before
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		for _, t := range b.Tasks {
			if t.MessageID == id {
				return nil
			}
		}
		t := s.newTask(ctx, m, r)
		b.Tasks = append(b.Tasks, t)
		*logs = append(*logs, func() {
			s.c.Logger.Info("eEB requested: task opened; a person must acknowledge or reject it",
				zap.Int64(logging.KeyMessageID, id), zap.String(logging.KeyMailbox, m.Mailbox), zap.String("court", t.Court))
		})
		return nil
	}
	return nil
}

func (s *Service) newTask(ctx context.Context, m mailbox.Message, r *xjustiz.Record) Task {
	t := Task{MessageID: m.ID, Mailbox: m.Mailbox, Court: r.SenderCourt, CourtName: r.SenderName, CourtSafeID: courtSafeID(m),
		CourtMessageID: r.MessageID, CaseCourt: r.CaseSender, CaseOurs: r.CaseRecipient, Subject: r.Subject,
		ReceivedAt: m.CreatedAt, CreatedAt: s.c.Now().UTC(), Documents: []Document{}}
	if c, ok := courts.Lookup(r.SenderCourt); ok && t.CourtName == "" {
		t.CourtName = c.Name
	}
	// The moment the message reached us is its reception on our side.
	if card, err := s.c.Mail.ProcessCard(ctx, m.ID); err == nil && !card.Reception.IsZero() {
		t.ReceivedAt = card.Reception
	}
	for _, d := range r.Documents {
		doc := Document{ID: d.ID, Class: d.Class, Title: d.Title, EEB: d.EEB}
		for _, f := range d.Files {
			doc.Files = append(doc.Files, f.Name)
		}
		t.Documents = append(t.Documents, doc)
	}
	return t
}

// courtSafeID is whom a received message came from: the SAFE-ID its
// verified certificate confirms, else the one it names.
func courtSafeID(m mailbox.Message) string {
	var meta mailbox.IncomingMeta
	if json.Unmarshal(m.Meta, &meta) == nil && meta.Sender.Confirmed.SafeID != "" {
		return meta.Sender.Confirmed.SafeID
	}
	return m.Sender
}

// reply records a court's eEB answer, matched to the message of ours
// whose record it names, or flagged as unmatched. The journal of both
// messages says so (once, whatever is read again).
func (s *Service) reply(ctx context.Context, m mailbox.Message, r *xjustiz.Record, b *Batch, logs *[]func()) error {
	rep := Reply{MessageID: m.ID, Mailbox: m.Mailbox, Court: r.SenderCourt, RecordMessageID: r.EEB.MessageID,
		ForeignMessageID: r.EEB.ForeignMessageID, Representative: r.EEB.Representative, ReceivedAt: m.CreatedAt}
	if r.EEB.Acknowledged {
		rep.Acknowledged = r.EEB.Date
	}
	if r.EEB.Rejection != nil {
		rep.RejectCode, rep.RejectReason = string(r.EEB.Rejection.Code), r.EEB.Rejection.Reason
	}
	if q, err := s.c.Tasks.Request(ctx, r.EEB.ForeignMessageID); err == nil {
		rep.OurMessageID = q.MessageID
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	for _, q := range b.Requests {
		if rep.OurMessageID == 0 && q.XJustizMessageID == r.EEB.ForeignMessageID {
			rep.OurMessageID = q.MessageID
		}
	}
	d := map[string]string{"reply_message": strconv.FormatInt(m.ID, 10), "xjustiz_message_id": rep.RecordMessageID,
		"foreign_message_id": rep.ForeignMessageID, "result": rep.Result()}
	if !rep.Acknowledged.IsZero() {
		d["acknowledged_on"] = rep.Acknowledged.Format(time.DateOnly)
	}
	if rep.RejectCode != "" {
		d["reject_code"] = rep.RejectCode
	}
	kind := "eeb_reply_unmatched"
	if rep.Matched() {
		kind = "eeb_reply"
		d["our_message"] = strconv.FormatInt(rep.OurMessageID, 10)
		if err := s.journalOnce(ctx, rep.OurMessageID, kind, d, "reply_message"); err != nil {
			return err
		}
	}
	if err := s.journalOnce(ctx, m.ID, kind, d, "reply_message"); err != nil {
		return err
	}
	b.Replies = append(b.Replies, rep)
	*logs = append(*logs, func() {
		if !rep.Matched() {
			s.c.Logger.Warn("eEB answer of a court matches none of our messages; kept and flagged (eeb list)",
				zap.Int64(logging.KeyMessageID, m.ID), zap.String(logging.KeyMailbox, m.Mailbox), zap.String("court", rep.Court))
			return
		}
		s.c.Logger.Info("eEB answer of a court recorded on our message", zap.Int64(logging.KeyMessageID, rep.OurMessageID),
			zap.Int64("replyMessageId", m.ID), zap.String("court", rep.Court), zap.String("result", rep.Result()))
	})
	return nil
}

// Result names the answer: acknowledged or rejected.
func (r Reply) Result() string {
	if r.RejectCode != "" {
		return "rejected"
	}
	return "acknowledged"
}

// journalOnce appends an entry to a message's journal unless one of the
// same kind with the same value under key is there: a step read again
// after a crash journals nothing twice.
func (s *Service) journalOnce(ctx context.Context, id int64, kind string, d map[string]string, key string) error {
	evs, err := s.c.Mail.MessageEvents(ctx, id)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if e.Kind == kind && detail(e)[key] == d[key] {
			return nil
		}
	}
	_, err = s.c.Mail.Append(ctx, mailbox.EventInput{At: s.c.Now(), MessageID: id, Kind: kind, Detail: d})
	return err
}

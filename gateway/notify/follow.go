package notify

import (
	"context"
	"encoding/json"
	"strconv"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Journal names of the cursors.
const (
	journalMailbox  = "mailbox"
	journalRegister = "register"
)

// followBatch is how many journal entries one round reads per journal.
const followBatch = 200

// Journal is a journal read forward from a cursor: the message store's
// and the register's.
type Journal interface {
	Events(ctx context.Context, after int64, limit int) ([]mailbox.Event, error)
	AnchoredHead(ctx context.Context) (mailbox.JournalHead, error)
}

// Messages is the message store as the follower reads it.
type Messages interface {
	Journal
	Get(ctx context.Context, id int64) (mailbox.Message, error)
}

// Answers is the register as the follower reads it: its journal and
// whether an answer has entries.
type Answers interface {
	Journal
	Answer(ctx context.Context, id int64) (register.Answer, error)
}

// Tasks is the eEB task store as the deadline round reads it.
type Tasks interface {
	Tasks(ctx context.Context, f eeb.Filter) ([]eeb.Task, error)
}

// Follow reads the message journal and, when configured, the register's
// journal from their cursors, resolves each event worth telling to its
// subscribers and records the notices, their jobs and the new cursors in
// one transaction. A journal followed for the first time starts at its
// end: what happened before notifications were switched on is not told.
func (s *Service) Follow(ctx context.Context) (bool, error) {
	b := Batch{Cursors: map[string]int64{}}
	more := false
	m, err := s.follow(ctx, journalMailbox, s.c.Mail, &b, s.mailNotice)
	if err != nil {
		return false, err
	}
	more = more || m
	if s.c.Register != nil {
		m, err := s.follow(ctx, journalRegister, s.c.Register, &b, s.registerNotice)
		if err != nil {
			return false, err
		}
		more = more || m
	}
	if len(b.Cursors) == 0 {
		return false, nil
	}
	return more, s.record(ctx, b)
}

// follow reads one journal's next entries into b.
func (s *Service) follow(ctx context.Context, name string, j Journal, b *Batch, notice func(context.Context, mailbox.Event) (Notice, bool, error)) (bool, error) {
	cur, ok, err := s.c.Store.Cursor(ctx, name)
	if err != nil {
		return false, err
	}
	if !ok {
		end, err := journalEnd(ctx, j)
		if err != nil {
			return false, err
		}
		b.Cursors[name] = end
		return false, nil
	}
	evs, err := j.Events(ctx, cur, followBatch)
	if err != nil || len(evs) == 0 {
		return false, err
	}
	for _, ev := range evs {
		n, ok, err := notice(ctx, ev)
		if err != nil {
			return false, err
		}
		if ok {
			r, err := s.resolve(ctx, n)
			if err != nil {
				return false, err
			}
			b.Notices = append(b.Notices, r)
		}
	}
	b.Cursors[name] = evs[len(evs)-1].Seq
	return len(evs) == followBatch, nil
}

// journalEnd is the last entry's sequence number.
func journalEnd(ctx context.Context, j Journal) (int64, error) {
	h, err := j.AnchoredHead(ctx)
	if err != nil {
		return 0, err
	}
	end := h.Seq
	for {
		evs, err := j.Events(ctx, end, 1000)
		if err != nil || len(evs) == 0 {
			return end, err
		}
		end = evs[len(evs)-1].Seq
	}
}

func detail(ev mailbox.Event) map[string]string {
	d := map[string]string{}
	_ = json.Unmarshal([]byte(ev.Detail), &d)
	return d
}

// mailNotice makes the notice of a message journal entry: an incoming
// message verified (new mail) or quarantined.
func (s *Service) mailNotice(ctx context.Context, ev mailbox.Event) (Notice, bool, error) {
	if ev.MessageID == 0 {
		return Notice{}, false, nil
	}
	d := detail(ev)
	var kind Kind
	switch {
	case ev.Kind == "received" && d["state"] == string(mailbox.StateQuarantined):
		kind = KindQuarantine
	case (ev.Kind == "state" || ev.Kind == "operator") && d["to"] == string(mailbox.StateQuarantined):
		kind = KindQuarantine
	case (ev.Kind == "state" || ev.Kind == "operator") && d["to"] == string(mailbox.StateIntakePending):
		kind = KindNewMail
	default:
		return Notice{}, false, nil
	}
	m, err := s.c.Mail.Get(ctx, ev.MessageID)
	if mailbox.IsNotFound(err) {
		return Notice{}, false, nil // deleted since; nothing to look at
	}
	if err != nil {
		return Notice{}, false, err
	}
	if m.Direction != mailbox.In {
		return Notice{}, false, nil
	}
	return Notice{Kind: kind, Mailbox: m.Mailbox, Ref: m.ID}, true, nil
}

// registerNotice makes the notice of a register journal entry: an
// answer with entries (the procedure's page, the answer as item).
func (s *Service) registerNotice(ctx context.Context, ev mailbox.Event) (Notice, bool, error) {
	if ev.Kind != "answer_received" {
		return Notice{}, false, nil
	}
	id, err := strconv.ParseInt(detail(ev)["answer"], 10, 64)
	if err != nil || id == 0 {
		s.c.Logger.Warn("register answer entry names no answer; not told", zap.Int64("seq", ev.Seq), zap.Int64("procedureId", ev.MessageID))
		return Notice{}, false, nil
	}
	a, err := s.c.Register.Answer(ctx, id)
	if err != nil {
		return Notice{}, false, err
	}
	if !a.HasEntries {
		return Notice{}, false, nil
	}
	return Notice{Kind: KindRegisterEntries, Mailbox: s.c.RegisterMailbox, Ref: ev.MessageID, Item: a.ID}, true, nil
}

// resolve asks who wants to hear of n and by which channel.
func (s *Service) resolve(ctx context.Context, n Notice) (Resolved, error) {
	subs, err := s.c.Recipients.Subscribers(ctx, n.Mailbox, n.Kind)
	if err != nil {
		return Resolved{}, err
	}
	r := Resolved{Notice: n}
	for _, sub := range subs {
		if sub.User == "" {
			continue
		}
		if sub.Email != "" {
			r.Jobs = append(r.Jobs, Job{User: sub.User, Channel: ChannelEmail, Address: sub.Email})
		}
		if sub.Webhook != nil && sub.Webhook.URL != "" {
			f := sub.Webhook.Format
			if f == "" {
				f = FormatJSON
			}
			r.Jobs = append(r.Jobs, Job{User: sub.User, Channel: ChannelWebhook, Address: sub.Webhook.URL, Format: f})
		}
	}
	return r, nil
}

// record commits b and logs one line per notice that queued jobs.
func (s *Service) record(ctx context.Context, b Batch) error {
	queued, err := s.c.Store.Record(ctx, b, s.c.Now())
	if err != nil {
		return err
	}
	if queued > 0 {
		s.c.Logger.Info("notifications queued", zap.Int("notifications", queued), zap.Int("events", len(b.Notices)))
	}
	return nil
}

// Deadlines tells about eEB tasks open for longer than OverdueAfter less
// WarnBefore (each task once): the deadline guard's limit comes close.
func (s *Service) Deadlines(ctx context.Context) error {
	if s.c.Tasks == nil {
		return nil
	}
	limit := s.c.Now().Add(-(s.c.OverdueAfter - s.c.WarnBefore))
	var b Batch
	for after := int64(0); ; {
		ts, err := s.c.Tasks.Tasks(ctx, eeb.Filter{States: []eeb.State{eeb.StateOpen}, AfterID: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, t := range ts {
			after = t.ID
			if t.ReceivedAt.After(limit) {
				continue
			}
			n := Notice{Kind: KindEEBDue, Mailbox: t.Mailbox, Ref: t.ID}
			told, err := s.c.Store.Told(ctx, n)
			if err != nil {
				return err
			}
			if told {
				continue
			}
			r, err := s.resolve(ctx, n)
			if err != nil {
				return err
			}
			b.Notices = append(b.Notices, r)
		}
		if len(ts) < 500 {
			break
		}
	}
	if len(b.Notices) == 0 {
		return nil
	}
	return s.record(ctx, b)
}

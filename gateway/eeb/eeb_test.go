package eeb_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestRequestAcknowledged is the incoming case: a court's request
// opens one task, a person acknowledges it, and the 2200007 queued to the
// court is schema-valid (our validator and xmllint) and names the court's
// message.
func TestRequestAcknowledged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)
	in := f.receive(t, "court-1", req.Record, false)
	f.follow(t)
	f.follow(t) // read again: nothing new

	ts, err := f.tasks.Tasks(ctx, eeb.Filter{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("tasks = %+v, %v; want one", ts, err)
	}
	task := ts[0]
	if task.MessageID != in.ID || task.Court != "R1502" || task.CourtName != "Amtsgericht Erkelenz" || task.CourtSafeID != apitest.Recipient ||
		task.CourtMessageID != req.MessageID || task.CaseCourt != "3 C 17/26" || task.CaseOurs != "32-12/26" || task.State != eeb.StateOpen {
		t.Fatalf("task = %+v", task)
	}
	if len(task.Documents) != 1 || !task.Documents[0].EEB || task.Documents[0].Files[0] != req.Documents[0].FileName {
		t.Errorf("documents = %+v", task.Documents)
	}

	on := f.Clock.Now()
	done, err := f.svc.Answer(ctx, task.ID, eeb.Decision{Acknowledged: on}, "legal-office")
	if err != nil {
		t.Fatal(err)
	}
	a := done.Answer
	if done.State != eeb.StateAnswered || a == nil || a.By != "legal-office" || a.SentMessageID == 0 || a.At.IsZero() {
		t.Fatalf("answered task = %+v", done)
	}
	sent, err := f.Store.Get(ctx, a.SentMessageID)
	if err != nil {
		t.Fatal(err)
	}
	if sent.Direction != mailbox.Out || sent.Recipient != apitest.Recipient || sent.Mailbox != apitest.Mailbox || len(sent.Documents) != 1 {
		t.Fatalf("sent message = %+v", sent)
	}
	rec := f.document(t, sent, "xjustiz_nachricht.xml")
	if err := f.codec.Validate(rec); err != nil {
		t.Fatalf("the answer is not valid: %v", err)
	}
	xmllint(t, rec, "xjustiz_2200_eeb_3_1.xsd")
	r, err := f.codec.ReadEEB(rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.EEB.ForeignMessageID != req.MessageID || !r.EEB.Acknowledged || r.EEB.Date.Format(time.DateOnly) != on.In(r.EEB.Date.Location()).Format(time.DateOnly) ||
		r.MessageID != a.RecordMessageID || r.CaseRecipient != "3 C 17/26" || r.CaseSender != "32-12/26" || r.RecipientCourt != "R1502" {
		t.Errorf("answer record = %+v, eeb %+v", r, r.EEB)
	}
	if n := countKind(f.events(t, in.ID), "eeb_answered"); n != 1 {
		t.Errorf("%d eeb_answered entries on the request, want 1", n)
	}

	// Answering twice is refused and queues nothing.
	if _, err := f.svc.Answer(ctx, task.ID, eeb.Decision{RejectCode: "2"}, "someone-else"); !errors.Is(err, eeb.ErrAnswered) {
		t.Errorf("second answer: %v, want ErrAnswered", err)
	}
	if n := f.MessageCount(t); n != 2 {
		t.Errorf("%d messages, want the request and one answer", n)
	}
}

// TestRequestRejected: a rejection carries the code and the reason.
func TestRequestRejected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)
	f.receive(t, "court-1", req.Record, false)
	f.follow(t)
	done, err := f.svc.Answer(ctx, 1, eeb.Decision{RejectCode: "1", RejectReason: "Die Stadt ist am Verfahren nicht beteiligt."}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := f.Store.Get(ctx, done.Answer.SentMessageID)
	rec := f.document(t, sent, "xjustiz_nachricht.xml")
	xmllint(t, rec, "xjustiz_2200_eeb_3_1.xsd")
	r, err := f.codec.ReadEEB(rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.EEB.Acknowledged || r.EEB.Rejection == nil || r.EEB.Rejection.Code != xjustiz.RejectNotParty ||
		r.EEB.Rejection.Reason != "Die Stadt ist am Verfahren nicht beteiligt." || r.EEB.ForeignMessageID != req.MessageID {
		t.Errorf("answer = %+v", r.EEB)
	}
}

// TestAnswerRefusals: what a person may not answer changes nothing.
func TestAnswerRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.receive(t, "court-1", f.request(t).Record, false)
	f.follow(t)
	received := in.CreatedAt
	for name, d := range map[string]eeb.Decision{
		"neither":            {},
		"both":               {Acknowledged: received, RejectCode: "1"},
		"unknown code":       {RejectCode: "4"},
		"reason without":     {Acknowledged: received, RejectReason: "x"},
		"before the request": {Acknowledged: received.Add(-48 * time.Hour)},
		"in the future":      {Acknowledged: f.Clock.Now().Add(72 * time.Hour)},
	} {
		if _, err := f.svc.Answer(ctx, 1, d, "ops"); !errors.Is(err, eeb.ErrBadAnswer) {
			t.Errorf("%s: %v, want ErrBadAnswer", name, err)
		}
	}
	if _, err := f.svc.Answer(ctx, 1, eeb.Decision{RejectCode: "2"}, ""); !errors.Is(err, eeb.ErrBadAnswer) {
		t.Errorf("no actor: %v", err)
	}
	if _, err := f.svc.Answer(ctx, 99, eeb.Decision{RejectCode: "2"}, "ops"); !errors.Is(err, eeb.ErrNotFound) {
		t.Errorf("unknown task: %v", err)
	}
	task, _ := f.tasks.Task(ctx, 1)
	if task.State != eeb.StateOpen || f.MessageCount(t) != 1 {
		t.Errorf("after refusals: task %s, %d messages", task.State, f.MessageCount(t))
	}
}

// TestQuarantinedRequestOpensNoTask: an unverified request is a person's
// to look at first; released, it opens its task.
func TestQuarantinedRequestOpensNoTask(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.receive(t, "court-1", f.request(t).Record, true)
	f.follow(t)
	if ts, _ := f.tasks.Tasks(ctx, eeb.Filter{}); len(ts) != 0 {
		t.Fatalf("tasks for a quarantined message: %+v", ts)
	}
	if _, err := f.Store.Operate(ctx, mailbox.OperatorAction{ID: in.ID, Op: mailbox.OpRequeue, Actor: "ops", Now: f.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	f.follow(t)
	if ts, _ := f.tasks.Tasks(ctx, eeb.Filter{}); len(ts) != 1 {
		t.Fatalf("after release: %d tasks, want 1", len(ts))
	}
}

// TestFollowRecordsOnce: a batch recorded again (a crash after the commit,
// before anything else) neither doubles a task nor moves the cursor back.
func TestFollowRecordsOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.receive(t, "court-1", f.request(t).Record, false)
	f.follow(t)
	cur, _ := f.tasks.Cursor(ctx)
	again := eeb.Batch{Cursor: cur, Tasks: []eeb.Task{{MessageID: in.ID, Mailbox: "x", CourtSafeID: "x", CourtMessageID: "x"}}}
	if err := f.tasks.Record(ctx, again); err != nil {
		t.Fatal(err)
	}
	if err := f.tasks.Record(ctx, eeb.Batch{Cursor: cur - 1}); err == nil {
		t.Error("the cursor moved back")
	}
	ts, _ := f.tasks.Tasks(ctx, eeb.Filter{})
	if len(ts) != 1 || ts[0].Mailbox != apitest.Mailbox {
		t.Errorf("tasks = %+v", ts)
	}
	// A fresh service on the same database starts where the first stopped.
	tasks2, err := eeb.OpenSQLite(ctx, filepath.Join(f.Dir, eeb.FileName), true)
	if err != nil {
		t.Fatal(err)
	}
	defer tasks2.Close()
	if c2, _ := tasks2.Cursor(ctx); c2 != cur {
		t.Errorf("cursor after reopening = %d, want %d", c2, cur)
	}
}

// TestResumeFinishesQueuedAnswer: a process that stopped after queueing
// the answer but before recording it leaves a claimed task; Resume finds
// the queued message by its idempotency key and records it, once.
func TestResumeFinishesQueuedAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.receive(t, "court-1", f.request(t).Record, false)
	f.follow(t)
	if _, err := f.svc.Answer(ctx, 1, eeb.Decision{RejectCode: "3"}, "ops"); err != nil {
		t.Fatal(err)
	}
	answered, _ := f.tasks.Task(ctx, 1)

	// A second gateway whose task database lost the answer: the claim is
	// refused by nothing but the message store's idempotency key.
	tasks2, err := eeb.OpenSQLite(ctx, filepath.Join(t.TempDir(), eeb.FileName), false)
	if err != nil {
		t.Fatal(err)
	}
	defer tasks2.Close()
	svc2, _ := eeb.New(eeb.Config{Tasks: tasks2, Mail: f.Store, Blobs: f.Blobs, Codec: f.codec, Submitter: f.Srv.Submitter(),
		Sender: func(string) string { return "Stadt Erkelenz" }, Now: f.Clock.Now})
	for more := true; more; {
		if more, err = svc2.Follow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tasks2.Claim(ctx, 1, "ops", f.Clock.Now(), f.Clock.Now()); err != nil { // claim that ran out
		t.Fatal(err)
	}
	if err := svc2.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := tasks2.Task(ctx, 1)
	if got.State != eeb.StateAnswered || got.Answer.SentMessageID != answered.Answer.SentMessageID || got.Answer.RejectCode != "3" {
		t.Errorf("resumed task = %+v, answer %+v; want message %d", got, got.Answer, answered.Answer.SentMessageID)
	}
	if n := f.MessageCount(t); n != 2 {
		t.Errorf("%d messages, want the request and one answer", n)
	}
	// A claim whose answer was never queued opens again.
	f.receive(t, "court-2", f.request(t).Record, false)
	for more := true; more; {
		if more, err = svc2.Follow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tasks2.Claim(ctx, 2, "ops", f.Clock.Now(), f.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := svc2.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := tasks2.Task(ctx, 2); got.State != eeb.StateOpen {
		t.Errorf("unqueued claim: %s, want open", got.State)
	}
}

// TestReplyMatchedToOurMessage is the outgoing case: our message
// asking for an eEB, the court's 2200007 naming its record, recorded on
// it; an answer naming no record of ours is kept and flagged.
func TestReplyMatchedToOurMessage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ours, err := f.codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		CaseSender: "32-12/26", Documents: []xjustiz.Document{{Name: "Klage.pdf", Class: "003"}}, EEB: true})
	if err != nil {
		t.Fatal(err)
	}
	sent := f.enqueue(t, ours.Record)
	f.follow(t)

	answer := func(foreign string) []byte {
		b, err := f.codec.BuildEEB(xjustiz.EEBAnswer{Court: xjustiz.Court{Name: "Stadt Erkelenz"}, Sender: "Amtsgericht Erkelenz",
			ForeignMessageID: foreign, Acknowledged: time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		return b.Record
	}
	in := f.receive(t, "court-eeb-1", answer(ours.MessageID), false)
	stray := f.receive(t, "court-eeb-2", answer("0b7f3e2a-9c1d-4e5f-8a6b-7c8d9e0f1a2b"), false)
	f.follow(t)
	f.follow(t)

	reps, err := f.tasks.ReplyTo(ctx, sent.ID)
	if err != nil || len(reps) != 1 {
		t.Fatalf("replies to our message = %+v, %v", reps, err)
	}
	if r := reps[0]; r.MessageID != in.ID || r.Acknowledged.Format(time.DateOnly) != "2026-06-02" || r.Result() != "acknowledged" {
		t.Errorf("reply = %+v", r)
	}
	un, _ := f.tasks.Unmatched(ctx)
	if len(un) != 1 || un[0].MessageID != stray.ID || un[0].Matched() {
		t.Errorf("unmatched = %+v", un)
	}
	if n := countKind(f.events(t, sent.ID), "eeb_reply"); n != 1 {
		t.Errorf("%d eeb_reply entries on our message, want 1", n)
	}
	if n := countKind(f.events(t, stray.ID), "eeb_reply_unmatched"); n != 1 {
		t.Errorf("%d eeb_reply_unmatched entries on the stray answer, want 1", n)
	}
	sum, err := f.svc.Summary(ctx)
	if err != nil || sum.Unmatched != 1 || sum.Open != 0 {
		t.Errorf("summary = %+v, %v", sum, err)
	}
}

// enqueue queues a message of ours carrying record, as the send path does.
func (f *fixture) enqueue(t *testing.T, record []byte) mailbox.Message {
	t.Helper()
	d := f.Srv.Submitter().Begin()
	defer d.Abort()
	if err := d.AddDocument("xjustiz_nachricht.xml", "application/xml", bytesReader(record)); err != nil {
		t.Fatal(err)
	}
	if err := d.AddDocument("Klage.pdf", "application/pdf", bytesReader(certstest.Document(t, "plain_gs.pdf"))); err != nil {
		t.Fatal(err)
	}
	acc, err := d.Commit(context.Background(), apitest.OKMessage(), "")
	if err != nil {
		t.Fatal(err)
	}
	return acc.Message
}

// TestDeadlineGuard: a task open longer than the limit is overdue, and
// the guard reports it without answering anything.
func TestDeadlineGuard(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.receive(t, "court-1", f.request(t).Record, false)
	f.follow(t)
	var got eeb.Summary
	g := &eeb.Guard{S: f.svc, Report: func(s eeb.Summary) { got = s }}
	if err := g.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Open != 1 || got.Overdue != 0 || got.OverdueAfterDays != 3 {
		t.Errorf("fresh: %+v", got)
	}
	f.Clock.Add(4 * 24 * time.Hour)
	if err := g.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Open != 1 || got.Overdue != 1 || len(got.OverdueTasks) != 1 || got.OverdueTasks[0] != 1 {
		t.Errorf("after 4 days: %+v", got)
	}
	if task, _ := f.tasks.Task(ctx, 1); task.State != eeb.StateOpen || f.MessageCount(t) != 1 {
		t.Errorf("the guard answered: %s", task.State)
	}
}

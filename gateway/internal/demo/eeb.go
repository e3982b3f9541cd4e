package demo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// The case numbers of the demo's proceedings: the city's file number and
// the court's.
const (
	CaseCity  = "DEMO-1/2026"
	CaseCourt = "1 O 23/26"
)

// eebDemo is the legal office's part of the walkthrough, with the
// landgericht mailbox playing the court: the court acknowledges the eEB
// our message asked for, the court serves the city a summons asking for
// an eEB that the city acknowledges, and the proof of filing of our
// message shows the reception time. Each eEB is answered as a person
// would (opt.Answer), by the command the demo prints.
type eebDemo struct {
	out    io.Writer
	l      Layout
	c      *api.Client
	apiURL string
	opt    Options
	codec  *xjustiz.Codec
}

// run walks the three steps, numbered from step; it stops at the first
// step that does not complete and says why.
func (e *eebDemo) run(ctx context.Context, step int, ours int64) {
	if err := e.courtAnswers(ctx, step, ours); err != nil {
		fmt.Fprintf(e.out, "   stopped: %v\n   see %s\n", err, e.l.Log())
		return
	}
	if err := e.courtAsks(ctx, step+1); err != nil {
		fmt.Fprintf(e.out, "   stopped: %v\n   see %s\n", err, e.l.Log())
		return
	}
	if err := e.evidence(ctx, step+2, ours); err != nil {
		fmt.Fprintf(e.out, "   stopped: %v\n   see %s\n", err, e.l.Log())
	}
}

// courtAnswers: our message to the court asked for an eEB; the court's
// mailbox opens a task for it, answers it, and the 2200007 is recorded
// on our message.
func (e *eebDemo) courtAnswers(ctx context.Context, step int, ours int64) error {
	m, err := e.c.GetMessage(ctx, ours)
	if err != nil {
		return err
	}
	var meta submit.OutgoingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil || meta.XJustizMessageID == "" || !meta.EEBRequested {
		return fmt.Errorf("message %d carries no XJustiz record asking for an eEB", ours)
	}
	fmt.Fprintf(e.out, "%d. eEB asked by us: message %d carries xjustiz_nachricht.xml (record %s) with ruecksendungEEB.erforderlich\n",
		step, ours, meta.XJustizMessageID)
	t, err := e.waitTask(ctx, Landgericht, meta.XJustizMessageID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "   the court's mailbox %q opened eEB task %d for it (received message %d)\n", Landgericht.ID, t.ID, t.MessageID)
	if t, err = e.acknowledge(ctx, t); err != nil {
		return err
	}
	var reps []eeb.Reply
	err = poll(ctx, "the court's eEB answer recorded on our message", func() (bool, error) {
		v, err := e.c.GetMessage(ctx, ours)
		if err == nil && v.EEB != nil {
			reps = v.EEB.Replies
		}
		return len(reps) > 0, nil
	})
	if err != nil {
		return err
	}
	r := reps[0]
	fmt.Fprintf(e.out, "   the 2200007 (message %d) reached %q and is recorded on message %d: %s, received on %s\n",
		r.MessageID, Stadt.ID, ours, r.Result(), r.Acknowledged.In(berlin).Format(time.DateOnly))
	fmt.Fprintf(e.out, "   see it: ./bin/bebpo-gateway messages show --config %s %d\n", e.l.Config(), ours)
	return nil
}

// courtAsks: the court serves the city a summons asking for an eEB; the
// city's task is answered and the 2200007 reaches the court's mailbox,
// schema-valid and naming the court's message.
func (e *eebDemo) courtAsks(ctx context.Context, step int) error {
	b, files, err := e.summons()
	if err != nil {
		return err
	}
	req := submit.MessageRequest{Mailbox: Landgericht.ID, To: Stadt.SafeID, Subject: "Ladung – " + CaseCourt,
		CaseNumberSender: CaseCourt, CaseNumberRecipient: CaseCity, EEBRequested: true}
	resp, err := e.c.Send(ctx, req, files, "demo-ladung-"+b.MessageID)
	if err != nil {
		return fmt.Errorf("the court's summons: %w", err)
	}
	fmt.Fprintf(e.out, "%d. eEB asked by the court: %q sent %q a summons (message %d) whose record %s asks for an eEB\n",
		step, Landgericht.ID, Stadt.ID, resp.ID, b.MessageID)
	entry, _, err := waitIntake(ctx, e.c, e.l, Stadt, resp.ID)
	if err != nil {
		return fmt.Errorf("the summons did not arrive: %w", err)
	}
	fmt.Fprintf(e.out, "   arrived in the folder intake of %q: %s\n", Stadt.ID, entry)
	t, err := e.waitTask(ctx, Stadt, b.MessageID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "   eEB task %d opened for %q: court %s %s, case %s, SAFE-ID %s\n", t.ID, Stadt.ID, t.Court, t.CourtName, t.CaseCourt, t.CourtSafeID)
	if t, err = e.acknowledge(ctx, t); err != nil {
		return err
	}
	answerEntry, _, err := waitIntake(ctx, e.c, e.l, Landgericht, t.Answer.SentMessageID)
	if err != nil {
		return fmt.Errorf("the 2200007 did not arrive at the court: %w", err)
	}
	data, err := os.ReadFile(filepath.Join(answerEntry, mailbox.DocumentsDir, egvp.FileXJustiz))
	if err != nil {
		return fmt.Errorf("the court's copy of the 2200007: %w", err)
	}
	rec, err := e.codec.Read(data)
	switch {
	case err != nil:
		return fmt.Errorf("the court's copy of the 2200007: %w", err)
	case rec.Validation != nil:
		return fmt.Errorf("the court's copy of the 2200007 is not valid: %w", rec.Validation)
	case rec.EEB == nil || rec.ForeignMessageID != b.MessageID:
		return fmt.Errorf("the court received %s naming %q, not the summons %s", rec.Message, rec.ForeignMessageID, b.MessageID)
	}
	fmt.Fprintf(e.out, "   the 2200007 arrived in the folder intake of %q: %s\n", Landgericht.ID, answerEntry)
	fmt.Fprintf(e.out, "   %s, valid against XJustiz %s, fremdeNachrichtenID %s = the summons' record\n", rec.Message, rec.Generation, rec.ForeignMessageID)
	err = poll(ctx, "the city's eEB answer recorded on the court's message", func() (bool, error) {
		v, err := e.c.GetMessage(ctx, resp.ID)
		return err == nil && v.EEB != nil && len(v.EEB.Replies) > 0, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "   and the court's gateway recorded it on its message %d\n", resp.ID)
	return nil
}

// evidence prints the proof of filing of our message and writes its page.
func (e *eebDemo) evidence(ctx context.Context, step int, ours int64) error {
	data, err := e.c.Evidence(ctx, ours, "json")
	if err != nil {
		return err
	}
	var b evidence.Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	if b.ReceptionAt.IsZero() {
		return fmt.Errorf("the proof of filing of message %d has no reception yet", ours)
	}
	page, err := e.c.Evidence(ctx, ours, "html")
	if err != nil {
		return err
	}
	file := e.l.path("evidence", fmt.Sprintf("nachweis-%d.html", ours))
	if err := writeFileAtomic(file, page, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "%d. Proof of filing of message %d (Zustellnachweis) via GET %s/v1/messages/%d/evidence:\n", step, ours, e.apiURL, ours)
	fmt.Fprintf(e.out, "   received by the court (reception, process card) %s\n", b.ReceptionAt.In(berlin).Format(time.RFC3339))
	fmt.Fprintf(e.out, "   %d documents with their SHA-256, XJustiz record %s, %d eEB answer(s), %d journal entries\n",
		len(b.Documents), recordID(b.Record), len(b.EEB), len(b.Journal))
	fmt.Fprintf(e.out, "   page for the case file: %s\n", file)
	fmt.Fprintf(e.out, "   or: ./bin/bebpo-gateway messages evidence --config %s --html nachweis-%d.html %d\n", e.l.Config(), ours, ours)
	return nil
}

func recordID(r *evidence.Record) string {
	if r == nil {
		return "-"
	}
	return r.MessageID
}

// waitTask waits for the open eEB task of mb for the court's record id.
func (e *eebDemo) waitTask(ctx context.Context, mb Mailbox, recordID string) (eeb.Task, error) {
	var found eeb.Task
	err := poll(ctx, fmt.Sprintf("an eEB task of %q for record %s", mb.ID, recordID), func() (bool, error) {
		page, err := e.c.Tasks(ctx, url.Values{"mailbox": {mb.ID}, "state": {"open"}, "limit": {"500"}})
		if err != nil {
			return false, nil
		}
		for _, t := range page.Tasks {
			if strings.EqualFold(t.CourtMessageID, recordID) {
				found = t
				return true, nil
			}
		}
		return false, nil
	})
	return found, err
}

// acknowledge answers t as received today, by the command a person would
// type (printed), and returns the answered task.
func (e *eebDemo) acknowledge(ctx context.Context, t eeb.Task) (eeb.Task, error) {
	day := time.Now().In(berlin).Format(time.DateOnly)
	args := []string{"eeb", "acknowledge", "--config", e.l.Config(), "--date", day, strconv.FormatInt(t.ID, 10)}
	fmt.Fprintf(e.out, "   acknowledged as received on %s, as a person does with:\n     ./bin/bebpo-gateway %s\n", day, strings.Join(args, " "))
	var err error
	if e.opt.Answer != nil {
		if err = e.opt.Answer(ctx, args); err == nil {
			t, err = e.c.Task(ctx, t.ID)
		}
	} else {
		t, err = e.c.Acknowledge(ctx, t.ID, day)
	}
	switch {
	case err != nil:
		return t, fmt.Errorf("eEB task %d: %w", t.ID, err)
	case t.Answer == nil:
		return t, fmt.Errorf("eEB task %d is %s, not answered", t.ID, t.State)
	}
	fmt.Fprintf(e.out, "   task %d answered by %q: the 2200007 (record %s) is queued as message %d to %s\n",
		t.ID, t.Answer.By, t.Answer.RecordMessageID, t.Answer.SentMessageID, t.CourtSafeID)
	return t, nil
}

// summons builds the court's summons, a record asking for an eEB and a
// PDF under the name the record gives it, in a directory of its own; it
// returns the record and the files to send.
func (e *eebDemo) summons() (*xjustiz.Built, []string, error) {
	b, err := e.codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: Landgericht.CourtCode, Name: Landgericht.Organisation},
		Sender: Stadt.Organisation, CaseSender: CaseCourt, CaseRecipient: CaseCity, Subject: "Ladung zum Termin",
		Documents: []xjustiz.Document{{Name: "Ladung.pdf", Class: "008", Title: "Ladung"}}, EEB: true})
	if err != nil {
		return nil, nil, err
	}
	if b.Record, err = courtSends(b.Record); err != nil {
		return nil, nil, err
	}
	if err := e.codec.Validate(b.Record); err != nil {
		return nil, nil, fmt.Errorf("the court's record: %w", err)
	}
	dir := e.l.path("documents", "ladung-"+b.MessageID)
	pdf := filepath.Join(dir, b.Documents[0].FileName)
	rec := filepath.Join(dir, egvp.FileXJustiz)
	if err := writeFileAtomic(pdf, PDF("Ladung "+CaseCourt+", "+b.Created.UTC().Format(time.RFC3339Nano)), 0o644); err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(rec, b.Record, 0o644); err != nil {
		return nil, nil, err
	}
	return b, []string{pdf, rec}, nil
}

// courtSends turns a record built for a court (absender.sonstige to
// empfaenger.gericht) into one the court sends (absender.gericht to
// empfaenger.sonstige). The builder writes the first direction only: the
// gateway speaks for authorities, never for a court; the demo plays one.
func courtSends(record []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(record); err != nil {
		return nil, err
	}
	var from, to *etree.Element
	if k := doc.FindElement("//nachrichtenkopf"); k != nil {
		from, to = k.SelectElement("auswahl_absender"), k.SelectElement("auswahl_empfaenger")
	}
	if from == nil || to == nil {
		return nil, errors.New("demo: record without sender or recipient")
	}
	sender, court := from.SelectElement("absender.sonstige"), to.SelectElement("empfaenger.gericht")
	if sender == nil || court == nil {
		return nil, errors.New("demo: record not from an authority to a court")
	}
	from.RemoveChild(sender)
	to.RemoveChild(court)
	sender.Tag, court.Tag = "empfaenger.sonstige", "absender.gericht"
	from.AddChild(court)
	to.AddChild(sender)
	return doc.WriteToBytes()
}

// poll calls done every 300 ms until it reports true or ctx ends.
func poll(ctx context.Context, what string, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no %s in time", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// newCodec is the demo's XJustiz codec, for the court's records.
func newCodec() (*xjustiz.Codec, error) {
	return xjustiz.New(xjustiz.Options{Now: time.Now, Rand: rand.Reader})
}

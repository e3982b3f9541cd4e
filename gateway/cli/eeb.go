package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
)

// eebCommand lists, shows and answers the courts' eEB requests.
func eebCommand() *Command {
	return &Command{Name: "eeb", Summary: "list and answer the courts' eEB requests (elektronisches Empfangsbekenntnis)", Subs: []*Command{
		{Name: "list", Summary: "list eEB tasks (open ones by default) and the courts' answers that match none of our messages", Run: runEEBList,
			Usage: "eeb list [--state open|answering|answered|all] [options]",
			Help: "List the eEB tasks: received messages whose XJustiz record asks for an eEB. Overdue tasks (open longer\n" +
				"than eeb.overdue_after_days) are marked. Below, the courts' eEB answers that match none of our messages."},
		{Name: "show", Summary: "show one eEB task", Run: runEEBShow,
			Usage: "eeb show [options] TASK",
			Help:  "Show a task: the court, both case numbers, the documents, when it arrived and how it was answered."},
		{Name: "acknowledge", Summary: "acknowledge receipt on a date; the gateway sends the eEB to the court", Run: runEEBAcknowledge,
			Usage: "eeb acknowledge --date YYYY-MM-DD [options] TASK",
			Help: "Acknowledge the receipt of the court's documents on DATE (between the day they arrived and today). The gateway\n" +
				"builds nachricht.eeb.zuruecklaufend.2200007 and sends it to the court; the task records your name (the\n" +
				"token's) and the message. A task is answered once."},
		{Name: "reject", Summary: "refuse the service with a reason; the gateway sends it to the court", Run: runEEBReject,
			Usage: "eeb reject --code 1|2|3 [--reason TEXT] [options] TASK",
			Help: "Refuse the service: code 1 Zustellungsempfänger nicht am Verfahren beteiligt, 2 Inhalt der Sendung unklar\n" +
				"oder unvollständig, 3 Zertifikatsprüfung fehlgeschlagen; --reason adds free text. Sent like acknowledge."},
	}}
}

// taskSource is where the eeb commands read: the API or a data directory.
type taskSource interface {
	Tasks(ctx context.Context, q url.Values) (api.TaskList, error)
	NextTasks(ctx context.Context, next string) (api.TaskList, error)
	Task(ctx context.Context, id int64) (eeb.Task, error)
	UnmatchedReplies(ctx context.Context) (api.ReplyList, error)
}

// dataTasks reads a data directory's task database.
type dataTasks struct{ st *eeb.SQLite }

func (d dataTasks) Tasks(ctx context.Context, q url.Values) (api.TaskList, error) {
	f, err := api.ParseTaskFilter(q, 50)
	if err != nil {
		return api.TaskList{}, err
	}
	ts, err := d.st.Tasks(ctx, f)
	return api.TaskPage(ts, f, q, ""), err
}

func (d dataTasks) NextTasks(ctx context.Context, next string) (api.TaskList, error) {
	u, err := url.Parse(next)
	if err != nil {
		return api.TaskList{}, err
	}
	return d.Tasks(ctx, u.Query())
}

func (d dataTasks) Task(ctx context.Context, id int64) (eeb.Task, error) { return d.st.Task(ctx, id) }

func (d dataTasks) UnmatchedReplies(ctx context.Context) (api.ReplyList, error) {
	reps, err := d.st.Unmatched(ctx)
	return api.ReplyList{Replies: reps}, err
}

// openTaskStore opens a data directory's task database; it never creates one.
func openTaskStore(ctx context.Context, dir string) (*eeb.SQLite, error) {
	return eeb.OpenSQLite(ctx, filepath.Join(dir, eeb.FileName), true)
}

// runTasks runs fn on the API or, with --data, the task database.
func (f *sourceFlags) runTasks(env *Env, fn func(ctx context.Context, src taskSource) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if f.data != "" {
		st, err := openTaskStore(ctx, f.data)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(ctx, dataTasks{st})
	}
	c, err := f.client(env)
	if err != nil {
		return err
	}
	return explainAPIError(fn(ctx, c))
}

// eebListing is what eeb list prints.
type eebListing struct {
	Tasks     []eeb.Task  `json:"tasks"`
	Unmatched []eeb.Reply `json:"unmatchedReplies"`
}

func runEEBList(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	state := fs.String("state", "open", "open, answering, answered or all")
	overdue := fs.Int("overdue-after-days", 3, "mark tasks open longer than this many days (the gateway's eeb.overdue_after_days)")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	q := url.Values{"limit": {"500"}}
	switch *state {
	case "all":
	case "open":
		q.Set("state", "open,answering")
	default:
		q.Set("state", *state)
	}
	return sf.runTasks(env, func(ctx context.Context, src taskSource) error {
		page, err := src.Tasks(ctx, q)
		if err != nil {
			return err
		}
		out := eebListing{Tasks: page.Tasks}
		for page.Next != "" {
			if page, err = src.NextTasks(ctx, page.Next); err != nil {
				return err
			}
			out.Tasks = append(out.Tasks, page.Tasks...)
		}
		un, err := src.UnmatchedReplies(ctx)
		if err != nil {
			return err
		}
		out.Unmatched = un.Replies
		limit := time.Now().Add(-time.Duration(*overdue) * 24 * time.Hour)
		return answer(env, sf.apiFlags, out, nil, func(w io.Writer, l eebListing) error {
			tw := newTable(w, "TASK\tMESSAGE\tMAILBOX\tCOURT\tCOURT CASE\tRECEIVED\tSTATE")
			for _, t := range l.Tasks {
				st := string(t.State)
				if t.State != eeb.StateAnswered && t.ReceivedAt.Before(limit) {
					st += " OVERDUE"
				}
				fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.MessageID, t.Mailbox, cliDash(courtLabel(t)), cliDash(t.CaseCourt), cliTime(t.ReceivedAt), st)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(l.Unmatched) == 0 {
				return nil
			}
			fmt.Fprintln(w, "\neEB answers of courts matching none of our messages:")
			tw = newTable(w, "MESSAGE\tCOURT\tNAMES RECORD\tRESULT\tRECEIVED")
			for _, r := range l.Unmatched {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.MessageID, cliDash(r.Court), r.ForeignMessageID, r.Result(), cliTime(r.ReceivedAt))
			}
			return tw.Flush()
		})
	})
}

func courtLabel(t eeb.Task) string {
	switch {
	case t.Court != "" && t.CourtName != "":
		return t.Court + " " + t.CourtName
	case t.Court != "":
		return t.Court
	}
	return t.CourtName
}

// parseTaskID parses args and the one task id.
func parseTaskID(env *Env, fs *flag.FlagSet, args []string) (int64, error) {
	if err := parseArgs(env, fs, args, 1, "one TASK"); err != nil {
		return 0, err
	}
	return argID(fs, "task id")
}

func runEEBShow(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	id, err := parseTaskID(env, fs, args)
	if err != nil {
		return err
	}
	return sf.runTasks(env, func(ctx context.Context, src taskSource) error {
		t, err := src.Task(ctx, id)
		return answer(env, sf.apiFlags, t, err, printTask)
	})
}

func printTask(w io.Writer, t eeb.Task) error {
	tw, row := fieldTable(w)
	row("task", strconv.FormatInt(t.ID, 10))
	row("state", string(t.State))
	row("message", strconv.FormatInt(t.MessageID, 10))
	row("mailbox", t.Mailbox)
	row("court", cliDash(courtLabel(t)))
	row("court SAFE-ID", t.CourtSafeID)
	row("court message id", t.CourtMessageID)
	row("court case", cliDash(t.CaseCourt))
	row("our case", cliDash(t.CaseOurs))
	row("subject", cliDash(t.Subject))
	row("received", cliTime(t.ReceivedAt))
	if t.State == eeb.StateAnswering {
		row("being answered by", t.ClaimedBy)
	}
	if a := t.Answer; a != nil {
		row("answer", decisionText(a.Decision))
		row("answered by", a.By)
		row("answered at", cliTime(a.At))
		row("sent as message", strconv.FormatInt(a.SentMessageID, 10))
		row("record id", a.RecordMessageID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDocuments:")
	tw = newTable(w, "ID\tCLASS\tTITLE\tFILES\tEEB")
	for _, d := range t.Documents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", d.ID, cliDash(d.Class), cliDash(d.Title), strings.Join(d.Files, ", "), d.EEB)
	}
	return tw.Flush()
}

func decisionText(d eeb.Decision) string {
	if d.RejectCode != "" {
		s := "rejected: " + d.RejectCode + " " + xjustiz.RejectionCode(d.RejectCode).Name()
		if d.RejectReason != "" {
			s += " (" + d.RejectReason + ")"
		}
		return s
	}
	return "acknowledged, received on " + d.Acknowledged.In(api.Berlin).Format(time.DateOnly)
}

func runEEBAcknowledge(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	date := fs.String("date", "", "the day you received the documents, YYYY-MM-DD (required)")
	id, err := parseTaskID(env, fs, args)
	if err != nil {
		return err
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		return usageErrorf(fs, "give --date YYYY-MM-DD, the day you received the documents")
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		t, err := c.Acknowledge(ctx, id, *date)
		return answer(env, af, t, err, printAnswered)
	})
}

func runEEBReject(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	code := fs.String("code", "", "EEB.StoerungsID: 1 not a party, 2 content unclear or incomplete, 3 certificate check failed (required)")
	reason := fs.String("reason", "", "free text for the court (stoerungsGrund)")
	id, err := parseTaskID(env, fs, args)
	if err != nil {
		return err
	}
	if xjustiz.RejectionCode(*code).Name() == "" {
		return usageErrorf(fs, "give --code 1, 2 or 3")
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		t, err := c.Reject(ctx, id, *code, *reason)
		return answer(env, af, t, err, printAnswered)
	})
}

func printAnswered(w io.Writer, t eeb.Task) error {
	if t.Answer == nil {
		_, err := fmt.Fprintf(w, "task %d: %s\n", t.ID, t.State)
		return err
	}
	_, err := fmt.Fprintf(w, "task %d: %s; sent to the court as message %d\n", t.ID, decisionText(t.Answer.Decision), t.Answer.SentMessageID)
	return err
}

// runMessagesEvidence prints or writes the proof of filing of a sent message.
func runMessagesEvidence(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	htmlFile := fs.String("html", "", "write the German page to this file (not overwritten if it exists)")
	id, err := parseMessageID(env, fs, args, false)
	if err != nil {
		return err
	}
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		var b *evidence.Bundle
		switch s := src.(type) {
		case apiSource:
			data, err := s.c.Evidence(ctx, id, "json")
			if err != nil {
				return err
			}
			b = &evidence.Bundle{}
			if err := json.Unmarshal(data, b); err != nil {
				return err
			}
		case *dataSource:
			if b, err = s.evidence(ctx, id); err != nil {
				return err
			}
		}
		if *htmlFile != "" {
			page, err := b.HTML()
			if err != nil {
				return err
			}
			if _, err := os.Lstat(*htmlFile); err == nil {
				return fmt.Errorf("%s exists; not overwritten", *htmlFile)
			}
			if err := durable.WriteFile(*htmlFile, page, 0o640); err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "wrote %s\n", *htmlFile)
		}
		return answer(env, sf.apiFlags, b, nil, printEvidence)
	})
}

func printEvidence(w io.Writer, b *evidence.Bundle) error {
	tw, row := fieldTable(w)
	row("message", strconv.FormatInt(b.MessageID, 10))
	row("OSCI MessageId", cliDash(b.OSCIMessageID))
	row("recipient", b.Recipient)
	row("state", b.State)
	row("submitted", cliTime(b.SubmittedAt))
	if b.ReceptionAt.IsZero() {
		row("reception", "not yet confirmed by the process card")
	} else {
		row("reception", cliTime(b.ReceptionAt)+" (process card)")
	}
	if b.Record != nil {
		row("XJustiz record", b.Record.MessageID)
	}
	for _, a := range b.EEB {
		if a.AcknowledgedOn != "" {
			row("eEB", "acknowledged, received on "+a.AcknowledgedOn)
		} else {
			row("eEB", "rejected: "+a.RejectCode+" "+a.RejectName)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nDocuments:")
	tw = newTable(w, "NAME\tSIZE\tSHA-256")
	for _, d := range b.Documents {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", d.Name, d.Size, d.SHA256)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d journal entries\n", len(b.Journal))
	return err
}

// evidence builds the bundle from the data directory.
func (s *dataSource) evidence(ctx context.Context, id int64) (*evidence.Bundle, error) {
	codec, err := newCodec()
	if err != nil {
		return nil, err
	}
	src := evidence.Sources{Mail: s.st, Blobs: s.blobs, Codec: codec}
	if tasks, err := openTaskStore(ctx, s.dir); err == nil {
		defer tasks.Close()
		src.Replies = tasks.ReplyTo
	} else if !errors.Is(err, eeb.ErrNoDatabase) {
		return nil, err
	}
	return evidence.Build(ctx, src, id, time.Now())
}

// attachEEB adds what the data directory's task database knows of a message.
func (s *dataSource) attachEEB(ctx context.Context, v *api.MessageView) error {
	tasks, err := openTaskStore(ctx, s.dir)
	if errors.Is(err, eeb.ErrNoDatabase) {
		return nil
	}
	if err != nil {
		return err
	}
	defer tasks.Close()
	return api.AttachEEB(ctx, v, tasks)
}

// printMessageEEB is the eEB part of messages show.
func printMessageEEB(w io.Writer, e *api.EEBView) {
	if e == nil {
		return
	}
	if t := e.Task; t != nil {
		state := string(t.State)
		if t.Answer != nil {
			state = decisionText(t.Answer.Decision) + " by " + t.Answer.By + ", sent as message " + strconv.FormatInt(t.Answer.SentMessageID, 10)
		}
		fmt.Fprintf(w, "\neEB requested: task %d, %s\n", t.ID, state)
	}
	if r := e.Reply; r != nil {
		if r.Matched() {
			fmt.Fprintf(w, "\neEB answer of the court to message %d\n", r.OurMessageID)
		} else {
			fmt.Fprintf(w, "\neEB answer of a court matching none of our messages (names record %s)\n", r.ForeignMessageID)
		}
	}
	for _, r := range e.Replies {
		if r.RejectCode != "" {
			fmt.Fprintf(w, "\neEB of the court: rejected, %s %s%s (message %d)\n", r.RejectCode, xjustiz.RejectionCode(r.RejectCode).Name(),
				optional(" – ", r.RejectReason), r.MessageID)
			continue
		}
		fmt.Fprintf(w, "\neEB of the court: acknowledged, received on %s (message %d)\n", r.Acknowledged.In(api.Berlin).Format(time.DateOnly), r.MessageID)
	}
}

func optional(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

const queueSummary = "inspect and steer the message queue"

func init() {
	registerSub("queue", queueSummary, &Command{Name: "list", Summary: "list messages by state", Run: runQueueList})
	registerSub("queue", queueSummary, &Command{Name: "show", Summary: "show one message with its documents, Laufzettel and journal", Run: runQueueShow})
	for _, op := range []struct {
		op      mailbox.Op
		summary string
	}{
		{mailbox.OpHold, "stop a message until it is released"},
		{mailbox.OpRelease, "return a held message to where it was"},
		{mailbox.OpRequeue, "retry a message now (a failed one with a fresh MessageId)"},
		{mailbox.OpDelete, "delete an unsent or quarantined message (kept as a tombstone)"},
	} {
		op := op
		registerSub("queue", queueSummary, &Command{Name: string(op.op), Summary: op.summary,
			Run: func(env *Env, args []string) int { return runQueueOp(env, op.op, op.summary, args) }})
	}
}

// openStore opens the store of a gateway data directory; it never creates one.
func queueOpenStore(ctx context.Context, dataDir string) (*sqlite.Store, error) {
	if dataDir == "" {
		return nil, errors.New("--data is required")
	}
	return sqlite.Open(ctx, filepath.Join(dataDir, sqlite.FileName), sqlite.Options{MustExist: true})
}

func queueDataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", "", "the gateway's data directory (holds "+sqlite.FileName+" and the blobs)")
}

func runQueueList(env *Env, args []string) int {
	fs := NewFlagSet(env, "queue list [options]", "List messages, oldest first. Works while the gateway runs.")
	data := queueDataFlag(fs)
	states := fs.String("state", "", "comma-separated states (queued, id_assigned, sending, sent, confirmed, failed, held, received, quarantined, intake_pending, delivered, deleted)")
	dir := fs.String("direction", "", "in or out")
	mbox := fs.String("mailbox", "", "only this mailbox")
	limit := fs.Int("limit", 100, "at most this many messages")
	after := fs.Int64("after", 0, "only messages with a larger id (paging)")
	asJSON := fs.Bool("json", false, "print JSON lines")
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	f := mailbox.Filter{Direction: mailbox.Direction(*dir), Mailbox: *mbox, Limit: *limit, AfterID: *after}
	if f.Direction != "" && f.Direction != mailbox.In && f.Direction != mailbox.Out {
		return UsageErrorf(env, fs, "--direction must be in or out")
	}
	if *states != "" {
		for _, s := range strings.Split(*states, ",") {
			f.States = append(f.States, mailbox.State(strings.TrimSpace(s)))
		}
	}
	ctx := context.Background()
	st, err := queueOpenStore(ctx, *data)
	if err != nil {
		return Failf(env, "queue list", "%v", err)
	}
	defer st.Close()
	ms, err := st.List(ctx, f)
	if err != nil {
		return Failf(env, "queue list", "%v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, m := range ms {
			if err := enc.Encode(queueMessageJSON(m)); err != nil {
				return Failf(env, "queue list", "%v", err)
			}
		}
		return ExitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIR\tSTATE\tTRIES\tNEXT\tMAILBOX\tPEER\tMESSAGEID\tLAST ERROR")
	for _, m := range ms {
		peer := m.Recipient
		if m.Direction == mailbox.In {
			peer = m.Sender
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Direction, queueStateLabel(m), m.Attempts, queueWhen(m.NextAttemptAt),
			m.Mailbox, peer, queueDash(m.OSCIMessageID), queueDash(queueOneLine(m.LastErrorCode, m.LastErrorText)))
	}
	tw.Flush()
	return ExitOK
}

func queueStateLabel(m mailbox.Message) string {
	if m.State == mailbox.StateHeld {
		return "held(" + string(m.HeldFrom) + ")"
	}
	return string(m.State)
}

func queueWhen(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func queueDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func queueOneLine(code, text string) string {
	s := strings.TrimSpace(code + " " + text)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

type queueMessageView struct {
	ID            int64              `json:"id"`
	Direction     mailbox.Direction  `json:"direction"`
	Mailbox       string             `json:"mailbox"`
	State         mailbox.State      `json:"state"`
	HeldFrom      mailbox.State      `json:"heldFrom,omitempty"`
	Attempts      int                `json:"attempts"`
	NextAttemptAt string             `json:"nextAttemptAt,omitempty"`
	LeaseOwner    string             `json:"leaseOwner,omitempty"`
	LeaseUntil    string             `json:"leaseUntil,omitempty"`
	OSCIMessageID string             `json:"osciMessageId,omitempty"`
	ContentSHA256 string             `json:"contentSha256"`
	Size          int64              `json:"size"`
	Subject       string             `json:"subject,omitempty"`
	Sender        string             `json:"sender,omitempty"`
	Recipient     string             `json:"recipient,omitempty"`
	LastErrorCode string             `json:"lastErrorCode,omitempty"`
	LastErrorText string             `json:"lastErrorText,omitempty"`
	CreatedAt     string             `json:"createdAt"`
	UpdatedAt     string             `json:"updatedAt"`
	FinalizedAt   string             `json:"finalizedAt,omitempty"`
	Documents     []mailbox.Document `json:"documents,omitempty"`
}

func queueTs(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func queueMessageJSON(m mailbox.Message) queueMessageView {
	return queueMessageView{ID: m.ID, Direction: m.Direction, Mailbox: m.Mailbox, State: m.State, HeldFrom: m.HeldFrom, Attempts: m.Attempts,
		NextAttemptAt: queueTs(m.NextAttemptAt), LeaseOwner: m.LeaseOwner, LeaseUntil: queueTs(m.LeaseUntil), OSCIMessageID: m.OSCIMessageID,
		ContentSHA256: m.ContentSHA256, Size: m.Size, Subject: m.Subject, Sender: m.Sender, Recipient: m.Recipient,
		LastErrorCode: m.LastErrorCode, LastErrorText: m.LastErrorText, CreatedAt: queueTs(m.CreatedAt), UpdatedAt: queueTs(m.UpdatedAt),
		FinalizedAt: queueTs(m.FinalizedAt), Documents: m.Documents}
}

func queueParseID(env *Env, fs *flag.FlagSet) (int64, int) {
	if fs.NArg() != 1 {
		return 0, UsageErrorf(env, fs, "give exactly one message id")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, UsageErrorf(env, fs, "message id %q is not a positive number", fs.Arg(0))
	}
	return id, ExitOK
}

func runQueueShow(env *Env, args []string) int {
	fs := NewFlagSet(env, "queue show [options] ID", "Show one message: its row, documents, Laufzettel, intake record and journal entries.")
	data := queueDataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	id, code := queueParseID(env, fs)
	if code != ExitOK {
		return code
	}
	ctx := context.Background()
	st, err := queueOpenStore(ctx, *data)
	if err != nil {
		return Failf(env, "queue show", "%v", err)
	}
	defer st.Close()
	m, err := st.Get(ctx, id)
	if err != nil {
		return Failf(env, "queue show", "%v", err)
	}
	card, cerr := st.ProcessCard(ctx, id)
	rec, rerr := st.IntakeRecord(ctx, id)
	evs, err := st.MessageEvents(ctx, id)
	if err != nil {
		return Failf(env, "queue show", "%v", err)
	}
	if *asJSON {
		out := map[string]any{"message": queueMessageJSON(m), "journal": evs}
		if cerr == nil {
			out["processCard"] = card
		}
		if rerr == nil {
			out["intake"] = rec
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return Failf(env, "queue show", "%v", err)
		}
		return ExitOK
	}
	queuePrintMessage(env.Stdout, m)
	if cerr == nil {
		fmt.Fprintf(env.Stdout, "laufzettel:   creation %s, forwarding %s, reception %s\n", queueWhen(card.Creation), queueWhen(card.Forwarding), queueWhen(card.Reception))
	}
	if rerr == nil {
		fmt.Fprintf(env.Stdout, "intake:       %s %s at %s (manifest %s)\n", rec.Sink, rec.Location, queueWhen(rec.DeliveredAt), rec.ManifestSHA256)
	}
	fmt.Fprintln(env.Stdout, "journal:")
	for _, e := range evs {
		fmt.Fprintf(env.Stdout, "  #%d %s %s %s\n", e.Seq, queueWhen(e.At), e.Kind, e.Detail)
	}
	return ExitOK
}

func queuePrintMessage(w io.Writer, m mailbox.Message) {
	fmt.Fprintf(w, "id:           %d (%s, mailbox %s)\n", m.ID, m.Direction, m.Mailbox)
	fmt.Fprintf(w, "state:        %s, %d attempts, next %s\n", queueStateLabel(m), m.Attempts, queueWhen(m.NextAttemptAt))
	if m.LeaseOwner != "" {
		fmt.Fprintf(w, "lease:        %s until %s\n", m.LeaseOwner, queueWhen(m.LeaseUntil))
	}
	fmt.Fprintf(w, "messageid:    %s\n", queueDash(m.OSCIMessageID))
	fmt.Fprintf(w, "from/to:      %s → %s\n", queueDash(m.Sender), queueDash(m.Recipient))
	fmt.Fprintf(w, "subject:      %s\n", queueDash(m.Subject))
	fmt.Fprintf(w, "content:      %d bytes, sha256 %s\n", m.Size, m.ContentSHA256)
	if m.LastErrorCode != "" || m.LastErrorText != "" {
		fmt.Fprintf(w, "last error:   %s %s\n", m.LastErrorCode, m.LastErrorText)
	}
	fmt.Fprintf(w, "created:      %s, updated %s, final %s\n", queueWhen(m.CreatedAt), queueWhen(m.UpdatedAt), queueWhen(m.FinalizedAt))
	for _, d := range m.Documents {
		fmt.Fprintf(w, "document:     %s %q %s %d bytes sha256 %s\n", d.Role, d.Name, d.ContentType, d.Size, d.SHA256)
	}
}

func runQueueOp(env *Env, op mailbox.Op, summary string, args []string) int {
	name := "queue " + string(op)
	fs := NewFlagSet(env, name+" [options] ID", strings.ToUpper(summary[:1])+summary[1:]+". The change is journaled with your user name and the reason.")
	data := queueDataFlag(fs)
	reason := fs.String("reason", "", "why (recorded in the journal)")
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	id, code := queueParseID(env, fs)
	if code != ExitOK {
		return code
	}
	ctx := context.Background()
	st, err := queueOpenStore(ctx, *data)
	if err != nil {
		return Failf(env, name, "%v", err)
	}
	defer st.Close()
	actor := "cli"
	if env.Getenv != nil && env.Getenv("USER") != "" {
		actor = "cli:" + env.Getenv("USER")
	}
	m, err := st.Operate(ctx, mailbox.OperatorAction{ID: id, Op: op, Actor: actor, Reason: *reason, Now: time.Now()})
	if err != nil {
		return Failf(env, name, "%v", err)
	}
	fmt.Fprintf(env.Stdout, "message %d: %s\n", m.ID, queueStateLabel(m))
	return ExitOK
}

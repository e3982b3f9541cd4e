package gateway

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

const messagesSummary = "list, show, download and steer messages of a running gateway"

func init() {
	registerSub("messages", messagesSummary, &Command{Name: "list", Summary: "list messages (filters, paging)", Run: runMessagesList})
	registerSub("messages", messagesSummary, &Command{Name: "show", Summary: "show a message with its process card and events", Run: runMessagesShow})
	registerSub("messages", messagesSummary, &Command{Name: "download", Summary: "download the documents of a message", Run: runMessagesDownload})
	for _, op := range []struct {
		op      mailbox.Op
		summary string
	}{
		{mailbox.OpRequeue, "send (or hand to the intake) again now; a failed message starts afresh"},
		{mailbox.OpHold, "stop a message until it is released"},
		{mailbox.OpRelease, "let a held message continue where it stopped"},
	} {
		registerSub("messages", messagesSummary, &Command{Name: string(op.op), Summary: op.summary,
			Run: func(env *Env, args []string) int { return runMessagesOp(env, op.op, op.summary, args) }})
	}
}

func runMessagesList(env *Env, args []string) int {
	fs := NewFlagSet(env, "messages list [options]", "List messages, oldest first. --all follows the pages to the end.")
	af := addAPIFlags(fs)
	dir := fs.String("direction", "", "in or out")
	state := fs.String("state", "", "only these states (comma-separated, e.g. failed,held)")
	mb := fs.String("mailbox", "", "only this mailbox")
	after := fs.Int64("after", 0, "start after this message id")
	limit := fs.Int("limit", 50, "messages per page (1-500)")
	all := fs.Bool("all", false, "follow every page")
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	q := url.Values{}
	for k, v := range map[string]string{"direction": *dir, "state": *state, "mailbox": *mb} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *after > 0 {
		q.Set("after", strconv.FormatInt(*after, 10))
	}
	q.Set("limit", strconv.Itoa(*limit))
	return apiCommand(env, "messages list", af, func(ctx context.Context, c *APIClient) error {
		page, err := c.ListMessages(ctx, q)
		if err != nil {
			return err
		}
		out := page.Messages
		for *all && page.Next != "" {
			if page, err = c.NextPage(ctx, page.Next); err != nil {
				return err
			}
			out = append(out, page.Messages...)
		}
		if af.json {
			return printJSON(env.Stdout, MessageList{Messages: out, Next: page.Next})
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDIR\tMAILBOX\tSTATE\tPEER\tSIZE\tCREATED\tLAST ERROR")
		for _, m := range out {
			peer := m.Recipient
			if m.Direction == "in" {
				peer = m.Sender
			}
			st := m.State
			if m.HeldFrom != "" {
				st += " (from " + m.HeldFrom + ")"
			}
			lastErr := "-"
			if m.LastError != nil {
				lastErr = m.LastError.Code
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Direction, m.Mailbox, st, cliDash(peer), m.Size, cliTime(m.CreatedAt), lastErr)
		}
		tw.Flush()
		if page.Next != "" {
			fmt.Fprintf(env.Stdout, "more: --after %d (or --all)\n", out[len(out)-1].ID)
		}
		return nil
	})
}

// messageIDArg parses the single ID argument of a messages subcommand.
func messageIDArg(env *Env, fs *flag.FlagSet, extra bool) (int64, int) {
	if fs.NArg() < 1 || (!extra && fs.NArg() > 1) {
		return 0, UsageErrorf(env, fs, "give one message ID")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return 0, UsageErrorf(env, fs, "%q is not a message ID", fs.Arg(0))
	}
	return id, ExitOK
}

func runMessagesShow(env *Env, args []string) int {
	fs := NewFlagSet(env, "messages show [options] ID", "Show a message: state, documents, process card (Laufzettel) and journal events.")
	af := addAPIFlags(fs)
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	id, code := messageIDArg(env, fs, false)
	if code != ExitOK {
		return code
	}
	return apiCommand(env, "messages show", af, func(ctx context.Context, c *APIClient) error {
		m, err := c.GetMessage(ctx, id)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, m)
		}
		printMessageView(env.Stdout, m)
		return nil
	})
}

func printMessageView(w io.Writer, m MessageView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("id", strconv.FormatInt(m.ID, 10))
	row("direction", m.Direction)
	row("mailbox", m.Mailbox)
	st := m.State
	if m.HeldFrom != "" {
		st += " (held from " + m.HeldFrom + ")"
	}
	row("state", st)
	row("attempts", strconv.Itoa(m.Attempts))
	row("next attempt", cliTime(m.NextAttemptAt))
	row("OSCI MessageId", cliDash(m.OSCIMessageID))
	row("from", cliDash(m.Sender))
	row("to", cliDash(m.Recipient))
	row("subject", cliDash(m.Subject))
	row("size", fmt.Sprintf("%d bytes, sha256 %s", m.Size, m.ContentSHA256))
	if m.LastError != nil {
		row("last error", m.LastError.Code+" "+m.LastError.Text)
	}
	row("created", cliTime(m.CreatedAt))
	row("updated", cliTime(m.UpdatedAt))
	row("final", cliTime(m.FinalizedAt))
	if c := m.ProcessCard; c != nil {
		row("Laufzettel", c.OSCIMessageID)
		row("  creation", cliTime(c.Creation))
		row("  forwarding", cliTime(c.Forwarding))
		row("  reception", cliTime(c.Reception))
	}
	if in := m.Intake; in != nil {
		row("intake", fmt.Sprintf("%s %s at %s", in.Sink, in.Location, cliTime(in.DeliveredAt)))
	}
	tw.Flush()
	if len(m.Documents) > 0 {
		fmt.Fprintln(w, "\nDocuments:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "N\tNAME\tTYPE\tSIZE\tSHA-256")
		for _, d := range m.Documents {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", d.N, d.Name, d.ContentType, d.Size, d.SHA256)
		}
		tw.Flush()
	}
	if len(m.Events) > 0 {
		fmt.Fprintln(w, "\nEvents:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range m.Events {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Seq, cliTime(e.At), e.Kind, string(e.Detail))
		}
		tw.Flush()
	}
}

func runMessagesDownload(env *Env, args []string) int {
	fs := NewFlagSet(env, "messages download [options] ID [N...]",
		"Download documents of a message into a directory (all, or the numbers N from 'messages show').\n"+
			"Each file is checked against the SHA-256 the gateway announces; existing files are never overwritten.")
	af := addAPIFlags(fs)
	dir := fs.String("dir", ".", "directory to write the documents to")
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	id, code := messageIDArg(env, fs, true)
	if code != ExitOK {
		return code
	}
	var ns []int
	for _, a := range fs.Args()[1:] {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return UsageErrorf(env, fs, "%q is not a document number", a)
		}
		ns = append(ns, n)
	}
	return apiCommand(env, "messages download", af, func(ctx context.Context, c *APIClient) error {
		if len(ns) == 0 {
			m, err := c.GetMessage(ctx, id)
			if err != nil {
				return err
			}
			for _, d := range m.Documents {
				ns = append(ns, d.N)
			}
		}
		for _, n := range ns {
			path, sum, err := downloadOne(ctx, c, id, n, *dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s\tsha256 %s\n", path, sum)
		}
		return nil
	})
}

// downloadOne writes one document to a temporary file in dir and renames
// it to its name once complete and verified.
func downloadOne(ctx context.Context, c *APIClient, id int64, n int, dir string) (string, string, error) {
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	name, sum, err := c.Download(ctx, id, n, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	name = mailbox.SafeFileName(name)
	target := filepath.Join(dir, name)
	// Link instead of rename: it fails if the target exists. File systems
	// without hard links get a rename after a check.
	err = os.Link(tmp.Name(), target)
	if errors.Is(err, os.ErrExist) {
		return "", "", fmt.Errorf("%s exists; not overwritten", target)
	}
	if err != nil {
		if _, serr := os.Lstat(target); serr == nil {
			return "", "", fmt.Errorf("%s exists; not overwritten", target)
		}
		if err := os.Rename(tmp.Name(), target); err != nil {
			return "", "", err
		}
	}
	return target, sum, nil
}

func runMessagesOp(env *Env, op mailbox.Op, summary string, args []string) int {
	name := "messages " + string(op)
	fs := NewFlagSet(env, name+" [options] ID", "Ask the gateway to "+summary+". The change is journaled with your token's name and the reason.")
	af := addAPIFlags(fs)
	reason := fs.String("reason", "", "why (recorded in the journal)")
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	id, code := messageIDArg(env, fs, false)
	if code != ExitOK {
		return code
	}
	return apiCommand(env, name, af, func(ctx context.Context, c *APIClient) error {
		m, err := c.Operate(ctx, id, string(op), *reason)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, m)
		}
		fmt.Fprintf(env.Stdout, "message %d: %s\n", m.ID, m.State)
		return nil
	})
}

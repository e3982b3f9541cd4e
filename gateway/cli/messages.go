package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// messageSource is where the messages commands read and act: the API of a
// running gateway or a data directory.
type messageSource interface {
	List(ctx context.Context, q url.Values) (api.MessageList, error)
	NextPage(ctx context.Context, next string) (api.MessageList, error)
	Get(ctx context.Context, id int64) (api.MessageView, error)
	Operate(ctx context.Context, id int64, op mailbox.Op, reason string) (api.MessageView, error)
	// Download writes document n to w and returns its name and SHA-256,
	// checked against what the gateway recorded.
	Download(ctx context.Context, id int64, n int, w io.Writer) (string, string, error)
	// Reprocess reads a parked delivery again (mailbox.Reprocess).
	Reprocess(ctx context.Context, id int64) (api.MessageView, error)
	// ClearFetch forgets the reads counted for a skipped delivery.
	ClearFetch(ctx context.Context, mailbox, osciMessageID string) error
	Close() error
}

// sourceFlags are the options that say where the messages are.
type sourceFlags struct {
	*apiFlags
	data string
}

func addSourceFlags(fs *flag.FlagSet) *sourceFlags {
	f := &sourceFlags{apiFlags: addAPIFlags(fs)}
	fs.StringVar(&f.data, "data", "", "work on this data directory instead of through the API (also while the gateway is stopped); with --config, on the store it names (PostgreSQL too)")
	return f
}

// run opens the source and runs fn with a context bounded by --timeout.
func (f *sourceFlags) run(env *Env, fn func(ctx context.Context, src messageSource) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	var src messageSource
	if f.data != "" {
		st, err := openStoreSource(ctx, env, f.data, f.config)
		if err != nil {
			return err
		}
		st.actor = cliActor(env)
		src = st
	} else {
		c, err := f.client(env)
		if err != nil {
			return err
		}
		src = apiSource{c}
	}
	defer src.Close()
	return explainAPIError(fn(ctx, src))
}

func runMessagesList(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	dir := fs.String("direction", "", "in or out")
	state := fs.String("state", "", "only these states (comma-separated, e.g. failed,held,quarantined)")
	mb := fs.String("mailbox", "", "only this mailbox")
	after := fs.Int64("after", 0, "start after this message id")
	limit := fs.Int("limit", 50, "messages per page (1-500)")
	all := fs.Bool("all", false, "follow every page")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
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
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		page, err := src.List(ctx, q)
		if err != nil {
			return err
		}
		out := page.Messages
		for *all && page.Next != "" {
			if page, err = src.NextPage(ctx, page.Next); err != nil {
				return err
			}
			out = append(out, page.Messages...)
		}
		return answer(env, sf.apiFlags, api.MessageList{Messages: out, Next: page.Next}, nil, func(w io.Writer, l api.MessageList) error {
			tw := newTable(w, "ID\tDIR\tMAILBOX\tSTATE\tTRIES\tPEER\tSIZE\tCREATED\tMESSAGEID\tLAST ERROR")
			for _, m := range l.Messages {
				peer := m.Recipient
				if m.Direction == string(mailbox.In) {
					peer = m.Sender
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\n", m.ID, m.Direction, m.Mailbox, stateLabel(m), m.Attempts,
					cliDash(peer), m.Size, cliTime(m.CreatedAt), cliDash(m.OSCIMessageID), cliDash(oneLine(m.LastError)))
			}
			if err := tw.Flush(); err != nil || l.Next == "" || *all {
				return err
			}
			_, err := fmt.Fprintf(w, "more: --after %d (or --all)\n", l.Messages[len(l.Messages)-1].ID)
			return err
		})
	})
}

func stateLabel(m api.MessageView) string {
	if m.HeldFrom != "" {
		return "held(" + m.HeldFrom + ")"
	}
	return m.State
}

func oneLine(e *api.ErrorView) string {
	if e == nil {
		return ""
	}
	s := strings.Join(strings.Fields(e.Code+" "+e.Text), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

// parseMessageID parses args (options anywhere) and the message ID, the
// first argument; more arguments are refused unless extra.
func parseMessageID(env *Env, fs *flag.FlagSet, args []string, extra bool) (int64, error) {
	if err := parseInterspersed(env, fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() < 1 || (!extra && fs.NArg() > 1) {
		return 0, usageErrorf(fs, "give one message ID")
	}
	return argID(fs, "message ID")
}

func runMessagesShow(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	id, err := parseMessageID(env, fs, args, false)
	if err != nil {
		return err
	}
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		m, err := src.Get(ctx, id)
		return answer(env, sf.apiFlags, m, err, printMessageView)
	})
}

func printMessageView(w io.Writer, m api.MessageView) error {
	tw, row := fieldTable(w)
	row("id", strconv.FormatInt(m.ID, 10))
	row("direction", m.Direction)
	row("mailbox", m.Mailbox)
	row("state", stateLabel(m))
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
		tw = newTable(w, "N\tNAME\tTYPE\tSIZE\tSHA-256")
		for _, d := range m.Documents {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\n", d.N, d.Name, d.ContentType, d.Size, d.SHA256)
		}
		tw.Flush()
	}
	printMessageEEB(w, m.EEB)
	if len(m.Events) > 0 {
		fmt.Fprintln(w, "\nEvents:")
		tw = newTable(w, "")
		for _, e := range m.Events {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Seq, cliTime(e.At), e.Kind, string(e.Detail))
		}
		return tw.Flush()
	}
	return nil
}

func runMessagesDownload(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	dir := fs.String("dir", ".", "directory to write the documents to")
	id, err := parseMessageID(env, fs, args, true)
	if err != nil {
		return err
	}
	var ns []int
	for _, a := range fs.Args()[1:] {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return usageErrorf(fs, "%q is not a document number", a)
		}
		ns = append(ns, n)
	}
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		if len(ns) == 0 {
			m, err := src.Get(ctx, id)
			if err != nil {
				return err
			}
			for _, d := range m.Documents {
				ns = append(ns, d.N)
			}
		}
		for _, n := range ns {
			path, sum, err := downloadOne(ctx, src, id, n, *dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s\tsha256 %s\n", path, sum)
		}
		return nil
	})
}

// downloadOne writes one document to a temporary file in dir and links it
// to its name once complete and verified.
func downloadOne(ctx context.Context, src messageSource, id int64, n int, dir string) (string, string, error) {
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	name, sum, err := src.Download(ctx, id, n, tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", err
	}
	target := filepath.Join(dir, mailbox.SafeFileName(name))
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

func runMessagesOp(env *Env, fs *flag.FlagSet, op mailbox.Op, args []string) error {
	sf := addSourceFlags(fs)
	reason := fs.String("reason", "", "why (recorded in the journal)")
	id, err := parseMessageID(env, fs, args, false)
	if err != nil {
		return err
	}
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		m, err := src.Operate(ctx, id, op, *reason)
		return answer(env, sf.apiFlags, m, err, printMessageState)
	})
}

// printMessageState is the one line a command that changed a message
// answers with.
func printMessageState(w io.Writer, m api.MessageView) error {
	_, err := fmt.Fprintf(w, "message %d: %s\n", m.ID, stateLabel(m))
	return err
}

// cliActor names who acts with --data: the user running the command.
func cliActor(env *Env) string {
	if u := env.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func runMessagesReprocess(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	id, err := parseMessageID(env, fs, args, false)
	if err != nil {
		return err
	}
	if sf.data != "" && sf.config == "" {
		return usageErrorf(fs, "with --data, give --config FILE: reading a delivery needs the mailbox's keys")
	}
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		if ds, ok := src.(*dataSource); ok {
			get, done, err := gateway.OfflineReprocessors(ctx, sf.config, env.Getenv)
			if err != nil {
				return err
			}
			defer done()
			ds.reprocessor = get
		}
		m, err := src.Reprocess(ctx, id)
		return answer(env, sf.apiFlags, m, err, func(w io.Writer, m api.MessageView) error {
			if m.State == string(mailbox.StateQuarantined) && m.LastError != nil {
				_, err := fmt.Fprintf(w, "message %d: still unreadable: %s\n", m.ID, m.LastError.Text)
				return err
			}
			return printMessageState(w, m)
		})
	})
}

func runMessagesClearFetch(env *Env, fs *flag.FlagSet, args []string) error {
	sf := addSourceFlags(fs)
	if err := parseInterspersed(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) == "" || fs.Arg(1) == "" {
		return usageErrorf(fs, "give MAILBOX and MESSAGEID")
	}
	return sf.run(env, func(ctx context.Context, src messageSource) error {
		err := src.ClearFetch(ctx, fs.Arg(0), fs.Arg(1))
		res := api.ClearFetchResponse{Mailbox: fs.Arg(0), OSCIMessageID: fs.Arg(1), Cleared: true}
		return answer(env, sf.apiFlags, res, err, func(w io.Writer, res api.ClearFetchResponse) error {
			_, err := fmt.Fprintf(w, "%s %s: read again at the next poll\n", res.Mailbox, res.OSCIMessageID)
			return err
		})
	})
}

// apiSource reads and acts through the admin API.
type apiSource struct{ c *api.Client }

func (s apiSource) List(ctx context.Context, q url.Values) (api.MessageList, error) {
	return s.c.ListMessages(ctx, q)
}
func (s apiSource) NextPage(ctx context.Context, next string) (api.MessageList, error) {
	return s.c.NextPage(ctx, next)
}
func (s apiSource) Get(ctx context.Context, id int64) (api.MessageView, error) {
	return s.c.GetMessage(ctx, id)
}
func (s apiSource) Operate(ctx context.Context, id int64, op mailbox.Op, reason string) (api.MessageView, error) {
	return s.c.Operate(ctx, id, string(op), reason)
}
func (s apiSource) Download(ctx context.Context, id int64, n int, w io.Writer) (string, string, error) {
	return s.c.Download(ctx, id, n, w)
}
func (s apiSource) Reprocess(ctx context.Context, id int64) (api.MessageView, error) {
	return s.c.Reprocess(ctx, id)
}
func (s apiSource) ClearFetch(ctx context.Context, mailboxName, osciMessageID string) error {
	return s.c.ClearFetch(ctx, mailboxName, osciMessageID)
}
func (s apiSource) Close() error { return nil }

// dataSource reads and acts on a gateway's store and blobs directly.
type dataSource struct {
	st    dataStore
	blobs *mailbox.Blobs
	dir   string
	actor string
	// reprocessor reads deliveries again (built from --config).
	reprocessor func(mailbox string) (mailbox.Reprocessor, error)
}

func (s *dataSource) List(ctx context.Context, q url.Values) (api.MessageList, error) {
	f, err := api.ParseFilter(q, 50)
	if err != nil {
		return api.MessageList{}, err
	}
	ms, err := s.st.List(ctx, f)
	if err != nil {
		return api.MessageList{}, err
	}
	return api.ListPage(ms, f, q, ""), nil
}

func (s *dataSource) NextPage(ctx context.Context, next string) (api.MessageList, error) {
	u, err := url.Parse(next)
	if err != nil {
		return api.MessageList{}, err
	}
	return s.List(ctx, u.Query())
}

func (s *dataSource) Get(ctx context.Context, id int64) (api.MessageView, error) {
	v, err := api.Detail(ctx, s.st, id)
	if err != nil {
		return v, err
	}
	return v, s.attachEEB(ctx, &v)
}

func (s *dataSource) Operate(ctx context.Context, id int64, op mailbox.Op, reason string) (api.MessageView, error) {
	m, err := s.st.Operate(ctx, mailbox.OperatorAction{ID: id, Op: op, Actor: s.actor, Reason: reason, Now: time.Now()})
	if err != nil {
		return api.MessageView{}, err
	}
	return api.ViewMessage(m), nil
}

func (s *dataSource) Download(ctx context.Context, id int64, n int, w io.Writer) (string, string, error) {
	m, err := s.st.Get(ctx, id)
	if err != nil {
		return "", "", err
	}
	if n >= len(m.Documents) {
		return "", "", fmt.Errorf("message %d has documents 0-%d, not %d", id, len(m.Documents)-1, n)
	}
	d := m.Documents[n]
	body, err := s.blobs.Open(d.SHA256)
	if err != nil {
		return "", "", err
	}
	defer body.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), body); err != nil {
		return "", "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.SHA256 {
		return "", "", fmt.Errorf("%w: stored document %d of message %d", api.ErrDownloadCorrupt, n, id)
	}
	return d.Name, d.SHA256, nil
}

func (s *dataSource) Reprocess(ctx context.Context, id int64) (api.MessageView, error) {
	m, err := s.st.Get(ctx, id)
	if err != nil {
		return api.MessageView{}, err
	}
	if s.reprocessor == nil {
		return api.MessageView{}, api.ErrNoReprocessor
	}
	rp, err := s.reprocessor(m.Mailbox)
	if err != nil {
		return api.MessageView{}, err
	}
	if m, err = mailbox.Reprocess(ctx, s.st, s.blobs, rp, id, s.actor, time.Now()); err != nil {
		return api.MessageView{}, err
	}
	return api.ViewMessage(m), nil
}

func (s *dataSource) ClearFetch(ctx context.Context, mailboxName, osciMessageID string) error {
	return s.st.EndFetch(ctx, mailbox.FetchEnd{Mailbox: mailboxName, OSCIMessageID: osciMessageID, Now: time.Now(), Clear: true, Actor: s.actor})
}

func (s *dataSource) Close() error { return s.st.Close() }

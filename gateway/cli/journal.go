package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func runJournalVerify(env *Env, args []string) error {
	fs := newFlagSet(env, "journal verify --data DIR",
		"Check that the journal's entries are contiguous, each carries the SHA-256 of the one before, and\n"+
			"the journal reaches the head kept outside it (gateway.db.journal-head, written with every entry):\n"+
			"entries cut off the end, reordered or edited make it fail, naming the first bad entry.\n"+
			"Compare the head it prints with the heads the gateway logs at start, at stop and every hour.")
	data := fs.String("data", "", "the gateway's data directory (required)")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if *data == "" {
		return usageErrorf(fs, "--data is required")
	}
	ctx := context.Background()
	src, err := openDataStore(ctx, *data)
	if err != nil {
		return err
	}
	defer src.Close()
	r, err := mailbox.VerifyJournal(ctx, src.st)
	if err != nil {
		if r.BrokenAt != 0 {
			return fmt.Errorf("journal broken at entry %d: %s (%d entries before it are intact)", r.BrokenAt, r.Reason, r.Entries)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "journal intact: %d entries, head #%d %s\n", r.Entries, r.HeadSeq, r.HeadHash)
	if r.AnchorBehind > 0 {
		fmt.Fprintf(env.Stdout, "note: the head kept outside the journal is %d entries behind (#%d): the gateway stopped before it was written; it is brought up to date at the next start\n",
			r.AnchorBehind, r.Anchor.Seq)
	}
	return nil
}

func runJournalReanchor(env *Env, args []string) error {
	fs := newFlagSet(env, "journal reanchor --data DIR --reason TEXT",
		"Write the journal's current head to the file kept outside it, after that file was lost or database\n"+
			"and head file were restored from different backups. Check the journal against the heads the gateway\n"+
			"logged first: this makes the journal as it is now the reference. The gateway must be stopped;\n"+
			"the step is journaled with your user name and the reason.")
	data := fs.String("data", "", "the gateway's data directory (required)")
	reason := fs.String("reason", "", "why (required; recorded in the journal)")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if *data == "" || *reason == "" {
		return usageErrorf(fs, "--data and --reason are required")
	}
	lock, err := gateway.LockDataDir(*data)
	if err != nil {
		return fmt.Errorf("%w (stop the gateway first)", err)
	}
	defer lock.Close()
	ctx := context.Background()
	src, err := openDataStore(ctx, *data)
	if err != nil {
		return err
	}
	defer src.Close()
	actor := "cli"
	if u := env.Getenv("USER"); u != "" {
		actor = "cli:" + u
	}
	h, err := src.st.Reanchor(ctx, actor+" ("+*reason+")", time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "journal head anchored at #%d %s\n", h.Seq, h.Hash)
	return nil
}

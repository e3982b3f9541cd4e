package cli

import (
	"context"
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func runJournalVerify(env *Env, args []string) error {
	fs := newFlagSet(env, "journal verify [options]",
		"Check that the journal's entries are contiguous and each carries the SHA-256 of the one before.\n"+
			"Prints the head hash: keep it elsewhere to detect a journal cut short later.")
	data := fs.String("data", "", "the gateway's data directory (required)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
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
	return nil
}

package gateway

import (
	"context"
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

const journalSummary = "check the audit journal"

func init() {
	registerSub("journal", journalSummary, &Command{Name: "verify", Summary: "verify the hash chain of the audit journal", Run: runJournalVerify})
}

func runJournalVerify(env *Env, args []string) int {
	fs := NewFlagSet(env, "journal verify [options]",
		"Check that the journal's entries are contiguous and each carries the SHA-256 of the one before.\n"+
			"Prints the head hash: keep it elsewhere to detect a journal cut short later.")
	data := queueDataFlag(fs)
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	ctx := context.Background()
	st, err := queueOpenStore(ctx, *data)
	if err != nil {
		return Failf(env, "journal verify", "%v", err)
	}
	defer st.Close()
	r, err := mailbox.VerifyJournal(ctx, st)
	if err != nil {
		if r.BrokenAt != 0 {
			return Failf(env, "journal verify", "journal broken at entry %d: %s (%d entries before it are intact)", r.BrokenAt, r.Reason, r.Entries)
		}
		return Failf(env, "journal verify", "%v", err)
	}
	fmt.Fprintf(env.Stdout, "journal intact: %d entries, head #%d %s\n", r.Entries, r.HeadSeq, r.HeadHash)
	return ExitOK
}

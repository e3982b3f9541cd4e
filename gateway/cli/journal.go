package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func runJournalVerify(env *Env, fs *flag.FlagSet, args []string) error {
	data := fs.String("data", "", "the gateway's data directory")
	cfgPath := fs.String("config", "", "gateway configuration (instead of --data): the store it names, PostgreSQL too")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	switch {
	case *data == "" && *cfgPath == "":
		return usageErrorf(fs, "--data is required (or --config FILE)")
	case *data != "" && *cfgPath != "":
		return usageErrorf(fs, "give either --data DIR or --config FILE")
	}
	ctx := context.Background()
	var st mailbox.Store
	if *cfgPath != "" {
		s, err := openConfiguredStore(ctx, env, *cfgPath)
		if err != nil {
			return err
		}
		defer s.Close()
		st = s
	} else {
		src, err := openDataStore(ctx, *data)
		if err != nil {
			return err
		}
		defer src.Close()
		st = src.st
	}
	r, err := mailbox.VerifyJournal(ctx, st)
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

func runJournalReanchor(env *Env, fs *flag.FlagSet, args []string) error {
	data := fs.String("data", "", "the gateway's data directory (or --config FILE)")
	cfgPath := fs.String("config", "", "gateway configuration: its data_dir and the store it names, PostgreSQL too")
	reason := fs.String("reason", "", "why (required; recorded in the journal)")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if (*data == "" && *cfgPath == "") || *reason == "" {
		return usageErrorf(fs, "--data DIR (or --config FILE) and --reason are required")
	}
	dir := *data
	if dir == "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		dir = cfg.DataDir
	}
	lock, err := gateway.LockDataDir(dir)
	if err != nil {
		return fmt.Errorf("%w (stop the gateway first)", err)
	}
	defer lock.Close()
	ctx := context.Background()
	src, err := openStoreSource(ctx, env, *data, *cfgPath)
	if err != nil {
		return err
	}
	defer src.Close()
	h, err := src.st.Reanchor(ctx, cliActor(env)+" ("+*reason+")", time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "journal head anchored at #%d %s\n", h.Seq, h.Hash)
	return nil
}

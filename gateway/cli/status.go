package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
)

func runStatus(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	ready := true
	err := apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		rep, err := c.Status(ctx)
		ready = rep.Ready.Ready
		return answer(env, af, rep, err, printStatus)
	})
	if err == nil && !ready {
		return fmt.Errorf("the gateway is not ready")
	}
	return err
}

func printStatus(w io.Writer, rep api.StatusReport) error {
	state := "ready"
	if !rep.Ready.Ready {
		state = "NOT READY"
	}
	fmt.Fprintf(w, "gateway %s: %s (at %s)\n\n", rep.Version, state, cliTime(rep.Now))
	tw := newTable(w, "CHECK\tOK\tDETAIL")
	for _, c := range rep.Ready.Checks {
		ok := "yes"
		if !c.OK {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, ok, cliDash(c.Detail))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTable(w, "MAILBOX\tSAFE-ID\tPOLL EVERY\tLAST POLL\tOK")
	for _, m := range rep.Mailboxes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", m.Name, cliDash(m.SafeID), cliDash(m.PollInterval), cliTime(m.LastPollAt), m.LastPollOK)
	}
	tw.Flush()
	printIntermediaries(w, rep)
	printDirectoryExpiry(w, rep)
	if rep.Counts == nil {
		return nil
	}
	fmt.Fprintln(w)
	tw = newTable(w, "DIRECTION\tSTATE\tMESSAGES")
	for _, dir := range []string{"out", "in"} {
		var states []string
		for st := range rep.Counts.ByState[dir] {
			states = append(states, st)
		}
		sort.Strings(states)
		for _, st := range states {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", dir, st, rep.Counts.ByState[dir][st])
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nqueue depth: %d outgoing, %d incoming\n", rep.Counts.QueueDepth["out"], rep.Counts.QueueDepth["in"])
	var mbs []string
	for mb := range rep.Counts.IntakeBacklog {
		mbs = append(mbs, mb)
	}
	sort.Strings(mbs)
	for _, mb := range mbs {
		fmt.Fprintf(w, "intake backlog %s: %d\n", mb, rep.Counts.IntakeBacklog[mb])
	}
	return nil
}

// printIntermediaries shows each intermediary's health: whether requests
// reach it, since when they fail, and until when its circuit holds sends
// to it back.
func printIntermediaries(w io.Writer, rep api.StatusReport) {
	if len(rep.Intermediaries) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := newTable(w, "INTERMEDIARY	STATE	FAILURES	LAST ANSWER	LAST FAILURE	RETRY AT	LAST ERROR")
	for _, v := range rep.Intermediaries {
		retry := "-"
		if v.State == "open" {
			retry = cliTime(v.OpenUntil)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", v.Name, v.State, v.ConsecutiveFailures, cliTime(v.LastSuccess),
			cliTime(v.LastFailure), retry, cliDash(v.LastError))
	}
	tw.Flush()
}

// printDirectoryExpiry shows, per intermediary, the address book entries'
// earliest cipher certificate expiry and how many expire within 30 days.
func printDirectoryExpiry(w io.Writer, rep api.StatusReport) {
	if len(rep.Directory) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DIRECTORY AT\tENTRIES\tEARLIEST CERT EXPIRY\tDAYS\tSAFE-ID\tEXPIRING <30 DAYS")
	for _, d := range rep.Directory {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%d\n", d.Intermediary, d.Entries, cliTime(d.EarliestExpiry), d.EarliestDays, d.EarliestSafeID, d.ExpiringSoon)
	}
	tw.Flush()
}

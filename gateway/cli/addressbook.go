package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
)

func runAddressList(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		es, err := c.Addresses(ctx)
		return answer(env, af, api.AddressList{Entries: es}, err, func(w io.Writer, l api.AddressList) error {
			tw := newTable(w, "SAFE-ID\tNAME\tORGANISATION\tCERT EXPIRES\tFINGERPRINT")
			for _, e := range l.Entries {
				fp := e.Fingerprint
				if len(fp) > 16 {
					fp = fp[:16] + "…"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.SafeID, e.Name, cliDash(e.Organisation), cliTime(e.CertExpires), fp)
			}
			return tw.Flush()
		})
	})
}

func runAddressShow(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	if err := parseArgs(env, fs, args, 1, "one SAFE-ID"); err != nil {
		return err
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		e, err := c.Address(ctx, fs.Arg(0))
		return answer(env, af, e, err, func(w io.Writer, e addressbook.Recipient) error {
			tw := newTable(w, "")
			for _, kv := range [][2]string{{"SAFE-ID", e.SafeID}, {"name", e.Name}, {"organisation", cliDash(e.Organisation)},
				{"court", cliDash(strings.TrimSpace(e.CourtCode + " " + e.CourtName))},
				{"intermediary", cliDash(e.Intermediary + e.IntermediaryURL)}, {"certificate", e.CertSubject}, {"expires", cliTime(e.CertExpires)},
				{"sha256", e.Fingerprint}, {"updated", cliTime(e.UpdatedAt)}} {
				fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
			}
			return tw.Flush()
		})
	})
}

func runAddressWrite(env *Env, fs *flag.FlagSet, verb string, args []string) error {
	af := addAPIFlags(fs)
	var r addressbook.Recipient
	fs.StringVar(&r.SafeID, "safe-id", "", "the recipient's SAFE-ID (required)")
	fs.StringVar(&r.Name, "name", "", "display name (required)")
	fs.StringVar(&r.Organisation, "organisation", "", "organisation")
	fs.StringVar(&r.Intermediary, "intermediary", "", "the configured name of the recipient's intermediary (default: the sending mailbox's own)")
	fs.StringVar(&r.CourtCode, "court", "", "the recipient's court code in GDS.Gerichte (e.g. F1100)")
	cert := fs.String("cert", "", "PEM file with the recipient's cipher certificate (required)")
	if err := parseInterspersed(env, fs, args); err != nil {
		return err
	}
	if err := requireFlags(fs, map[string]string{"--safe-id": r.SafeID, "--name": r.Name, "--cert": *cert}); err != nil {
		return err
	}
	pem, err := os.ReadFile(*cert)
	if err != nil {
		return fmt.Errorf("%v", err)
	}
	r.CipherCert = string(pem)
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		var e addressbook.Recipient
		var err error
		if verb == "add" {
			e, err = c.AddAddress(ctx, r)
		} else {
			e, err = c.UpdateAddress(ctx, r)
		}
		return answer(env, af, e, err, func(w io.Writer, e addressbook.Recipient) error {
			_, err := fmt.Fprintf(w, "%s: %s (intermediary %s, certificate %s, expires %s)\n", e.SafeID, e.Name,
				cliDash(e.Intermediary+e.IntermediaryURL), e.CertSubject, cliTime(e.CertExpires))
			return err
		})
	})
}

func requireFlags(fs *flag.FlagSet, need map[string]string) error {
	for _, f := range []string{"--safe-id", "--name", "--cert"} {
		if v, ok := need[f]; ok && v == "" {
			return usageErrorf(fs, "%s is required", f)
		}
	}
	if fs.NArg() != 0 {
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func runAddressDelete(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	if err := parseArgs(env, fs, args, 1, "one SAFE-ID"); err != nil {
		return err
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		if err := c.DeleteAddress(ctx, fs.Arg(0)); err != nil {
			return err
		}
		if !af.json {
			fmt.Fprintf(env.Stdout, "%s deleted\n", fs.Arg(0))
		}
		return nil
	})
}

func runAddressImport(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	format := fs.String("format", "", "json or csv (default: from the file extension)")
	dryRun := fs.Bool("dry-run", false, "check the file and print what would change, without changing anything")
	if err := parseArgs(env, fs, args, 1, "one FILE"); err != nil {
		return err
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(fs.Arg(0))), ".")
	}
	ct := map[string]string{addressbook.FormatJSON: "application/json", addressbook.FormatCSV: "text/csv"}[f]
	if ct == "" {
		return usageErrorf(fs, "cannot tell the format of %q: give --format json or --format csv", fs.Arg(0))
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		res, err := c.ImportAddresses(ctx, data, ct, *dryRun)
		return answer(env, af, res, err, func(w io.Writer, res addressbook.ImportResult) error {
			for _, ch := range res.Changes {
				fmt.Fprintf(w, "%-6s %s %s\n", ch.Action, ch.SafeID, strings.Join(ch.Fields, ", "))
			}
			verb := "imported"
			if res.DryRun {
				verb = "dry run, nothing changed"
			}
			_, err := fmt.Fprintf(w, "%s: %d added, %d updated, %d unchanged\n", verb, res.Added, res.Updated, res.Unchanged)
			return err
		})
	})
}

func runAddressLookup(env *Env, fs *flag.FlagSet, args []string) error {
	af := addAPIFlags(fs)
	if err := parseArgs(env, fs, args, 1, "one TEXT"); err != nil {
		return err
	}
	return apiCommand(env, af, func(ctx context.Context, c *api.Client) error {
		es, err := c.LookupAddresses(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if err := answer(env, af, api.AddressList{Entries: es}, nil, printLookup); err != nil {
			return err
		}
		if len(es) == 0 {
			if af.json {
				return errFailed
			}
			return fmt.Errorf("kein Eintrag gefunden für %q", fs.Arg(0))
		}
		return nil
	})
}

// printLookup shows found entries for clerks: German headings and dates.
func printLookup(w io.Writer, l api.AddressList) error {
	if len(l.Entries) == 0 {
		return nil
	}
	tw := newTable(w, "NAME\tSAFE-ID\tGERICHT\tINTERMEDIÄR\tZERTIFIKAT GÜLTIG BIS")
	for _, e := range l.Entries {
		court := cliDash(strings.TrimSpace(e.CourtCode + " " + e.CourtName))
		im := e.Intermediary + e.IntermediaryURL
		if im == "" {
			im = "(eigener des Postfachs)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.SafeID, court, im, germanDate(e.CertExpires))
	}
	return tw.Flush()
}

// germanDate is a day as clerks write it (31.12.2027), in German time.
func germanDate(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(api.Berlin).Format("02.01.2006")
}

package gateway

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

const addressbookSummary = "manage the recipients (SAFE-ID, cipher certificate) of a running gateway"

func init() {
	registerSub("addressbook", addressbookSummary, &Command{Name: "list", Summary: "list the recipients", Run: runAddressList})
	registerSub("addressbook", addressbookSummary, &Command{Name: "show", Summary: "show one recipient", Run: runAddressShow})
	registerSub("addressbook", addressbookSummary, &Command{Name: "add", Summary: "add a recipient", Run: func(env *Env, args []string) int { return runAddressWrite(env, "add", args) }})
	registerSub("addressbook", addressbookSummary, &Command{Name: "update", Summary: "replace a recipient", Run: func(env *Env, args []string) int { return runAddressWrite(env, "update", args) }})
	registerSub("addressbook", addressbookSummary, &Command{Name: "delete", Summary: "remove a recipient", Run: runAddressDelete})
	registerSub("addressbook", addressbookSummary, &Command{Name: "import", Summary: "add or replace recipients from a JSON or CSV file", Run: runAddressImport})
}

func runAddressList(env *Env, args []string) int {
	fs := NewFlagSet(env, "addressbook list [options]", "List the address book.")
	af := addAPIFlags(fs)
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	return apiCommand(env, "addressbook list", af, func(ctx context.Context, c *APIClient) error {
		es, err := c.Addresses(ctx)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, AddressList{Entries: es})
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SAFE-ID\tNAME\tORGANISATION\tCERT EXPIRES\tFINGERPRINT")
		for _, e := range es {
			fp := e.Fingerprint
			if len(fp) > 16 {
				fp = fp[:16] + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.SafeID, e.Name, cliDash(e.Organisation), cliTime(e.CertExpires), fp)
		}
		return tw.Flush()
	})
}

func runAddressShow(env *Env, args []string) int {
	fs := NewFlagSet(env, "addressbook show [options] SAFEID", "Show one address book entry with its certificate.")
	af := addAPIFlags(fs)
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return UsageErrorf(env, fs, "give one SAFE-ID")
	}
	return apiCommand(env, "addressbook show", af, func(ctx context.Context, c *APIClient) error {
		e, err := c.Address(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, e)
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		for _, kv := range [][2]string{{"SAFE-ID", e.SafeID}, {"name", e.Name}, {"organisation", cliDash(e.Organisation)},
			{"intermediary", cliDash(e.Intermediary)}, {"certificate", e.CertSubject}, {"expires", cliTime(e.CertExpires)},
			{"sha256", e.Fingerprint}, {"updated", cliTime(e.UpdatedAt)}} {
			fmt.Fprintf(tw, "%s\t%s\n", kv[0], kv[1])
		}
		return tw.Flush()
	})
}

func runAddressWrite(env *Env, verb string, args []string) int {
	name := "addressbook " + verb
	fs := NewFlagSet(env, name+" [options] --safe-id ID --name N --cert FILE",
		"Add or replace a recipient. The cipher certificate (PEM) is checked for use as a cipher\n"+
			"certificate (key, algorithm, validity, key usage) and pinned; SAFE certificates are often self-signed.")
	af := addAPIFlags(fs)
	var r Recipient
	fs.StringVar(&r.SafeID, "safe-id", "", "the recipient's SAFE-ID (required)")
	fs.StringVar(&r.Name, "name", "", "display name (required)")
	fs.StringVar(&r.Organisation, "organisation", "", "organisation")
	fs.StringVar(&r.Intermediary, "intermediary", "", "the recipient's intermediary URL")
	cert := fs.String("cert", "", "PEM file with the recipient's cipher certificate (required)")
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	if code := requireFlags(env, fs, map[string]string{"--safe-id": r.SafeID, "--name": r.Name, "--cert": *cert}); code != ExitOK {
		return code
	}
	pem, err := os.ReadFile(*cert)
	if err != nil {
		return Failf(env, name, "%v", err)
	}
	r.CipherCert = string(pem)
	return apiCommand(env, name, af, func(ctx context.Context, c *APIClient) error {
		var e Recipient
		var err error
		if verb == "add" {
			e, err = c.AddAddress(ctx, r)
		} else {
			e, err = c.UpdateAddress(ctx, r)
		}
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, e)
		}
		fmt.Fprintf(env.Stdout, "%s: %s (certificate %s, expires %s)\n", e.SafeID, e.Name, e.CertSubject, cliTime(e.CertExpires))
		return nil
	})
}

func requireFlags(env *Env, fs *flag.FlagSet, need map[string]string) int {
	for _, f := range []string{"--safe-id", "--name", "--cert"} {
		if v, ok := need[f]; ok && v == "" {
			return UsageErrorf(env, fs, "%s is required", f)
		}
	}
	if fs.NArg() != 0 {
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	}
	return ExitOK
}

func runAddressDelete(env *Env, args []string) int {
	fs := NewFlagSet(env, "addressbook delete [options] SAFEID", "Remove a recipient from the address book.")
	af := addAPIFlags(fs)
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return UsageErrorf(env, fs, "give one SAFE-ID")
	}
	return apiCommand(env, "addressbook delete", af, func(ctx context.Context, c *APIClient) error {
		if err := c.DeleteAddress(ctx, fs.Arg(0)); err != nil {
			return err
		}
		if !af.json {
			fmt.Fprintf(env.Stdout, "%s deleted\n", fs.Arg(0))
		}
		return nil
	})
}

func runAddressImport(env *Env, args []string) int {
	fs := NewFlagSet(env, "addressbook import [options] FILE",
		"Add or replace recipients from FILE: JSON (a list of entries, or {\"entries\": [...]}) or CSV\n"+
			"with a header row (safeId,name,organisation,cipherCert,intermediaryUrl; cipherCert holds the PEM\n"+
			"as a quoted field). All entries are checked first; the address book changes only if all are valid.")
	af := addAPIFlags(fs)
	format := fs.String("format", "", "json or csv (default: from the file extension)")
	if code, ok := parseInterspersed(env, fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return UsageErrorf(env, fs, "give one FILE")
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(fs.Arg(0))), ".")
	}
	ct := map[string]string{"json": "application/json", "csv": "text/csv"}[f]
	if ct == "" {
		return UsageErrorf(env, fs, "cannot tell the format of %q: give --format json or --format csv", fs.Arg(0))
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return Failf(env, "addressbook import", "%v", err)
	}
	return apiCommand(env, "addressbook import", af, func(ctx context.Context, c *APIClient) error {
		res, err := c.ImportAddresses(ctx, data, ct)
		if err != nil {
			return err
		}
		if af.json {
			return printJSON(env.Stdout, res)
		}
		fmt.Fprintf(env.Stdout, "imported: %d added, %d updated\n", res.Added, res.Updated)
		return nil
	})
}

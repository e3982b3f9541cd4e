package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/configcheck"
)

// DefaultConfigPath is where the Debian package puts the configuration.
const DefaultConfigPath = "/etc/bebpo-gateway/gateway.yaml"

// errProblemsShown: check-config printed the problems; exit 2 like any
// configuration error, without printing them again.
var errProblemsShown = fmt.Errorf("%w: configuration problems shown", errUsageShown)

func runCheckConfig(env *Env, fs *flag.FlagSet, args []string) error {
	cfgPath := fs.String("config", DefaultConfigPath, "configuration file")
	online := fs.Bool("online", false, "also ask every intermediary for a message id (network)")
	quiet := fs.Bool("quiet", false, "show errors and warnings only")
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	rep := configcheck.Check(context.Background(), configcheck.Options{ConfigPath: *cfgPath, Getenv: env.Getenv, Online: *online})
	if *asJSON {
		findings := rep.Findings
		if findings == nil {
			findings = []configcheck.Finding{}
		}
		if err := printJSON(env.Stdout, struct {
			File     string                `json:"file"`
			Errors   int                   `json:"errors"`
			Warnings int                   `json:"warnings"`
			Findings []configcheck.Finding `json:"findings"`
		}{rep.Path, rep.Count(configcheck.LevelError), rep.Count(configcheck.LevelWarning), findings}); err != nil {
			return err
		}
	} else {
		printFindings(env.Stdout, rep, *quiet)
	}
	switch {
	case rep.Err() != nil:
		return errProblemsShown
	case rep.Count(configcheck.LevelError) > 0:
		return errFailed // only intermediaries that did not answer
	}
	return nil
}

// printFindings prints one line per finding, as compilers do
// ("FILE:LINE: LEVEL: KEY: TEXT"), and a summary.
func printFindings(w io.Writer, rep *configcheck.Report, quiet bool) {
	for _, f := range rep.Findings {
		if quiet && f.Level == configcheck.LevelOK {
			continue
		}
		where := rep.Path
		if f.Line > 0 {
			where = fmt.Sprintf("%s:%d", rep.Path, f.Line)
		}
		key := ""
		if f.Key != "" {
			key = f.Key + ": "
		}
		fmt.Fprintf(w, "%s: %s: %s%s\n", where, f.Level, key, f.Text)
	}
	errs, warns := rep.Count(configcheck.LevelError), rep.Count(configcheck.LevelWarning)
	switch {
	case rep.Err() != nil:
		fmt.Fprintf(w, "%d errors, %d warnings: the gateway refuses this configuration (exit 2).\n", errs, warns)
	case errs > 0:
		fmt.Fprintf(w, "%d intermediaries did not answer as expected, %d warnings: the configuration itself is usable.\n", errs, warns)
	default:
		fmt.Fprintf(w, "0 errors, %d warnings: the configuration is usable.\n", warns)
	}
}

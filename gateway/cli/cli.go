package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// Exit codes shared by every command.
const (
	ExitOK    = 0 // the command did what was asked
	ExitFail  = 1 // the command ran but the answer is "no" (invalid, failed)
	ExitUsage = 2 // the command line, configuration or key material is wrong
)

// Env is what a command may touch of the outside world. Tests replace it.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Command is one command of the table, or a group of subcommands.
type Command struct {
	Name    string
	Summary string
	// Usage is the synopsis after "bebpo-gateway " ("certs inspect
	// [options] FILE") and Help what --help says below it.
	Usage, Help string
	// Run declares the command's options on fs (made from Usage and
	// Help), parses args and does the work; nil for a group.
	Run  func(env *Env, fs *flag.FlagSet, args []string) error
	Subs []*Command
}

// Outcomes a command returns besides plain errors.
var (
	// errHelp: the command printed its help as asked; exit 0.
	errHelp = errors.New("cli: help shown")
	// errFailed: a check failed and the command already said why; exit 1.
	errFailed = errors.New("cli: check failed")
	// errUsageShown: the flag package already printed what was wrong; exit 2.
	errUsageShown = errors.New("cli: usage error shown")
)

// usageError is a wrong command line; it is printed with a hint to --help.
type usageError struct{ path, msg string }

func (e *usageError) Error() string { return e.msg }

// usageErrorf reports a usage error of the command whose flag set is fs.
func usageErrorf(fs *flag.FlagSet, format string, a ...any) error {
	return &usageError{path: cmdPath(fs.Name()), msg: fmt.Sprintf(format, a...)}
}

// exitCode is the one mapping from a command's outcome to its exit status.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return ExitOK
	case errors.Is(err, errUsageShown), errors.As(err, &ue),
		errors.Is(err, config.ErrConfig), errors.Is(err, config.ErrKeyMaterial):
		return ExitUsage
	}
	return ExitFail
}

// finish prints what err says (unless the command already did) and
// returns the exit status.
func finish(env *Env, path string, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp), errors.Is(err, errFailed), errors.Is(err, errUsageShown):
	case errors.As(err, &ue):
		p := ue.path
		if p == "" {
			p = path
		}
		fmt.Fprintf(env.Stderr, "bebpo-gateway %s: %s\n", p, ue.msg)
		fmt.Fprintf(env.Stderr, "Run 'bebpo-gateway %s --help' for usage.\n", p)
	default:
		fmt.Fprintf(env.Stderr, "bebpo-gateway %s: %v\n", path, err)
	}
	return exitCode(err)
}

// Main runs the CLI with the process environment and returns the exit code.
func Main(args []string) int {
	return Run(&Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, args)
}

// Run runs the CLI with an explicit environment.
func Run(env *Env, args []string) int {
	root := &Command{Subs: commands()}
	if len(args) > 0 {
		switch args[0] {
		case "-h", "--help", "-help":
			printGroupUsage(env.Stdout, root)
			return ExitOK
		case "help":
			if len(args) == 1 {
				printGroupUsage(env.Stdout, root)
				return ExitOK
			}
			args = append(args[1:], "--help")
		}
	}
	return dispatch(env, root, nil, args)
}

// dispatch finds the (sub)command named by args and runs it.
func dispatch(env *Env, c *Command, path []string, args []string) int {
	if c.Run != nil {
		return finish(env, strings.Join(path, " "), c.Run(env, newFlagSet(env, c.Usage, c.Help), args))
	}
	if len(args) == 0 {
		printGroupUsage(env.Stderr, &Command{Name: strings.Join(path, " "), Subs: c.Subs})
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		printGroupUsage(env.Stdout, &Command{Name: strings.Join(path, " "), Subs: c.Subs})
		return ExitOK
	}
	for _, s := range c.Subs {
		if s.Name == args[0] {
			return dispatch(env, s, append(path, s.Name), args[1:])
		}
	}
	what := "command"
	if len(path) > 0 {
		what = "subcommand"
	}
	fmt.Fprintf(env.Stderr, "bebpo-gateway%s: unknown %s %q\n\n", prefixSpace(strings.Join(path, " ")), what, args[0])
	printGroupUsage(env.Stderr, &Command{Name: strings.Join(path, " "), Subs: c.Subs})
	return ExitUsage
}

func prefixSpace(s string) string {
	if s == "" {
		return ""
	}
	return " " + s
}

func printGroupUsage(w io.Writer, g *Command) {
	if g.Name == "" {
		fmt.Fprintln(w, "Usage: bebpo-gateway <command> [options]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "The beBPo gateway: OSCI-Transport 1.2 mail for a public authority.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Commands:")
	} else {
		fmt.Fprintf(w, "Usage: bebpo-gateway %s <subcommand> [options]\n\nSubcommands:\n", g.Name)
	}
	for _, s := range g.Subs {
		fmt.Fprintf(w, "  %-12s %s\n", s.Name, s.Summary)
	}
	fmt.Fprintln(w)
	if g.Name == "" {
		fmt.Fprintln(w, "Run 'bebpo-gateway <command> --help' for the options of a command.")
	} else {
		fmt.Fprintf(w, "Run 'bebpo-gateway %s <subcommand> --help' for its options.\n", g.Name)
	}
}

// listFlag is a repeatable option (--trust A --trust B).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// newFlagSet returns a flag set for a command that prints its usage
// consistently and never exits the process. usage is the synopsis after
// "bebpo-gateway ", e.g. "certs inspect [options] FILE".
func newFlagSet(env *Env, usage, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(usage, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: bebpo-gateway %s\n\n%s\n", usage, summary)
		var has bool
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintln(out, "\nOptions:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args: errHelp after --help (printed to stdout),
// errUsageShown after a bad flag (printed to stderr).
func parseFlags(env *Env, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(env.Stdout)
			fs.Usage()
			return errHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return errUsageShown
	}
	return nil
}

// parseInterspersed is parseFlags that also accepts options after
// arguments ("messages download 17 --dir akte"); everything after "--"
// is an argument.
func parseInterspersed(env *Env, fs *flag.FlagSet, args []string) error {
	head, tail := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			head, tail = args[:i], args[i+1:]
			break
		}
	}
	if err := parseFlags(env, fs, head); err != nil {
		return err
	}
	var pos []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			return errUsageShown
		}
	}
	if err := fs.Parse(append([]string{"--"}, append(pos, tail...)...)); err != nil {
		return errUsageShown
	}
	return nil
}

// parseArgs parses options anywhere among the arguments and checks that
// exactly n arguments remain (none: n is 0; any number: n is -1); what
// names them in the refusal ("one SAFE-ID").
func parseArgs(env *Env, fs *flag.FlagSet, args []string, n int, what string) error {
	if err := parseInterspersed(env, fs, args); err != nil {
		return err
	}
	switch {
	case n == 0 && fs.NArg() > 0:
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
	case n > 0 && fs.NArg() != n:
		return usageErrorf(fs, "give %s, not %d arguments", what, fs.NArg())
	}
	return nil
}

// cmdPath returns the command words of a usage synopsis (those before the
// first option or argument placeholder).
func cmdPath(usage string) string {
	var words []string
	for _, w := range strings.Fields(usage) {
		if strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-") || strings.ToUpper(w) == w {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// readSecret reads a secret for a command (a keystore password) from a
// file or an environment variable, with the same rule for secret files as
// the daemon.
func readSecret(env *Env, file, envVar string) (string, error) {
	return config.ReadSecret(file, envVar, false, env.Getenv)
}

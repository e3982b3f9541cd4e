package gateway

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	ExitOK    = 0 // the command did what was asked
	ExitFail  = 1 // the command ran but the answer is "no" (invalid, failed)
	ExitUsage = 2 // the command line was wrong
)

// Env is what a subcommand may touch of the outside world. Tests replace it.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// Command is one subcommand of the CLI. Subcommands register themselves
// from init functions in their own files (cmd_*.go).
type Command struct {
	Name    string
	Summary string
	// Run executes the command. It returns an exit code; usage errors
	// should be returned as ExitUsage after printing why.
	Run func(env *Env, args []string) int
}

var commands = map[string]*Command{}

// order is the order in which `bebpo-gateway --help` lists commands.
var order = []string{
	"run", "send", "messages", "status", "queue", "journal", "addressbook",
	"certs", "xml", "simulator", "demo", "version",
}

// register adds a subcommand; it panics on a duplicate name, which is a
// programming error caught by any test run.
func register(c *Command) {
	if _, dup := commands[c.Name]; dup {
		panic("gateway: duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// Main runs the CLI with the process environment and returns the exit code.
func Main(args []string) int {
	return RunCLI(&Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, args)
}

// RunCLI runs the CLI with an explicit environment.
func RunCLI(env *Env, args []string) int {
	if len(args) == 0 {
		printMainUsage(env.Stderr)
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "-help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				return c.Run(env, []string{"--help"})
			}
		}
		printMainUsage(env.Stdout)
		return ExitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(env.Stderr, "bebpo-gateway: unknown command %q\n\n", name)
		printMainUsage(env.Stderr)
		return ExitUsage
	}
	return c.Run(env, args[1:])
}

func printMainUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: bebpo-gateway <command> [options]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The beBPo gateway: OSCI-Transport 1.2 mail for a public authority.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	listed := map[string]bool{}
	for _, n := range order {
		if c, ok := commands[n]; ok {
			fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Summary)
			listed[n] = true
		}
	}
	var rest []string
	for n := range commands {
		if !listed[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'bebpo-gateway <command> --help' for the options of a command.")
}

// registerSub adds a subcommand under a parent command ("certs inspect",
// "xml sign"). The parent is created on first use and lists its
// subcommands in registration order.
func registerSub(parent, summary string, c *Command) {
	g, ok := groups[parent]
	if !ok {
		g = &Group{Parent: parent}
		groups[parent] = g
		register(&Command{Name: parent, Summary: summary, Run: g.Run})
	}
	for _, s := range g.Subs {
		if s.Name == c.Name {
			panic("gateway: duplicate command " + parent + " " + c.Name)
		}
	}
	g.Subs = append(g.Subs, c)
}

var groups = map[string]*Group{}

// Group dispatches "<parent> <sub> ..." to sub-subcommands, with the same
// help and usage conventions as the top level.
type Group struct {
	Parent string
	Subs   []*Command
}

// Run dispatches to the named sub-subcommand.
func (g *Group) Run(env *Env, args []string) int {
	if len(args) == 0 {
		g.usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		g.usage(env.Stdout)
		return ExitOK
	}
	for _, s := range g.Subs {
		if s.Name == args[0] {
			return s.Run(env, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "bebpo-gateway %s: unknown subcommand %q\n\n", g.Parent, args[0])
	g.usage(env.Stderr)
	return ExitUsage
}

func (g *Group) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: bebpo-gateway %s <subcommand> [options]\n\nSubcommands:\n", g.Parent)
	for _, s := range g.Subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.Name, s.Summary)
	}
	fmt.Fprintf(w, "\nRun 'bebpo-gateway %s <subcommand> --help' for its options.\n", g.Parent)
}

// NewFlagSet returns a flag set for a (sub)command that prints its usage
// consistently and never exits the process. usage is the synopsis after
// "bebpo-gateway ", e.g. "certs inspect [options] FILE".
func NewFlagSet(env *Env, usage, summary string) *flag.FlagSet {
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

// ParseFlags parses args. It returns (code, false) when the caller must
// return code at once: ExitOK after --help (printed to stdout), ExitUsage
// after a bad flag (printed to stderr).
func ParseFlags(env *Env, fs *flag.FlagSet, args []string) (int, bool) {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			fs.SetOutput(env.Stdout)
			fs.Usage()
			return ExitOK, false
		}
	}
	if err := fs.Parse(args); err != nil {
		return ExitUsage, false
	}
	return 0, true
}

// UsageErrorf prints a usage error for a flag set and returns ExitUsage.
func UsageErrorf(env *Env, fs *flag.FlagSet, format string, a ...any) int {
	path := cmdPath(fs.Name())
	fmt.Fprintf(env.Stderr, "bebpo-gateway %s: %s\n", path, fmt.Sprintf(format, a...))
	fmt.Fprintf(env.Stderr, "Run 'bebpo-gateway %s --help' for usage.\n", path)
	return ExitUsage
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

// Failf prints "bebpo-gateway <cmd>: <message>" to stderr and returns ExitFail.
func Failf(env *Env, cmd string, format string, a ...any) int {
	fmt.Fprintf(env.Stderr, "bebpo-gateway %s: %s\n", cmd, fmt.Sprintf(format, a...))
	return ExitFail
}

// ReadSecret reads a secret (a keystore password, a token) from a file or
// from an environment variable, never from the command line. Exactly one
// of file and envVar may be set; a trailing newline in the file is dropped.
func ReadSecret(env *Env, file, envVar string) (string, error) {
	switch {
	case file != "" && envVar != "":
		return "", errors.New("give the secret either as a file or as an environment variable, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case envVar != "":
		v := env.Getenv(envVar)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or not set", envVar)
		}
		return v, nil
	}
	return "", nil
}

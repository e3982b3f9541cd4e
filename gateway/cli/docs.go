package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The manual pages and the shell completion are generated from the
// command table, so that they list exactly the commands and options the
// binary has.

// docCommand is one runnable command of the table with its options.
type docCommand struct {
	path  []string // "messages", "list"
	cmd   *Command
	flags []*flag.Flag
}

// tableCommands walks the table in order. A command's options are the ones
// its Run declares before it parses: asked for --help with its output
// discarded, it declares them and does nothing else (every command answers
// --help before it does any work; TestEveryCommandHasHelp holds them to it).
func tableCommands() []docCommand {
	var out []docCommand
	var walk func(path []string, c *Command)
	walk = func(path []string, c *Command) {
		if c.Run == nil {
			for _, s := range c.Subs {
				walk(append(append([]string(nil), path...), s.Name), s)
			}
			return
		}
		env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}
		fs := newFlagSet(env, c.Usage, c.Help)
		_ = c.Run(env, fs, []string{"--help"})
		var flags []*flag.Flag
		fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
		out = append(out, docCommand{path: path, cmd: c, flags: flags})
	}
	for _, c := range commands() {
		walk([]string{c.Name}, c)
	}
	return out
}

// WriteManPages writes bebpo-gateway.1 (every command with its options)
// and bebpo-gateway-COMMAND.1 for each top-level command into dir,
// dated date (SOURCE_DATE_EPOCH for a reproducible package).
func WriteManPages(dir, version string, date time.Time) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	all := tableCommands()
	pages := map[string][]docCommand{"bebpo-gateway": all}
	var order []string
	for _, d := range all {
		name := "bebpo-gateway-" + d.path[0]
		if _, ok := pages[name]; !ok {
			order = append(order, name)
		}
		pages[name] = append(pages[name], d)
	}
	for _, name := range append([]string{"bebpo-gateway"}, order...) {
		var b bytes.Buffer
		writeManPage(&b, name, version, date, pages[name])
		if err := os.WriteFile(filepath.Join(dir, name+".1"), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeManPage(w io.Writer, name, version string, date time.Time, cmds []docCommand) {
	fmt.Fprintf(w, ".\\\" Generated from the command table of bebpo-gateway; do not edit.\n")
	fmt.Fprintf(w, ".TH %s 1 %q %q \"bebpo-gateway manual\"\n", strings.ToUpper(name), date.UTC().Format("2006-01-02"), "bebpo-gateway "+version)
	fmt.Fprintln(w, ".SH NAME")
	if name == "bebpo-gateway" {
		fmt.Fprintln(w, "bebpo-gateway \\- beBPo gateway: OSCI-Transport 1.2 mail for a public authority")
	} else {
		top := topCommand(cmds[0].path[0])
		fmt.Fprintf(w, "%s \\- %s\n", roffEscape(name), roffEscape(top.Summary))
	}
	fmt.Fprintln(w, ".SH SYNOPSIS")
	for i, d := range cmds {
		if i > 0 {
			fmt.Fprintln(w, ".br")
		}
		fmt.Fprintf(w, ".B bebpo-gateway\n%s\n", roffEscape(d.cmd.Usage))
	}
	if name == "bebpo-gateway" {
		fmt.Fprintln(w, ".SH DESCRIPTION")
		fmt.Fprintln(w, "One binary holds the daemon (\\fBrun\\fR) and the operator's tools. Every command answers \\fB\\-\\-help\\fR.")
		fmt.Fprintln(w, "Exit status: 0 done, 1 the command ran and the answer is no (a check failed, the gateway refused),")
		fmt.Fprintln(w, "2 the command line, the configuration or the key material is wrong.")
	}
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, d := range cmds {
		fmt.Fprintf(w, ".SS %s\n", roffEscape(strings.Join(d.path, " ")))
		fmt.Fprintf(w, "%s\n", roffEscape(d.cmd.Summary+"."))
		fmt.Fprintln(w, ".PP")
		fmt.Fprintf(w, ".B bebpo-gateway\n%s\n", roffEscape(d.cmd.Usage))
		for _, para := range strings.Split(d.cmd.Help, "\n\n") {
			fmt.Fprintln(w, ".PP")
			fmt.Fprintln(w, roffEscape(strings.ReplaceAll(para, "\n", " ")))
		}
		for _, f := range d.flags {
			arg, usage := flag.UnquoteUsage(f)
			fmt.Fprintln(w, ".TP")
			if arg != "" {
				fmt.Fprintf(w, ".BI \\-\\-%s \" %s\"\n", roffEscape(f.Name), roffEscape(arg))
			} else {
				fmt.Fprintf(w, ".B \\-\\-%s\n", roffEscape(f.Name))
			}
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				usage += " (default " + f.DefValue + ")"
			}
			fmt.Fprintln(w, roffEscape(usage))
		}
	}
	fmt.Fprintln(w, ".SH FILES")
	fmt.Fprintln(w, ".TP\n.I /etc/bebpo-gateway/gateway.yaml\nthe configuration; check it with \\fBbebpo-gateway check-config\\fR before a start or reload.")
	fmt.Fprintln(w, ".TP\n.I /var/lib/bebpo-gateway\nthe data directory of the packaged service (store, blobs, journal, address book).")
	fmt.Fprintln(w, ".SH SEE ALSO")
	var see []string
	if name != "bebpo-gateway" {
		see = append(see, "bebpo-gateway (1)")
	}
	see = append(see, "systemctl (1)", "journalctl (1)")
	fmt.Fprintln(w, roffEscape(strings.Join(see, ", ")))
}

func topCommand(name string) *Command {
	for _, c := range commands() {
		if c.Name == name {
			return c
		}
	}
	return &Command{Name: name}
}

// roffEscape makes text safe as roff text: backslashes, hyphens, a
// leading control character, and characters beyond ASCII (umlauts, ß)
// as \[uXXXX], which every troff reads whatever its input encoding.
func roffEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString("\\e")
		case r == '-':
			b.WriteString("\\-")
		case r > 0x7e:
			fmt.Fprintf(&b, "\\[u%04X]", r)
		default:
			b.WriteRune(r)
		}
	}
	s = b.String()
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = "\\&" + s
	}
	return s
}

// WriteBashCompletion writes a bash completion script for bebpo-gateway:
// commands, subcommands and each command's options from the table; file
// names elsewhere.
func WriteBashCompletion(w io.Writer) error {
	all := tableCommands()
	var b strings.Builder
	b.WriteString("# bash completion for bebpo-gateway; generated from its command table, do not edit.\n")
	b.WriteString("_bebpo_gateway() {\n")
	b.WriteString("    local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" i w\n")
	b.WriteString("    for ((i = 1; i < COMP_CWORD; i++)); do\n")
	b.WriteString("        w=${COMP_WORDS[i]}\n")
	b.WriteString("        [[ $w == -* ]] && break\n")
	b.WriteString("        path=\"${path:+$path }$w\"\n")
	b.WriteString("    done\n")
	b.WriteString("    local words=\"\"\n")
	b.WriteString("    case \"$path\" in\n")
	// Groups and the root complete their subcommands.
	groups := map[string][]string{"": nil}
	var keys []string
	for _, c := range commands() {
		groups[""] = append(groups[""], c.Name)
		if c.Run == nil {
			var subs []string
			for _, s := range c.Subs {
				subs = append(subs, s.Name)
			}
			groups[c.Name] = subs
		}
	}
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "        %q) words=%q ;;\n", k, strings.Join(groups[k], " "))
	}
	for _, d := range all {
		var opts []string
		for _, f := range d.flags {
			opts = append(opts, "--"+f.Name)
		}
		opts = append(opts, "--help")
		fmt.Fprintf(&b, "        %q) words=%q\n", strings.Join(d.path, " "), strings.Join(opts, " "))
		b.WriteString("            if [[ $cur != -* ]]; then\n")
		b.WriteString("                COMPREPLY=($(compgen -f -- \"$cur\"))\n")
		b.WriteString("                return\n")
		b.WriteString("            fi ;;\n")
	}
	b.WriteString("        *) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n")
	b.WriteString("    esac\n")
	b.WriteString("    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n")
	b.WriteString("}\n")
	b.WriteString("complete -o filenames -o bashdefault -F _bebpo_gateway bebpo-gateway\n")
	_, err := io.WriteString(w, b.String())
	return err
}

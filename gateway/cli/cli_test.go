package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

func TestCLIUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no arguments", nil, ExitUsage, "", "Usage: bebpo-gateway"},
		{"help", []string{"--help"}, ExitOK, "Commands:", ""},
		{"help for a command", []string{"help", "version"}, ExitOK, "Usage: bebpo-gateway version", ""},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, ExitOK, "bebpo-gateway ", ""},
		{"version help", []string{"version", "--help"}, ExitOK, "Usage: bebpo-gateway version", ""},
		{"version bad flag", []string{"version", "--bogus"}, ExitUsage, "", "flag provided but not defined"},
		{"version extra argument", []string{"version", "extra"}, ExitUsage, "", `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errs)
			}
			if !strings.Contains(out, tc.wantStdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.wantStdout)
			}
			if !strings.Contains(errs, tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", errs, tc.wantStderr)
			}
		})
	}
}

// Every command and subcommand of the table answers --help on stdout
// with exit 0 and a bad flag with exit 2; a group refuses an unknown
// subcommand with exit 2.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(path []string, c *Command)
	walk = func(path []string, c *Command) {
		name := strings.Join(path, " ")
		if c.Run == nil {
			for _, s := range c.Subs {
				walk(append(append([]string(nil), path...), s.Name), s)
			}
			t.Run(name+" unknown", func(t *testing.T) {
				if code, _, _ := runCLI(t, nil, append(path, "no-such-subcommand")...); code != ExitUsage {
					t.Errorf("exit %d, want %d", code, ExitUsage)
				}
			})
			return
		}
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, append(path, "--help")...)
			if code != ExitOK {
				t.Fatalf("%s --help: exit %d, stderr %q", name, code, errs)
			}
			if !strings.Contains(out, "Usage: bebpo-gateway "+name) {
				t.Errorf("%s --help printed %q", name, out)
			}
		})
		t.Run(name+" bad flag", func(t *testing.T) {
			if code, _, _ := runCLI(t, nil, append(path, "--no-such-flag")...); code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
		})
	}
	seen := map[string]bool{}
	for _, c := range commands() {
		if seen[c.Name] {
			t.Errorf("command %q listed twice", c.Name)
		}
		seen[c.Name] = true
		walk([]string{c.Name}, c)
	}
}

// One function maps outcomes to exit codes.
func TestExitCode(t *testing.T) {
	fs := newFlagSet(&Env{Stderr: io.Discard}, "x", "")
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{errHelp, ExitOK},
		{errFailed, ExitFail},
		{errors.New("the gateway refused"), ExitFail},
		{errUsageShown, ExitUsage},
		{usageErrorf(fs, "bad"), ExitUsage},
		{fmt.Errorf("load: %w", config.ErrConfig), ExitUsage},
		{fmt.Errorf("load: %w", config.ErrKeyMaterial), ExitUsage},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("geheim-äöü\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &Env{Getenv: func(k string) string {
		if k == "PW" {
			return "aus-env"
		}
		return ""
	}}
	tests := []struct {
		name, file, env, want string
		wantErr               bool
	}{
		{"from file, newline dropped", file, "", "geheim-äöü", false},
		{"from environment", "", "PW", "aus-env", false},
		{"both is an error", file, "PW", "", true},
		{"empty variable is an error", "", "UNSET", "", true},
		{"missing file is an error", filepath.Join(dir, "nope"), "", "", true},
		{"neither gives empty", "", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readSecret(env, tc.file, tc.env)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

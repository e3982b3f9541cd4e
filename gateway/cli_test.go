package gateway

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &Env{
		Stdin:  strings.NewReader(""),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	}
	code := RunCLI(e, args)
	return code, out.String(), errb.String()
}

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

func TestEveryCommandHasHelp(t *testing.T) {
	for name, c := range commands {
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, c.Name, "--help")
			if code != ExitOK {
				t.Fatalf("%s --help: exit %d, stderr %q", name, code, errs)
			}
			if !strings.Contains(out, "Usage: bebpo-gateway "+name) {
				t.Errorf("%s --help printed %q", name, out)
			}
		})
	}
	for parent, g := range groups {
		for _, s := range g.Subs {
			t.Run(parent+" "+s.Name, func(t *testing.T) {
				code, out, errs := runCLI(t, nil, parent, s.Name, "--help")
				if code != ExitOK {
					t.Fatalf("exit %d, stderr %q", code, errs)
				}
				if !strings.Contains(out, "Usage: bebpo-gateway "+parent+" "+s.Name) {
					t.Errorf("help printed %q", out)
				}
			})
			t.Run(parent+" "+s.Name+" bad flag", func(t *testing.T) {
				if code, _, _ := runCLI(t, nil, parent, s.Name, "--no-such-flag"); code != ExitUsage {
					t.Errorf("exit %d, want %d", code, ExitUsage)
				}
			})
		}
		t.Run(parent+" unknown", func(t *testing.T) {
			if code, _, _ := runCLI(t, nil, parent, "no-such-subcommand"); code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
		})
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
			got, err := ReadSecret(env, tc.file, tc.env)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

package cli

import (
	"bytes"
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
	code := Run(e, args)
	return code, out.String(), errb.String()
}

// cliCase is one command line and what it must answer: the exit code and
// text that stdout and stderr must contain.
type cliCase struct {
	name     string
	args     []string
	code     int
	out, err string
}

// runCLICases runs the cases in order, each as a subtest, with env as the
// process environment.
func runCLICases(t *testing.T, env map[string]string, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkCLI(t, env, tc) })
	}
}

// checkCLI runs one case with env as the process environment.
func checkCLI(t *testing.T, env map[string]string, tc cliCase) {
	t.Helper()
	code, out, errs := runCLI(t, env, tc.args...)
	if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
		t.Fatalf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tc.code, out, tc.out, errs, tc.err)
	}
}

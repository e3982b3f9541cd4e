package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The manual lists every command of the table with its options, and
// groff reads it without a warning.
func TestManPagesFromTheTable(t *testing.T) {
	dir := t.TempDir()
	if err := WriteManPages(dir, "1.2.3", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(dir, "bebpo-gateway.1"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := tableCommands()
	if len(cmds) < 20 {
		t.Fatalf("only %d commands found in the table", len(cmds))
	}
	for _, d := range cmds {
		if !bytes.Contains(main, []byte(".SS "+roffEscape(strings.Join(d.path, " "))+"\n")) {
			t.Errorf("bebpo-gateway.1 lacks %q", strings.Join(d.path, " "))
		}
		page, err := os.ReadFile(filepath.Join(dir, "bebpo-gateway-"+d.path[0]+".1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range d.flags {
			if !bytes.Contains(page, []byte("\\-\\-"+roffEscape(f.Name))) {
				t.Errorf("bebpo-gateway-%s.1 lacks option --%s of %q", d.path[0], f.Name, strings.Join(d.path, " "))
			}
		}
	}
	if !bytes.Contains(main, []byte(`.TH BEBPO-GATEWAY 1 "2026-04-01" "bebpo-gateway 1.2.3"`)) {
		t.Errorf("header: %s", main[:200])
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed: the pages are not rendered")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, e.Name()))
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", e.Name(), err, out)
		}
	}
}

// The bash completion offers the table's commands, subcommands and
// options.
func TestBashCompletionFromTheTable(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var script bytes.Buffer
	if err := WriteBashCompletion(&script); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bebpo-gateway")
	if err := os.WriteFile(path, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"bebpo-gateway ch", []string{"check-config"}},
		{"bebpo-gateway check-config --on", []string{"--online"}},
		{"bebpo-gateway messages l", []string{"list"}},
		{"bebpo-gateway journal ", []string{"verify", "reanchor"}},
		{"bebpo-gateway messages list --data x --j", []string{"--json"}},
		{"bebpo-gateway certs verify --pur", []string{"--purpose"}},
	} {
		words := strings.Split(tc.line, " ")
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := ". " + path + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "\n_bebpo_gateway\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		got := strings.Fields(string(out))
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}

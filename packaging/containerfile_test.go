package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// containerContext copies what Containerfile.dockerignore lets into the
// build context: go.mod, go.sum, the source trees without tests and test
// data, and the example configuration.
func containerContext(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	copyFile := func(rel string) {
		b, err := os.ReadFile(filepath.Join("..", rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("go.mod")
	copyFile("go.sum")
	copyFile("packaging/files/gateway.yaml")
	for _, tree := range []string{"certs", "gateway", "mailbox", "osci", "internal"} {
		err := filepath.WalkDir(filepath.Join("..", tree), func(p string, d fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case d.IsDir() && d.Name() == "testdata":
				return filepath.SkipDir
			case d.IsDir() || strings.HasSuffix(p, "_test.go"):
				return nil
			}
			rel, _ := filepath.Rel("..", p)
			copyFile(rel)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// The Containerfile builds in two stages and runs as a user that is not
// root, and its build context (what the dockerignore lets in) holds
// everything the build stage needs: the binary builds from it alone.
// Docker itself runs in `make image`, not here.
func TestContainerfile(t *testing.T) {
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, users, copies []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "FROM":
			froms = append(froms, line)
			users = nil // USER counts per stage; the last stage's is what runs
		case "USER":
			users = append(users, f[1])
		case "COPY":
			if !strings.HasPrefix(f[1], "--from") {
				copies = append(copies, f[1:len(f)-1]...)
			}
		}
	}
	if len(froms) < 2 || !strings.Contains(froms[0], " AS build") {
		t.Errorf("not a multi-stage build: %q", froms)
	}
	if last := froms[len(froms)-1]; !strings.Contains(last, "debian:bookworm-slim") {
		t.Errorf("run stage %q, want Debian slim (the binary links libxml2)", last)
	}
	if len(users) != 1 || users[0] == "root" || strings.HasPrefix(users[0], "0") {
		t.Errorf("run stage users %q, want one non-root user", users)
	}
	ctx := containerContext(t)
	for _, src := range copies {
		if _, err := os.Stat(filepath.Join(ctx, src)); err != nil {
			t.Errorf("COPY %s: not in the build context: %v", src, err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(t.TempDir(), "bebpo-gateway"), "./gateway/cmd/bebpo-gateway")
	build.Dir = ctx
	build.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=-mod=readonly", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the binary does not build from the container's build context: %v\n%s", err, out)
	}
}

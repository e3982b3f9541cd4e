// Package certstest locates the material tests share: the repository root,
// the committed test PKI under testdata/pki, the reference material in
// ../shared beside the checkout, and the external peer tools (xmlsec1,
// xmllint, openssl). It is imported by tests only.
package certstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot walks up from the test's working directory to the directory
// holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SharedDir is the shared reference material beside the checkout.
func SharedDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "..", "shared")
}

// PKIPath is a file of the committed test PKI.
func PKIPath(t testing.TB, file string) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "testdata", "pki", file)
}

// NeedTool returns the path of an external peer tool. Without it the test
// fails under CI=true (make deps installs it) and is skipped otherwise.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true (make deps installs it)", name)
	}
	t.Skipf("%s not installed; run make deps (required under CI=true)", name)
	return ""
}

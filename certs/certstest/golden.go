package certstest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// ReadFile returns the content of the file at path and fails the test when
// it cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden compares got with the golden file at path. With update it writes
// got there instead (creating the directory); the test's -update flag is
// passed in. A difference is reported at its first differing line, with
// the bytes around it.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	line := 1 + bytes.Count(got[:i], []byte("\n"))
	lo := max(0, i-60)
	t.Errorf("%s differs at line %d, byte %d (go test -update rewrites it; review the diff):\n got: %q\nwant: %q",
		path, line, i, got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
}

// Document returns a sample document of testdata/documents (PDF and TIFF
// files made by real software: plain_gs.pdf is a plain one-page PDF).
func Document(t testing.TB, name string) []byte {
	t.Helper()
	return ReadFile(t, filepath.Join(RepoRoot(t), "testdata", "documents", name))
}

package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "book.json")
	if err := WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("content %q", b)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestWriteFailureLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	err := Write(p, 0o640, func(w io.Writer) error {
		w.Write([]byte("half"))
		return io.ErrUnexpectedEOF
	})
	if err == nil {
		t.Fatal("want the write's error")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("content %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// A link planted where the result goes is replaced, never written through.
func TestWriteFileInDoesNotFollowPlantedLink(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o750)
	if err := os.Symlink(outside, filepath.Join(dir, "sub", "result.json")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if err := WriteFileIn(root, "sub/result.json", "", []byte("{}"), 0o640); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "precious" {
		t.Errorf("the link's target was overwritten: %q", b)
	}
	fi, err := os.Lstat(filepath.Join(dir, "sub", "result.json"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("result is not a regular file: %v %v", fi, err)
	}
	// A temporary directory that is a link out of the root is refused.
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "tmplink")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileIn(root, "sub/result.json", "tmplink", []byte("{}"), 0o640); err == nil {
		t.Error("a temporary directory outside the root was used")
	}
}

func TestFileSHA256(t *testing.T) {
	p := filepath.Join(t.TempDir(), "abc")
	if err := WriteFile(p, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := FileSHA256(p); err != nil || got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("FileSHA256 = %q, %v", got, err)
	}
	// A backup skips a file that is not there; it must be told so.
	if _, err := FileSHA256(p + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

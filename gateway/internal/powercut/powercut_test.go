package powercut

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// mountT mounts a fresh lossy file system; it skips only without
// /dev/fuse and fails with the reason when mounting fails.
func mountT(t *testing.T) (*FS, string) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE on this machine: %v", err)
	}
	dir := t.TempDir()
	backing, mnt := filepath.Join(dir, "backing"), filepath.Join(dir, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := Mount(backing, mnt, Options{})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := pc.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return pc, mnt
}

func cut(t *testing.T, pc *FS) CutReport {
	t.Helper()
	rep, err := pc.Cut()
	if err != nil {
		t.Fatalf("cut: %v", err)
	}
	t.Logf("cut: %s", rep)
	return rep
}

// write creates (or truncates) path with data, fsync'd when sync.
func write(t *testing.T, path string, data string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatalf("fsync %s: %v", dir, err)
	}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	if string(b) != want {
		t.Fatalf("%s holds %q, want %q", filepath.Base(path), b, want)
	}
}

func wantGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s: %v, want it gone", filepath.Base(path), err)
	}
}

func TestUnsyncedWriteIsGone(t *testing.T) {
	pc, mnt := mountT(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "never fsync'd", false)
	syncDir(t, mnt)
	wantContent(t, p, "never fsync'd")
	rep := cut(t, pc)
	wantContent(t, p, "")
	if rep.UnsyncedFiles != 1 || rep.Emptied != 1 || rep.BytesDropped != int64(len("never fsync'd")) {
		t.Errorf("report %+v, want 1 unsynced file emptied", rep)
	}
}

func TestSyncedFileWithoutDirSyncIsGone(t *testing.T) {
	pc, mnt := mountT(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "fsync'd, its name not", true)
	rep := cut(t, pc)
	wantGone(t, p)
	if rep.EntriesLost != 1 {
		t.Errorf("report %+v, want 1 entry lost", rep)
	}
}

func TestRenameAfterSyncAndDirSyncIsKept(t *testing.T) {
	pc, mnt := mountT(t)
	tmp, p := filepath.Join(mnt, ".f.tmp"), filepath.Join(mnt, "f")
	write(t, tmp, "durable", true)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	rep := cut(t, pc)
	wantContent(t, p, "durable")
	wantGone(t, tmp)
	if rep.UnsyncedFiles != 0 || rep.EntriesLost != 0 || rep.EntriesBack != 0 || rep.EntriesChanged != 0 || rep.Files != 1 {
		t.Errorf("report %+v, want nothing dropped", rep)
	}
	st := pc.Stats()
	if st.Fsyncs != 1 || st.DirFsyncs != 1 || st.Cuts != 1 {
		t.Errorf("stats %+v, want 1 fsync, 1 directory fsync, 1 cut", st)
	}
}

func TestRenameOverWithoutDirSyncBringsOldContentsBack(t *testing.T) {
	pc, mnt := mountT(t)
	p, tmp := filepath.Join(mnt, "f"), filepath.Join(mnt, ".f.tmp")
	write(t, p, "old", true)
	syncDir(t, mnt)
	write(t, tmp, "new", true)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	wantContent(t, p, "new")
	rep := cut(t, pc)
	wantContent(t, p, "old")
	wantGone(t, tmp)
	if rep.EntriesChanged != 1 || rep.EntriesLost != 0 {
		t.Errorf("report %+v, want the one name changed back", rep)
	}
}

func TestUnlinkWithoutDirSyncBringsFileBack(t *testing.T) {
	pc, mnt := mountT(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "still here", true)
	syncDir(t, mnt)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	// A new file must not take the old one's identity.
	write(t, filepath.Join(mnt, "g"), "other", true)
	rep := cut(t, pc)
	wantContent(t, p, "still here")
	wantGone(t, filepath.Join(mnt, "g"))
	if rep.EntriesBack != 1 || rep.EntriesLost != 1 {
		t.Errorf("report %+v, want 1 entry back, 1 lost", rep)
	}
}

func TestUnlinkWithDirSyncIsDurable(t *testing.T) {
	pc, mnt := mountT(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "to go", true)
	syncDir(t, mnt)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	cut(t, pc)
	wantGone(t, p)
}

func TestHardLinkAfterDirSyncIsOneFile(t *testing.T) {
	pc, mnt := mountT(t)
	a, b := filepath.Join(mnt, "a"), filepath.Join(mnt, "b")
	write(t, a, "shared", true)
	if err := os.Link(a, b); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	cut(t, pc)
	wantContent(t, a, "shared")
	wantContent(t, b, "shared")
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	if sa.Ino != sb.Ino || sa.Nlink != 2 {
		t.Fatalf("a (inode %d, %d links) and b (inode %d) are not two links of one file", sa.Ino, sa.Nlink, sb.Ino)
	}
}

func TestMkdirWithoutParentSyncIsGone(t *testing.T) {
	pc, mnt := mountT(t)
	d := filepath.Join(mnt, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(d, "f"), "inside", true)
	syncDir(t, d)
	rep := cut(t, pc)
	wantGone(t, d)
	if rep.EntriesLost != 2 || len(rep.Lost) != 2 || rep.Lost[0] != "d" || rep.Lost[1] != filepath.Join("d", "f") {
		t.Errorf("report %+v, want d and d/f lost", rep)
	}
}

func TestDirectoryNeverSyncedComesBackEmpty(t *testing.T) {
	pc, mnt := mountT(t)
	d := filepath.Join(mnt, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(d, "f"), "inside", true)
	syncDir(t, mnt)
	cut(t, pc)
	ents, err := os.ReadDir(d)
	if err != nil || len(ents) != 0 {
		t.Fatalf("directory d: %d entries, %v; want it there and empty", len(ents), err)
	}
}

func TestAppendAfterSyncKeepsSyncedPrefix(t *testing.T) {
	pc, mnt := mountT(t)
	p := filepath.Join(mnt, "log")
	write(t, p, "synced;", true)
	syncDir(t, mnt)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("not synced"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rep := cut(t, pc)
	wantContent(t, p, "synced;")
	if rep.Shortened != 1 || rep.BytesDropped != int64(len("not synced")) {
		t.Errorf("report %+v, want 1 file shortened by %d bytes", rep, len("not synced"))
	}
}

func TestSymlinkAndRmdirFollowTheirDirectory(t *testing.T) {
	pc, mnt := mountT(t)
	if err := os.Symlink("target", filepath.Join(mnt, "ln")); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(mnt, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	if err := os.Remove(d); err != nil {
		t.Fatal(err)
	}
	cut(t, pc)
	if got, err := os.Readlink(filepath.Join(mnt, "ln")); err != nil || got != "target" {
		t.Fatalf("symlink: %q %v, want target", got, err)
	}
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Fatalf("rmdir without a directory fsync: %v, want d back", err)
	}
}

func TestCutWithAnOpenFile(t *testing.T) {
	pc, mnt := mountT(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "kept", true)
	syncDir(t, mnt)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(" and dropped"); err != nil {
		t.Fatal(err)
	}
	cut(t, pc)
	wantContent(t, p, "kept")
	if _, err := f.WriteString("after the cut"); err == nil {
		t.Fatal("a file opened before the cut is still writable after it")
	}
}

func TestPresentAtMountIsDurable(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE on this machine: %v", err)
	}
	dir := t.TempDir()
	backing, mnt := filepath.Join(dir, "backing"), filepath.Join(dir, "mnt")
	for _, d := range []string{filepath.Join(backing, "sub"), mnt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(backing, "sub", "f"), bytes.Repeat([]byte("x"), 100000), 0o600); err != nil {
		t.Fatal(err)
	}
	pc, err := Mount(backing, mnt, Options{})
	if err != nil {
		t.Fatalf("mount: %v", err)
	}
	defer pc.Close()
	p := filepath.Join(mnt, "sub", "f")
	write(t, p, "overwritten, not synced", false)
	cut(t, pc)
	b, err := os.ReadFile(p)
	if err != nil || len(b) != 100000 || b[99999] != 'x' {
		t.Fatalf("file present at mount: %d bytes, %v; want the 100000 bytes it had", len(b), err)
	}
}

package powercut

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

var (
	// ErrMount is returned when the FUSE file system cannot be mounted.
	ErrMount = errors.New("powercut: mount failed")
	// ErrModel is an inconsistency of the durable state found by a Cut:
	// an error of this package, not of the code under test.
	ErrModel = errors.New("powercut: durable state inconsistent")
)

// Options tune Mount. The zero value is safe.
type Options struct {
	// StateDir keeps the graveyard and the durable copies; it must be on
	// the backing directory's file system and is emptied at Mount and
	// after every Cut. Default: the backing directory's path + ".powercut".
	StateDir string
	// Debug prints every FUSE request (go-fuse's log).
	Debug bool
}

// Stats are the counters since Mount.
type Stats struct {
	Fsyncs      int64 // fsync or fdatasync of a file
	DirFsyncs   int64 // fsync of a directory
	Copies      int64 // durable copies taken at the first change after a durable point
	CopiedBytes int64
	Cuts        int
}

// CutReport says what one Cut dropped.
type CutReport struct {
	UnsyncedFiles  int      // files changed since their last fsync: their changes are gone (or the file with its entry)
	Emptied        int      // files back empty, non-empty before the cut
	Shortened      int      // files back shorter, not empty
	BytesDropped   int64    // bytes of the unsynced files not back
	EntriesLost    int      // names present before the cut and gone after it
	EntriesBack    int      // names gone before the cut (unlinked, renamed away) and back after it
	EntriesChanged int      // names that lead to another file or directory than before the cut
	Files, Dirs    int      // what the file system holds after the cut
	Lost           []string // the names lost, relative to the mount, sorted
	Changed        []string // the names changed, sorted
}

func (r CutReport) String() string {
	return fmt.Sprintf("dropped %d unsynced files (%d emptied, %d shortened, %d bytes), %d entries lost, %d back, %d changed; %d files, %d directories left",
		r.UnsyncedFiles, r.Emptied, r.Shortened, r.BytesDropped, r.EntriesLost, r.EntriesBack, r.EntriesChanged, r.Files, r.Dirs)
}

// FS is a mounted lossy file system.
type FS struct {
	backing, mountpoint, state string
	opts                       Options
	dev                        uint64

	server *fuse.Server

	mu    sync.Mutex
	dirs  map[uint64]*dirSnap   // durable entries by directory identity
	files map[uint64]*fileState // files changed since a durable point, by identity
	seq   uint64                // orders the directory snapshots
	stats Stats
	cuts  atomic.Int64
}

// dirSnap is the durable content of one directory.
type dirSnap struct {
	seq     uint64
	entries map[string]dent
}

// dent is one durable directory entry.
type dent struct {
	ino    uint64
	mode   uint32 // file type and permissions
	target string // of a symbolic link
}

// fileState is the durability of one file identity. mu serialises the
// changes of the file with taking its durable copy.
type fileState struct {
	mu     sync.Mutex
	dirty  bool // changed since its last durable point
	copied bool // the durable contents are in the state directory (else: empty)
}

// Mount serves backing at mountpoint (both existing directories) and
// takes everything in backing as durable.
func Mount(backing, mountpoint string, o Options) (*FS, error) {
	var err error
	if backing, err = filepath.Abs(backing); err != nil {
		return nil, err
	}
	if mountpoint, err = filepath.Abs(mountpoint); err != nil {
		return nil, err
	}
	if o.StateDir == "" {
		o.StateDir = backing + ".powercut"
	}
	pc := &FS{backing: backing, mountpoint: mountpoint, state: o.StateDir, opts: o}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, fmt.Errorf("powercut: backing directory: %w", err)
	}
	pc.dev = st.Dev
	if err := pc.resetState(); err != nil {
		return nil, err
	}
	if err := pc.mount(); err != nil {
		return nil, err
	}
	return pc, nil
}

// Mountpoint is where the file system is mounted.
func (pc *FS) Mountpoint() string { return pc.mountpoint }

// Stats returns the counters since Mount.
func (pc *FS) Stats() Stats {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	s := pc.stats
	s.Cuts = int(pc.cuts.Load())
	return s
}

// resetState empties the state directory and takes the backing tree as
// durable.
func (pc *FS) resetState() error {
	if err := os.RemoveAll(pc.state); err != nil {
		return fmt.Errorf("powercut: state directory: %w", err)
	}
	for _, d := range []string{pc.graveyard(), pc.durableDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("powercut: state directory: %w", err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Stat(pc.state, &st); err != nil {
		return fmt.Errorf("powercut: state directory: %w", err)
	}
	if st.Dev != pc.dev {
		return fmt.Errorf("powercut: state directory %s is not on the backing directory's file system", pc.state)
	}
	dirs := map[uint64]*dirSnap{}
	err := walkDirs(pc.backing, func(path string, ino uint64) error {
		s, err := pc.snapshot(path)
		dirs[ino] = s
		return err
	})
	if err != nil {
		return err
	}
	pc.mu.Lock()
	pc.dirs, pc.files = dirs, map[uint64]*fileState{}
	pc.mu.Unlock()
	return nil
}

func (pc *FS) graveyard() string  { return filepath.Join(pc.state, "graveyard") }
func (pc *FS) durableDir() string { return filepath.Join(pc.state, "durable") }
func (pc *FS) copyPath(ino uint64) string {
	return filepath.Join(pc.durableDir(), strconv.FormatUint(ino, 10))
}

// walkDirs calls fn for every directory below root (root included) and
// fails on a mount inside root.
func walkDirs(root string, fn func(path string, ino uint64) error) error {
	var rst syscall.Stat_t
	if err := syscall.Lstat(root, &rst); err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		if st.Dev != rst.Dev {
			return fmt.Errorf("powercut: %s is another file system; the backing directory must be one", p)
		}
		return fn(p, st.Ino)
	})
}

// snapshot reads the entries of the backing directory at path.
func (pc *FS) snapshot(path string) (*dirSnap, error) {
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	s := &dirSnap{entries: make(map[string]dent, len(ents))}
	for _, e := range ents {
		p := filepath.Join(path, e.Name())
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			if errors.Is(err, syscall.ENOENT) {
				continue // removed meanwhile: a concurrent change may or may not be in the snapshot
			}
			return nil, err
		}
		d := dent{ino: st.Ino, mode: st.Mode}
		if st.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			if d.target, err = os.Readlink(p); err != nil {
				return nil, err
			}
		}
		s.entries[e.Name()] = d
	}
	return s, nil
}

// syncDir makes the current entries of the backing directory at path
// durable.
func (pc *FS) syncDir(path string) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return err
	}
	s, err := pc.snapshot(path)
	if err != nil {
		return err
	}
	ino := st.Ino
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.seq++
	s.seq = pc.seq
	pc.dirs[ino] = s
	pc.stats.DirFsyncs++
	return nil
}

// file returns the state of identity ino (clean when first asked).
func (pc *FS) file(ino uint64) *fileState {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	st := pc.files[ino]
	if st == nil {
		st = &fileState{}
		pc.files[ino] = st
	}
	return st
}

// created marks ino as a new file: its durable contents are empty.
func (pc *FS) created(ino uint64) *fileState {
	st := pc.file(ino)
	st.mu.Lock()
	st.dirty, st.copied = true, false
	st.mu.Unlock()
	return st
}

// beforeChange takes the durable copy of a clean file before its first
// change; open opens the live contents for reading. st.mu must be held.
func (pc *FS) beforeChange(st *fileState, ino uint64, open func() (*os.File, error)) syscall.Errno {
	if st.dirty {
		return 0
	}
	src, err := open()
	if err != nil {
		return fs.ToErrno(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(pc.copyPath(ino), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fs.ToErrno(err)
	}
	n, err := dst.ReadFrom(src)
	if err = errors.Join(err, dst.Close()); err != nil {
		return fs.ToErrno(err)
	}
	st.dirty, st.copied = true, true
	pc.mu.Lock()
	pc.stats.Copies++
	pc.stats.CopiedBytes += n
	pc.mu.Unlock()
	return 0
}

// synced makes the live contents of a file durable.
func (pc *FS) synced(st *fileState, ino uint64) {
	st.mu.Lock()
	if st.copied {
		os.Remove(pc.copyPath(ino))
	}
	st.dirty, st.copied = false, false
	st.mu.Unlock()
	pc.mu.Lock()
	pc.stats.Fsyncs++
	pc.mu.Unlock()
}

// bury keeps the identity of the file or directory at path alive in the
// graveyard before it loses its name. A directory is moved there (the
// caller's rmdir or rename-over then finds it gone); a file gets a link.
func (pc *FS) bury(path string) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return fs.ToErrno(err)
	}
	g := filepath.Join(pc.graveyard(), strconv.FormatUint(st.Ino, 10))
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		f, err := os.Open(path)
		if err != nil {
			return fs.ToErrno(err)
		}
		names, err := f.Readdirnames(1)
		f.Close()
		if len(names) > 0 {
			return syscall.ENOTEMPTY
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fs.ToErrno(err)
		}
		return fs.ToErrno(os.Rename(path, g))
	case syscall.S_IFREG:
		if err := os.Link(path, g); err != nil && !errors.Is(err, os.ErrExist) {
			return fs.ToErrno(err)
		}
	}
	return 0
}

func (pc *FS) mount() error {
	root := &fs.LoopbackRoot{Path: pc.backing, Dev: pc.dev}
	rn := &node{LoopbackNode: &fs.LoopbackNode{RootData: root}, pc: pc}
	root.RootNode = rn
	opts := &fs.Options{MountOptions: fuse.MountOptions{
		DirectMount: true, FsName: "powercut", Name: "powercut", Debug: pc.opts.Debug,
	}}
	server, err := fs.Mount(pc.mountpoint, rn, opts)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrMount, pc.mountpoint, err)
	}
	pc.server = server
	return nil
}

// unmount ends the mount; if files are still open it aborts the FUSE
// connection and detaches the mount.
func (pc *FS) unmount() error {
	if pc.server == nil {
		return nil
	}
	if err := pc.server.Unmount(); err != nil {
		if err := syscall.Unmount(pc.mountpoint, syscall.MNT_FORCE|syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("powercut: unmount %s: %w", pc.mountpoint, err)
		}
	}
	pc.server.Wait()
	pc.server = nil
	return nil
}

// Cut is the power cut: it unmounts, rebuilds the backing directory from
// the durable state and mounts again. The caller has ended every process
// using the file system.
func (pc *FS) Cut() (CutReport, error) {
	if err := pc.unmount(); err != nil {
		return CutReport{}, err
	}
	rep, err := pc.rebuild()
	if err != nil {
		return rep, err
	}
	pc.cuts.Add(1)
	if err := pc.resetState(); err != nil {
		return rep, err
	}
	return rep, pc.mount()
}

// Close unmounts and removes the state directory; the backing directory
// keeps the live state.
func (pc *FS) Close() error {
	err := pc.unmount()
	return errors.Join(err, os.RemoveAll(pc.state))
}

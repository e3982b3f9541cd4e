package powercut

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// ent is one name of a tree: its identity, file type and mode, and size.
type ent struct {
	ino  uint64
	mode uint32
	size int64
}

func isType(mode, t uint32) bool { return mode&syscall.S_IFMT == t }

// liveTree lists every name below root (relative path → entry) and where
// each identity can be reached (the first path found).
func liveTree(root string, where map[uint64]string) (map[string]ent, error) {
	tree := map[string]ent{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		tree[rel] = ent{ino: st.Ino, mode: st.Mode, size: st.Size}
		if _, ok := where[st.Ino]; !ok {
			where[st.Ino] = p
		}
		return nil
	})
	return tree, err
}

// rebuild replaces the backing tree with its durable state (the file
// system is unmounted) and reports the difference.
func (pc *FS) rebuild() (CutReport, error) {
	var rep CutReport
	pc.mu.Lock()
	defer pc.mu.Unlock()
	where := map[uint64]string{}
	live, err := liveTree(pc.backing, where)
	if err != nil {
		return rep, fmt.Errorf("powercut: reading the live tree: %w", err)
	}
	if _, err := liveTree(pc.graveyard(), where); err != nil {
		return rep, fmt.Errorf("powercut: reading the graveyard: %w", err)
	}
	var rst syscall.Stat_t
	if err := syscall.Stat(pc.backing, &rst); err != nil {
		return rep, err
	}

	// A directory comes back under the newest durable entry naming it.
	type home struct {
		parent uint64
		name   string
		seq    uint64
	}
	homes := map[uint64]home{}
	for pino, s := range pc.dirs {
		for name, d := range s.entries {
			if h, ok := homes[d.ino]; isType(d.mode, syscall.S_IFDIR) && (!ok || s.seq > h.seq) {
				homes[d.ino] = home{pino, name, s.seq}
			}
		}
	}

	newRoot := filepath.Join(pc.state, "new")
	if err := os.Mkdir(newRoot, 0o700); err != nil {
		return rep, err
	}
	after := map[string]ent{}
	placed := map[uint64]string{} // file identity → its first path in the new tree
	type job struct {
		ino uint64
		rel string
	}
	for queue := []job{{rst.Ino, ""}}; len(queue) > 0; queue = queue[1:] {
		j := queue[0]
		s := pc.dirs[j.ino]
		if s == nil {
			continue // never fsync'd: empty
		}
		names := make([]string, 0, len(s.entries))
		for name := range s.entries {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			d := s.entries[name]
			rel := filepath.Join(j.rel, name)
			np := filepath.Join(newRoot, rel)
			switch d.mode & syscall.S_IFMT {
			case syscall.S_IFDIR:
				if h := homes[d.ino]; h.parent != j.ino || h.name != name {
					continue
				}
				if err := os.Mkdir(np, 0o700); err != nil {
					return rep, err
				}
				if err := os.Chmod(np, os.FileMode(d.mode&0o777)); err != nil {
					return rep, err
				}
				after[rel] = ent{ino: d.ino, mode: d.mode}
				queue = append(queue, job{d.ino, rel})
			case syscall.S_IFREG:
				size, err := pc.materialize(d, np, placed, where)
				if err != nil {
					return rep, err
				}
				after[rel] = ent{ino: d.ino, mode: d.mode, size: size}
			case syscall.S_IFLNK:
				if err := os.Symlink(d.target, np); err != nil {
					return rep, err
				}
				after[rel] = ent{ino: d.ino, mode: d.mode}
			}
		}
	}
	pc.report(&rep, live, after)
	return rep, pc.swap(newRoot)
}

// materialize makes the durable file d at np: another link of an
// identity already placed, the durable copy, an empty file (never
// fsync'd) or a link of the live inode (unchanged since its durable point).
func (pc *FS) materialize(d dent, np string, placed map[uint64]string, where map[uint64]string) (int64, error) {
	if first, ok := placed[d.ino]; ok {
		if err := os.Link(first, np); err != nil {
			return 0, err
		}
		return fileSize(np)
	}
	st := pc.files[d.ino]
	var err error
	switch {
	case st != nil && st.dirty && st.copied:
		err = os.Rename(pc.copyPath(d.ino), np)
	case st != nil && st.dirty:
		var f *os.File
		if f, err = os.Create(np); err == nil {
			err = f.Close()
		}
	default:
		src, ok := where[d.ino]
		if !ok {
			return 0, fmt.Errorf("%w: file %d has a durable entry but no live inode", ErrModel, d.ino)
		}
		err = os.Link(src, np)
	}
	if err == nil {
		err = os.Chmod(np, os.FileMode(d.mode&0o777))
	}
	if err != nil {
		return 0, err
	}
	placed[d.ino] = np
	return fileSize(np)
}

func fileSize(p string) (int64, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// report compares the live tree with the rebuilt one.
func (pc *FS) report(rep *CutReport, live, after map[string]ent) {
	dirty := map[uint64]int64{} // changed identities of the live tree → live size
	for _, e := range live {
		if st := pc.files[e.ino]; isType(e.mode, syscall.S_IFREG) && st != nil && st.dirty {
			dirty[e.ino] = e.size
		}
	}
	back := map[uint64]int64{}
	for rel, a := range after {
		switch {
		case isType(a.mode, syscall.S_IFDIR):
			rep.Dirs++
		case isType(a.mode, syscall.S_IFREG):
			rep.Files++
			back[a.ino] = a.size
		}
		if _, ok := live[rel]; !ok {
			rep.EntriesBack++
		}
	}
	for rel, e := range live {
		if a, ok := after[rel]; !ok {
			rep.EntriesLost++
			rep.Lost = append(rep.Lost, rel)
		} else if a.ino != e.ino {
			rep.EntriesChanged++
			rep.Changed = append(rep.Changed, rel)
		}
	}
	sort.Strings(rep.Lost)
	sort.Strings(rep.Changed)
	rep.UnsyncedFiles = len(dirty)
	for ino, size := range dirty {
		b, ok := back[ino]
		switch {
		case !ok:
			rep.BytesDropped += size
		case b < size && b == 0:
			rep.Emptied++
			rep.BytesDropped += size
		case b < size:
			rep.Shortened++
			rep.BytesDropped += size - b
		}
	}
}

// swap moves the live tree out of the backing directory and the rebuilt
// one in; resetState then removes the old one with the state directory.
func (pc *FS) swap(newRoot string) error {
	old := filepath.Join(pc.state, "old")
	if err := os.Mkdir(old, 0o700); err != nil {
		return err
	}
	move := func(from, to string) error {
		ents, err := os.ReadDir(from)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	if err := move(pc.backing, old); err != nil {
		return fmt.Errorf("powercut: moving the live tree away: %w", err)
	}
	if err := move(newRoot, pc.backing); err != nil {
		return fmt.Errorf("powercut: moving the durable tree in: %w", err)
	}
	return nil
}

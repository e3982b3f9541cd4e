package powercut

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// node is a loopback node that records durability: every node of the
// tree is one (WrapChild), so each change passes through here.
type node struct {
	*fs.LoopbackNode
	pc *FS
}

var (
	_ fs.NodeWrapChilder     = (*node)(nil)
	_ fs.NodeOpener          = (*node)(nil)
	_ fs.NodeCreater         = (*node)(nil)
	_ fs.NodeMknoder         = (*node)(nil)
	_ fs.NodeSetattrer       = (*node)(nil)
	_ fs.NodeUnlinker        = (*node)(nil)
	_ fs.NodeRmdirer         = (*node)(nil)
	_ fs.NodeRenamer         = (*node)(nil)
	_ fs.NodeTmpfiler        = (*node)(nil)
	_ fs.NodeCopyFileRanger  = (*node)(nil)
	_ fs.NodeOpendirHandler  = (*node)(nil)
	_ fs.FileReaddirenter    = (*dirHandle)(nil)
	_ fs.FileFsyncdirer      = (*dirHandle)(nil)
	_ fs.FileSeekdirer       = (*dirHandle)(nil)
	_ fs.FileReleasedirer    = (*dirHandle)(nil)
	_ fs.FileWriter          = (*handle)(nil)
	_ fs.FileFsyncer         = (*handle)(nil)
	_ fs.FileSetattrer       = (*handle)(nil)
	_ fs.FileAllocater       = (*handle)(nil)
	_ fs.FilePassthroughFder = (*fs.LoopbackFile)(nil) // handle deliberately is not one: every write must pass here
)

func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), pc: n.pc}
}

// bpath is the node's path in the backing directory.
func (n *node) bpath() string { return filepath.Join(n.pc.backing, n.Path(n.Root())) }

// ino is the node's identity, its backing inode (go-fuse numbers only the
// root differently, and the root is never a file).
func (n *node) ino() uint64 { return n.StableAttr().Ino }

// openLive opens the backing file at path for reading its live contents.
func openLive(path string) func() (*os.File, error) {
	return func() (*os.File, error) { return os.Open(path) }
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ino := n.ino()
	st := n.pc.file(ino)
	if flags&syscall.O_TRUNC != 0 {
		st.mu.Lock()
		defer st.mu.Unlock()
		if errno := n.pc.beforeChange(st, ino, openLive(n.bpath())); errno != 0 {
			return nil, 0, errno
		}
	}
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &handle{lf: fh.(*fs.LoopbackFile), st: st, ino: ino, pc: n.pc}, fl, 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	p := filepath.Join(n.bpath(), name)
	var pre syscall.Stat_t
	existed := syscall.Lstat(p, &pre) == nil
	var st *fileState
	if existed { // a name the kernel did not know yet: an open of an existing file
		st = n.pc.file(pre.Ino)
		st.mu.Lock()
		defer st.mu.Unlock()
		if flags&syscall.O_TRUNC != 0 {
			if errno := n.pc.beforeChange(st, pre.Ino, openLive(p)); errno != 0 {
				return nil, nil, 0, errno
			}
		}
	}
	ch, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	ino := ch.StableAttr().Ino
	if !existed {
		st = n.pc.created(ino)
	}
	return ch, &handle{lf: fh.(*fs.LoopbackFile), st: st, ino: ino, pc: n.pc}, fl, 0
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ch, errno := n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
	if errno == 0 && mode&syscall.S_IFMT == syscall.S_IFREG {
		n.pc.created(ch.StableAttr().Ino)
	}
	return ch, errno
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if _, ok := in.GetSize(); ok && f == nil { // with a handle, the handle's Setattr takes the copy
		ino := n.ino()
		st := n.pc.file(ino)
		st.mu.Lock()
		defer st.mu.Unlock()
		if errno := n.pc.beforeChange(st, ino, openLive(n.bpath())); errno != 0 {
			return errno
		}
	}
	return n.LoopbackNode.Setattr(ctx, f, in, out)
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if errno := n.pc.bury(filepath.Join(n.bpath(), name)); errno != 0 {
		return errno
	}
	return n.LoopbackNode.Unlink(ctx, name)
}

// Rmdir moves the empty directory into the graveyard instead of removing it.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	p := filepath.Join(n.bpath(), name)
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return fs.ToErrno(err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return syscall.ENOTDIR
	}
	return n.pc.bury(p)
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	if flags&(unix.RENAME_EXCHANGE|unix.RENAME_NOREPLACE) == 0 {
		var s, d syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(n.bpath(), name), &s); err != nil {
			return fs.ToErrno(err)
		}
		dst := filepath.Join(np.bpath(), newName)
		if err := syscall.Lstat(dst, &d); err == nil && d.Ino != s.Ino {
			sdir, ddir := s.Mode&syscall.S_IFMT == syscall.S_IFDIR, d.Mode&syscall.S_IFMT == syscall.S_IFDIR
			switch {
			case sdir && !ddir:
				return syscall.ENOTDIR
			case !sdir && ddir:
				return syscall.EISDIR
			}
			if errno := n.pc.bury(dst); errno != 0 {
				return errno
			}
		}
	}
	return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
}

// Tmpfile is refused: a file without a name cannot be made durable here.
func (n *node) Tmpfile(ctx context.Context, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EOPNOTSUPP
}

// CopyFileRange is left to the kernel's fallback (reads and writes).
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, length uint64, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOSYS
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{inner: fh, n: n}, fl, 0
}

// dirHandle is an open directory: fsync makes its entries durable.
type dirHandle struct {
	inner fs.FileHandle
	n     *node
}

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	return d.inner.(fs.FileReaddirenter).Readdirent(ctx)
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	return d.inner.(fs.FileSeekdirer).Seekdir(ctx, off)
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	d.inner.(fs.FileReleasedirer).Releasedir(ctx, flags)
}

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return fs.ToErrno(d.n.pc.syncDir(d.n.bpath()))
}

// handle is an open file: every change takes the durable copy first,
// fsync makes the live contents durable.
type handle struct {
	lf  *fs.LoopbackFile
	st  *fileState
	ino uint64
	pc  *FS
}

// live reopens the handle's file for reading (it may be open write-only
// or have no name left).
func (h *handle) live() (*os.File, error) {
	fd, _ := h.lf.PassthroughFd()
	return os.Open("/proc/self/fd/" + strconv.Itoa(fd))
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	return h.lf.Read(ctx, dest, off)
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if errno := h.pc.beforeChange(h.st, h.ino, h.live); errno != 0 {
		return 0, errno
	}
	return h.lf.Write(ctx, data, off)
}

func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if _, ok := in.GetSize(); ok {
		h.st.mu.Lock()
		defer h.st.mu.Unlock()
		if errno := h.pc.beforeChange(h.st, h.ino, h.live); errno != 0 {
			return errno
		}
	}
	return h.lf.Setattr(ctx, in, out)
}

func (h *handle) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if errno := h.pc.beforeChange(h.st, h.ino, h.live); errno != 0 {
		return errno
	}
	return h.lf.Allocate(ctx, off, size, mode)
}

// Fsync makes the live contents durable; the backing file itself need
// not be synced, the model is the durable state.
func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	h.pc.synced(h.st, h.ino)
	return 0
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.lf.Getattr(ctx, out)
}

func (h *handle) Flush(ctx context.Context) syscall.Errno { return h.lf.Flush(ctx) }

func (h *handle) Release(ctx context.Context) syscall.Errno { return h.lf.Release(ctx) }

func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return h.lf.Lseek(ctx, off, whence)
}

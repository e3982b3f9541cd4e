// Package powercut is a FUSE file system that forgets, at a simulated power
// cut, everything a real disk may forget: every write that was not made
// durable by fsync. It exists to test the gateway's durability rule
// (fsync the file, rename, fsync the directory; acknowledge nothing
// before) against more than kill -9, where the kernel's page cache keeps
// every write.
//
// Mount passes every operation through to a backing directory (go-fuse's
// loopback) and keeps, beside it, the durable state: what a disk would
// still hold after a power cut, by the POSIX minimum.
//
//   - Everything present at Mount is durable.
//   - A file's contents become durable only at fsync or fdatasync of that
//     file. Before the first change after a durable point the file's
//     contents are copied (keyed by its identity, the backing inode), so
//     the durable contents are those of the last fsync.
//   - A directory's entries (name → identity, sub-directories and symbolic
//     links with their target included) become durable only at fsync of
//     that directory (FUSE FSYNCDIR, Go's (*os.File).Sync on a directory).
//   - A file whose entry is durable but whose contents were never fsync'd
//     comes back empty; a directory whose entry is durable but which was
//     never fsync'd comes back empty.
//   - Identities are never reused within a run: before an unlink or a
//     rename over a file its backing inode is hard-linked into a graveyard,
//     and rmdir renames the directory into the graveyard, so a durable
//     entry never shows another file's contents. Two durable entries of
//     one identity (hard links, or a rename whose source directory was
//     fsync'd before and the target directory after it) come back as two
//     links of one file.
//
// Cut is the power cut: it unmounts (forcibly, aborting the FUSE
// connection, if a file is still open: the caller kills every process
// using the file system first), rebuilds the backing directory from the
// durable state, reports what was dropped, and mounts again; afterwards
// everything present is durable. The graveyard and the durable copies live
// in a state directory beside the backing directory on the same file
// system (Options.StateDir), never in the mounted view.
//
// What it does not model: the order of writes within a file (a cut drops
// everything since the last fsync, never a part of it, and never keeps a
// later write while dropping an earlier one); torn or reordered sector
// writes; data that a real disk happened to write back without fsync
// (this file system keeps nothing of it); metadata other than the
// directory entries and a file's mode (mtime, ownership, extended
// attributes come back as they were live, or as the rebuild sets them);
// special files (device nodes, FIFOs, sockets are not restored); a
// directory with two durable parents comes back under the one fsync'd last
// (a directory reachable only through a cycle of stale entries is lost).
// File locks are the kernel's own (EnableLocks off), so they work between
// the processes of this machine only. O_TMPFILE is refused (EOPNOTSUPP)
// and copy_file_range falls back to plain reads and writes in the kernel.
// The backing directory must be one file system (no mounts inside).
//
// Errors: Mount fails when FUSE cannot mount (no /dev/fuse, no privilege,
// no fusermount fallback) with the reason; Cut fails when the rebuild
// finds an inconsistency of its own model (an error of this package, never
// of the code under test) or the mount cannot be renewed. The file system
// is a test tool: it is slow (the first change after each fsync copies
// the whole file) and keeps every deleted file until the next Cut or Close.
package powercut

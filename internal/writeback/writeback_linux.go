package writeback

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the dirty pages of
// [off, off+n) of f, without waiting for them.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

package mailbox

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// cloneFile makes newname a copy-on-write clone of oldname and fsyncs it;
// errNoClone when the file system cannot.
func cloneFile(oldname, newname string) error {
	src, err := os.Open(oldname)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(newname, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	err = unix.IoctlFileClone(int(dst.Fd()), int(src.Fd()))
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		return nil
	}
	_ = os.Remove(newname)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOTTY), errors.Is(err, unix.EINVAL),
		errors.Is(err, unix.EXDEV), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EBADF):
		return errNoClone
	}
	return err
}

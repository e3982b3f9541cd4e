// Package durable writes files that survive a crash or a power cut whole
// or not at all: the content goes to a temporary file beside the target,
// which is fsync'd, renamed over the target, and then the directory is
// fsync'd. A reader sees the old file or the new one, never a mix; when a
// function here returns nil the new content is on stable storage. Any
// failed step fails the call and removes the temporary file.
//
// The In variants work inside an os.Root: the target and its temporary
// file can never be reached through a symbolic link or outside the root.
// FileSHA256 is the checksum by which a copy is later known to be whole.
package durable

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// WriteFile replaces the file at name with data, created with perm.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	return Write(name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces the file at name with what write produces (buffered).
func Write(name string, perm os.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if err := fill(f, perm, write); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// fill writes, fsyncs and closes f.
func fill(f *os.File, perm os.FileMode, write func(io.Writer) error) error {
	err := f.Chmod(perm)
	if err == nil {
		bw := bufio.NewWriterSize(f, 256<<10)
		if err = write(bw); err == nil {
			err = bw.Flush()
		}
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// SyncDir fsyncs a directory, so that a create, rename or remove in it is
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// FileSHA256 returns the hex SHA-256 of the file at name: the checksum by
// which a copy (a backup, an intake's manifest) is known to be whole.
func FileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var tmpSeq atomic.Uint64

// WriteFileIn replaces the file name (slash-separated, relative to root)
// with data. The temporary file is created in tmpDir (relative to root,
// "" for name's own directory) with O_EXCL, so a link planted there is
// never followed; the rename replaces a link at name instead of writing
// through it.
func WriteFileIn(root *os.Root, name, tmpDir string, data []byte, perm os.FileMode) error {
	if tmpDir == "" {
		tmpDir = path.Dir(name)
	}
	tmp := path.Join(tmpDir, "."+path.Base(name)+"."+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(tmpSeq.Add(1), 10)+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := fill(f, perm, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return err
	}
	if tmpDir != path.Dir(name) {
		if err := SyncDirIn(root, tmpDir); err != nil {
			return err
		}
	}
	return SyncDirIn(root, path.Dir(name))
}

// SyncDirIn fsyncs the directory dir (relative to root).
func SyncDirIn(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

package certs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// MaxSecretFileBytes bounds a password or token file.
const MaxSecretFileBytes = 64 << 10

// ReadSecretFile reads a password or token file. Like a private-key file
// it is refused (ErrKeyFilePermissions, naming the file) when others may
// read it, and when its group may unless allowGroup; the check is made on
// the opened file, so a file swapped after the check is not read.
func ReadSecretFile(path string, allowGroup bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if err := checkSecretMode(path, fi, allowGroup); err != nil {
		if me, ok := err.(*KeyFileModeError); ok {
			me.Secret = true
		}
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("certs: read %s: %w", path, err)
	}
	if len(data) > MaxSecretFileBytes {
		return nil, fmt.Errorf("certs: %s is larger than %d bytes", path, MaxSecretFileBytes)
	}
	return data, nil
}

// checkSecretMode is the one rule for files holding secrets: not a
// directory or device, never readable by others, by group only when
// allowed.
func checkSecretMode(path string, fi fs.FileInfo, allowGroup bool) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("certs: %s is not a regular file", path)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	mask := fs.FileMode(0o077)
	if allowGroup {
		mask = 0o007
	}
	if fi.Mode().Perm()&mask != 0 {
		return &KeyFileModeError{Path: path, Mode: fi.Mode(), GroupAllowed: allowGroup}
	}
	return nil
}

package mailbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// JournalHead names the last entry of a journal: its sequence number and
// hash. An empty journal's head is Seq 0 with GenesisHash.
type JournalHead struct {
	Seq  int64
	Hash string
}

func (h JournalHead) String() string { return "#" + strconv.FormatInt(h.Seq, 10) + " " + h.Hash }

// ErrNoAnchor is returned when the journal head kept outside the journal
// is missing although it was established: it was removed, and truncation
// can no longer be ruled out.
var ErrNoAnchor = errors.New("mailbox: anchored journal head missing")

// ErrJournalTruncated is returned (with ErrJournalBroken) by VerifyJournal
// when the journal ends before its anchored head.
var ErrJournalTruncated = errors.New("mailbox: journal truncated")

const headMagic = "bebpo-journal-head/1"

// EncodeJournalHead returns the file form of a head: three lines.
func EncodeJournalHead(h JournalHead) []byte {
	return []byte(headMagic + "\nseq=" + strconv.FormatInt(h.Seq, 10) + "\nhash=" + h.Hash + "\n")
}

// ParseJournalHead reads what EncodeJournalHead wrote, strictly.
func ParseJournalHead(b []byte) (JournalHead, error) {
	lines := strings.Split(string(b), "\n")
	bad := fmt.Errorf("%w: journal head file is malformed", ErrJournalBroken)
	if len(lines) != 4 || lines[0] != headMagic || lines[3] != "" || !strings.HasPrefix(lines[1], "seq=") || !strings.HasPrefix(lines[2], "hash=") {
		return JournalHead{}, bad
	}
	seq, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "seq="), 10, 64)
	h := JournalHead{Seq: seq, Hash: strings.TrimPrefix(lines[2], "hash=")}
	if err != nil || seq < 0 || !validHex(h.Hash) {
		return JournalHead{}, bad
	}
	return h, nil
}

// WriteJournalHead replaces the head file at path atomically: a temporary
// file in the same directory is written and fsync'd, renamed over path,
// and the directory fsync'd. A reader sees the old head or the new one.
func WriteJournalHead(fs FileSystem, path string, h JournalHead) error {
	if fs == nil {
		fs = OSFS{}
	}
	dir := filepath.Dir(path)
	f, err := fs.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return diskErr("create journal head", err)
	}
	tmp := f.Name()
	_, err = f.Write(EncodeJournalHead(h))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return diskErr("write journal head", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return diskErr("fsync journal head directory", err)
	}
	return nil
}

// ReadJournalHead reads the head file at path; a missing file is
// ErrNotFound.
func ReadJournalHead(fs FileSystem, path string) (JournalHead, error) {
	if fs == nil {
		fs = OSFS{}
	}
	r, err := fs.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return JournalHead{}, fmt.Errorf("%w: journal head file", ErrNotFound)
	}
	if err != nil {
		return JournalHead{}, fmt.Errorf("mailbox: read journal head: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return JournalHead{}, fmt.Errorf("mailbox: read journal head: %w", err)
	}
	return ParseJournalHead(b)
}

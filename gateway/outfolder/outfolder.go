// Package outfolder is the outgoing folder (Fachdatenimport) that
// specialist applications drop submissions into. Each submission is a
// sub-directory with message.json, the documents and, last, the marker
// ".ready"; the watcher claims it by an atomic rename into processing/,
// submits it through the one submission path (package submit: same
// validation and limits as the API) and moves it to done/ or failed/ with
// result.json beside the documents. In done/, result.json then follows
// the message to its end: queued, sent (sentAt), confirmed (receptionAt)
// or failed (code and reason), each time replaced atomically (temporary
// file, fsync, rename, fsync directory), so a reader sees the old file or
// the new one. While the gateway is busy (the API's upload budget is
// spent) a submission waits for it, and after UploadWait stays in
// processing/ for the next round; it is never refused for that.
//
// Guarantees:
//   - A submission is sent at most once however often the daemon is
//     killed: its idempotency key is the directory name plus a hash of its
//     content, looked up before it is submitted again. Temporary failures
//     leave it in processing/ for the next round; only a refusal of the
//     request moves it to failed/, with the reason in result.json.
//   - Nothing outside the folder is read or written, whatever a local user
//     who can write the folder plants in it: every access goes through an
//     os.Root of the folder; processing/, done/ and failed/ must be real
//     directories (a link there stops the round with an error); a document
//     is read only if it is a regular file before it is opened and the
//     opened handle is the same regular file (a file swapped for a link,
//     a pipe or a device in between is refused), owned by the gateway or
//     the folder's owner; result.json is written to a new file and renamed
//     over whatever stands there, so a planted link is replaced, never
//     written through. Links, pipes, devices and sub-directories in a
//     submission are refused with a reason in failed/.
//   - No input can block a round: files are opened without blocking, so a
//     named pipe is refused like any non-regular file.
package outfolder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
)

// Folder is one watched outgoing folder.
type Folder struct {
	Root      string
	Mailbox   string        // used when message.json names none
	Interval  time.Duration // default 5s
	Submitter *submit.Submitter
	Logger    *zap.Logger
	Now       func() time.Time
	// Messages, when set, lets result.json of each submission in done/
	// follow its message to its end (sent, confirmed, failed).
	Messages Messages
	// Uploads, when set, is the byte budget the watcher waits for, at
	// most UploadWait (default 10 minutes) before it leaves the
	// submission for the next round.
	Uploads    Uploads
	UploadWait time.Duration

	tracked map[string]string // submissions in done/ not at their end → state last written
}

// Names inside an outgoing folder.
const (
	Marker      = ".ready"
	MessageFile = "message.json"
	ResultFile  = "result.json"
	Processing  = "processing"
	Done        = "done"
	Failed      = "failed"
)

// ErrUnsafeFolder stops a round: a directory the watcher moves submissions
// through is not a real directory of the folder.
var ErrUnsafeFolder = errors.New("outfolder: unsafe folder layout")

// errChanged is a document that changed while it was read; the
// submission is tried again in the next round.
var errChanged = errors.New("outfolder: a document changed while it was read")

// Result is the content of result.json: for a refused submission the
// error and the field; for an accepted one the message id and its state
// (queued, sent, confirmed, failed; held or deleted by an operator),
// rewritten atomically as the message moves on, with the time the
// intermediary took it (sentAt, Laufzettel Creation), the time the
// recipient fetched it (receptionAt, Reception) and, failed, the
// intermediary's code and reason. At is when the file was written.
type Result struct {
	ID            int64      `json:"id,omitempty"`
	State         string     `json:"state,omitempty"`
	Replayed      bool       `json:"replayed,omitempty"`
	Error         string     `json:"error,omitempty"`
	Field         string     `json:"field,omitempty"`
	OSCIMessageID string     `json:"osciMessageId,omitempty"`
	SentAt        *time.Time `json:"sentAt,omitempty"`
	ReceptionAt   *time.Time `json:"receptionAt,omitempty"`
	Code          string     `json:"code,omitempty"`
	Reason        string     `json:"reason,omitempty"`
	At            time.Time  `json:"at"`
}

func (o *Folder) defaults() {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UploadWait <= 0 {
		o.UploadWait = 10 * time.Minute
	}
}

// Run processes the folder every Interval until ctx ends.
func (o *Folder) Run(ctx context.Context) error {
	o.defaults()
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	last := "" // a failure that lasts is logged once, and again when it ends
	for {
		_, err := o.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != last:
			last = err.Error()
			o.Logger.Error("outgoing folder round failed; nothing is taken from the folder until this is fixed", zap.Error(err))
		case err == nil && last != "":
			last = ""
			o.Logger.Info("outgoing folder works again")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// round is one pass over the folder, with the handle every access goes
// through and the owners whose files are accepted.
type round struct {
	*Folder
	root   *os.Root
	owners [2]uint32 // the gateway's user and the folder's owner
}

// RunOnce first finishes what processing/ holds (left by a crash or a
// temporary failure), then claims and submits every complete directory.
// It returns how many directories reached done/ or failed/.
func (o *Folder) RunOnce(ctx context.Context) (int, error) {
	o.defaults()
	if err := os.MkdirAll(o.Root, 0o750); err != nil { // the configured folder itself is trusted
		return 0, fmt.Errorf("outfolder: %w", err)
	}
	root, err := os.OpenRoot(o.Root)
	if err != nil {
		return 0, fmt.Errorf("outfolder: %w", err)
	}
	defer root.Close()
	r := &round{Folder: o, root: root, owners: [2]uint32{uint32(os.Getuid()), uint32(os.Getuid())}}
	if fi, err := root.Stat("."); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			r.owners[1] = st.Uid
		}
	}
	if err := r.prepare(); err != nil {
		return 0, err
	}
	finished := 0
	pending, err := r.subdirs(Processing)
	if err != nil {
		return 0, err
	}
	for _, name := range pending {
		if ctx.Err() != nil {
			return finished, ctx.Err()
		}
		done, err := r.process(ctx, name)
		if err != nil {
			return finished, err
		}
		if done {
			finished++
		}
	}
	fresh, err := r.subdirs(".")
	if err != nil {
		return finished, err
	}
	for _, name := range fresh {
		if ctx.Err() != nil {
			return finished, ctx.Err()
		}
		switch name {
		case Processing, Done, Failed:
			continue
		}
		if fi, err := root.Lstat(path.Join(name, Marker)); err != nil || !fi.Mode().IsRegular() {
			continue // not complete yet
		}
		claimed := path.Join(Processing, name)
		if _, err := root.Lstat(claimed); err == nil {
			o.Logger.Warn("outgoing folder: a directory of this name is still being processed; left in place", zap.String("submission", name))
			continue
		}
		if err := root.Rename(name, claimed); err != nil {
			return finished, fmt.Errorf("outfolder: claim: %w", err)
		}
		if err := errors.Join(durable.SyncDirIn(root, "."), durable.SyncDirIn(root, Processing)); err != nil {
			return finished, fmt.Errorf("outfolder: %w", err)
		}
		done, err := r.process(ctx, name)
		if err != nil {
			return finished, err
		}
		if done {
			finished++
		}
	}
	return finished, r.track(ctx)
}

// prepare makes processing/, done/ and failed/ and refuses to work when
// one of them is not a real directory, and removes the temporary result
// files a crash left in processing/.
func (r *round) prepare() error {
	for _, d := range []string{Processing, Done, Failed} {
		fi, err := r.root.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			if err := r.root.Mkdir(d, 0o750); err != nil {
				return fmt.Errorf("outfolder: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("outfolder: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s in %s is a %s, not a directory; fix it before the folder is used again", ErrUnsafeFolder, d, r.Root, kind(fi))
		}
	}
	ents, err := r.entries(Processing)
	if err != nil {
		return err
	}
	for _, e := range ents {
		// Temporary files are the gateway's; whatever stands under such a
		// name (a link planted there included) is removed, not followed.
		if n := e.Name(); !e.IsDir() && strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") {
			r.root.Remove(path.Join(Processing, n))
		}
	}
	return nil
}

// kind names a file's type for an operator.
func kind(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	}
	return "special file"
}

func (r *round) entries(dir string) ([]fs.DirEntry, error) {
	f, err := r.root.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("outfolder: %w", err)
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("outfolder: %w", err)
	}
	return ents, nil
}

// subdirs lists the real directories in dir that do not start with a dot
// (a link to a directory is not one).
func (r *round) subdirs(dir string) ([]string, error) {
	ents, err := r.entries(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// process submits one claimed directory. It returns done=false with a nil
// error when a temporary failure leaves the directory for the next round.
func (r *round) process(ctx context.Context, name string) (bool, error) {
	dir := path.Join(Processing, name)
	acc, err := r.submit(ctx, name)
	res := Result{At: r.Now().UTC()}
	var fe *field.Error
	switch {
	case err == nil:
		res.ID, res.State, res.Replayed = acc.Message.ID, ResultQueued, acc.Replayed
		final := false
		if r.Messages != nil {
			final = r.follow(ctx, &res, acc.Message) // a replay may find the message further on
		}
		r.Logger.Info("outgoing folder: message accepted", zap.String("submission", name),
			zap.Int64(logging.KeyMessageID, acc.Message.ID), zap.String(logging.KeyState, res.State), zap.Bool("replayed", acc.Replayed))
		target, err := r.finish(dir, name, Done, res)
		if err == nil && r.tracked != nil && !final {
			r.tracked[path.Base(target)] = res.State
		}
		return true, err
	case errors.As(err, &fe):
		res.Error, res.Field = err.Error(), fe.Field
		// The reason may quote file names or subjects: it goes to result.json, not to the log.
		r.Logger.Warn("outgoing folder: submission refused", zap.String("submission", name), zap.String("field", fe.Field), zap.String(logging.KeyReason, fe.Err.Error()))
		_, err := r.finish(dir, name, Failed, res)
		return true, err
	case ctx.Err() != nil:
		return false, ctx.Err()
	default:
		r.Logger.Error("outgoing folder: submission failed; will retry", zap.String("submission", name), zap.Error(err))
		return false, nil
	}
}

// submit reads a claimed directory and hands it to the submission path.
func (r *round) submit(ctx context.Context, name string) (submit.Accepted, error) {
	dir := path.Join(Processing, name)
	if fi, err := r.root.Lstat(dir); err != nil || !fi.IsDir() {
		return submit.Accepted{}, fmt.Errorf("%w: %s is not a directory", ErrUnsafeFolder, dir)
	}
	msgFile, _, err := r.openRegular(path.Join(dir, MessageFile))
	if err != nil {
		return submit.Accepted{}, field.Errorf(nil, MessageFile, "cannot be read: %v", err)
	}
	req, err := r.Submitter.DecodeMessageRequest(msgFile)
	msgFile.Close()
	if err != nil {
		return submit.Accepted{}, err
	}
	if req.Mailbox == "" {
		req.Mailbox = r.Mailbox
	}
	files, digest, sums, err := r.content(dir)
	if err != nil {
		return submit.Accepted{}, err
	}
	key := "outfolder:" + name + ":" + digest
	if m, ok, err := r.Submitter.Lookup(ctx, key); err != nil || ok {
		return submit.Accepted{Message: m, Replayed: ok}, err
	}
	if r.Uploads != nil {
		release, err := r.waitForUploads(ctx, dir, files)
		if err != nil {
			return submit.Accepted{}, err
		}
		defer release()
	}
	draft := r.Submitter.Begin()
	defer draft.Abort()
	for i, n := range files {
		f, _, err := r.openRegular(path.Join(dir, n))
		if err != nil {
			return submit.Accepted{}, field.Errorf(nil, fmt.Sprintf("document[%d]", draft.Files()), "%s cannot be read: %v", n, err)
		}
		h := sha256.New()
		err = draft.AddDocument(n, "", io.TeeReader(f, h))
		f.Close()
		if err != nil {
			return submit.Accepted{}, err
		}
		if hex.EncodeToString(h.Sum(nil)) != sums[i] {
			return submit.Accepted{}, fmt.Errorf("%w: %s", errChanged, n)
		}
	}
	return draft.Commit(ctx, req, key)
}

// content lists the documents of a directory (every entry but
// message.json and the gateway's own files, in name order), refusing
// anything that is not a regular file, and hashes message.json and the
// documents into one digest.
func (r *round) content(dir string) (files []string, digest string, sums []string, err error) {
	ents, err := r.entries(dir)
	if err != nil {
		return nil, "", nil, err
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case ownFile(n):
			continue
		case !e.Type().IsRegular():
			return nil, "", nil, field.Errorf(nil, n, "is a %s; only regular files are accepted (no links, pipes or sub-directories)", kindOf(e))
		case n != MessageFile:
			files = append(files, n)
		}
	}
	sort.Strings(files)
	all := sha256.New()
	for _, n := range append([]string{MessageFile}, files...) {
		sum, err := r.hashFile(path.Join(dir, n))
		if err != nil {
			return nil, "", nil, field.Errorf(nil, n, "cannot be read: %v", err)
		}
		fmt.Fprintf(all, "%q %s\n", n, sum)
		if n != MessageFile {
			sums = append(sums, sum)
		}
	}
	return files, hex.EncodeToString(all.Sum(nil)), sums, nil
}

func kindOf(e fs.DirEntry) string {
	if fi, err := e.Info(); err == nil {
		return kind(fi)
	}
	return "special file"
}

func (r *round) hashFile(name string) (string, error) {
	f, _, err := r.openRegular(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var h hash.Hash = sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// beforeOpen, when set by a test, runs between the check of a file and its
// opening: where a local user would swap the file.
var beforeOpen func(name string)

// openRegular opens name for reading only if it is a regular file before
// it is opened and the opened handle is the same regular file, owned by
// the gateway's user or the folder's owner. It never blocks on a pipe.
func (r *round) openRegular(name string) (*os.File, fs.FileInfo, error) {
	before, err := r.root.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("is a %s, not a regular file", kind(before))
	}
	if beforeOpen != nil {
		beforeOpen(name)
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("became a %s while it was opened", kind(fi))
	case !os.SameFile(before, fi):
		err = errors.New("was replaced while it was opened")
	default:
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != r.owners[0] && st.Uid != r.owners[1] {
			err = fmt.Errorf("belongs to user %d, neither the gateway's nor the folder's owner", st.Uid)
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// finish writes result.json durably and moves the directory to done/ or
// failed/ (a name already there gets a time suffix). The temporary file is
// written in processing/, beside the submission, so a crash while it is
// written never leaves a file that the recovery would take for a
// document; the rename replaces whatever stands at result.json.
func (r *round) finish(dir, name, to string, res Result) (string, error) {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return "", err
	}
	if err := durable.WriteFileIn(r.root, path.Join(dir, ResultFile), Processing, append(data, '\n'), 0o640); err != nil {
		return "", fmt.Errorf("outfolder: result: %w", err)
	}
	target := path.Join(to, name)
	if _, err := r.root.Lstat(target); err == nil {
		target = fmt.Sprintf("%s-%d", target, r.Now().UnixNano())
	}
	if err := r.root.Rename(dir, target); err != nil {
		return "", fmt.Errorf("outfolder: %w", err)
	}
	if err := errors.Join(durable.SyncDirIn(r.root, Processing), durable.SyncDirIn(r.root, to)); err != nil {
		return "", fmt.Errorf("outfolder: %w", err)
	}
	return target, nil
}

// ownFile reports the gateway's own files in a submission directory: the
// marker, result.json, and temporary result files an older version wrote
// there. They are never documents and never part of the digest.
func ownFile(n string) bool {
	return n == Marker || n == ResultFile ||
		strings.HasPrefix(n, "."+ResultFile+".") && strings.HasSuffix(n, ".tmp")
}

// waitForUploads reserves the documents' bytes from the upload budget the
// API shares, waiting at most UploadWait: a busy gateway holds the
// submission back, never refuses it (it stays in processing/ for the next
// round).
func (r *round) waitForUploads(ctx context.Context, dir string, files []string) (func(), error) {
	var total int64
	for _, n := range files {
		if fi, err := r.root.Lstat(path.Join(dir, n)); err == nil {
			total += fi.Size()
		}
	}
	wctx, cancel := context.WithTimeout(ctx, r.UploadWait)
	defer cancel()
	release, err := r.Uploads.Acquire(wctx, total)
	if err != nil {
		return nil, fmt.Errorf("outfolder: waited %s for the upload budget: %w", r.UploadWait, err)
	}
	return release, nil
}

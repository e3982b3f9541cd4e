// Package outfolder is the outgoing folder (Fachdatenimport) that
// specialist applications drop submissions into. Each submission is a
// sub-directory with message.json, the documents and, last, the marker
// ".ready"; the watcher claims it by an atomic rename into processing/,
// submits it through the one submission path (package submit: same
// validation and limits as the API) and moves it to done/ or failed/ with
// result.json beside the documents.
//
// Guarantees: a submission is sent at most once however often the daemon
// is killed (its idempotency key is the directory name plus a hash of its
// content, looked up before it is submitted again); temporary failures
// leave it in processing/ for the next round, and only a refusal of the
// request moves it to failed/, with the reason in result.json.
package outfolder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// Folder is the outgoing folder (Fachdatenimport): a specialist
// application drops a sub-directory holding message.json (a
// MessageRequest) and the documents, and then creates the marker file
// ".ready" in it. The watcher polls the folder; a complete directory is
// claimed by an atomic rename into processing/, submitted through the
// same Submitter as the API (same validation, same limits), and moved to
// done/ or failed/ with result.json beside the documents.
//
// Crash safety: the idempotency key of a submission is the directory
// name plus a hash of its content, so a directory found in processing/
// after a restart is looked up first and never submitted twice; it is
// completed (moved to done/) or submitted for the first time. Temporary
// failures (a full disk, a store error) leave it in processing/ for the
// next round; only request errors (bad file names, unknown recipient,
// limits) move it to failed/.
type Folder struct {
	Root      string
	Mailbox   string        // used when message.json names none
	Interval  time.Duration // default 5s
	Submitter *submit.Submitter
	Logger    *zap.Logger
	Now       func() time.Time
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

// Result is the content of result.json.
type Result struct {
	ID       int64     `json:"id,omitempty"`
	State    string    `json:"state,omitempty"`
	Replayed bool      `json:"replayed,omitempty"`
	Error    string    `json:"error,omitempty"`
	Field    string    `json:"field,omitempty"`
	At       time.Time `json:"at"`
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
}

// Run processes the folder every Interval until ctx ends.
func (o *Folder) Run(ctx context.Context) error {
	o.defaults()
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		if _, err := o.RunOnce(ctx); err != nil && ctx.Err() == nil {
			o.Logger.Error("outgoing folder round failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce first finishes what processing/ holds (left by a crash or a
// temporary failure), then claims and submits every complete directory.
// It returns how many directories reached done/ or failed/.
func (o *Folder) RunOnce(ctx context.Context) (int, error) {
	o.defaults()
	for _, d := range []string{Processing, Done, Failed} {
		if err := os.MkdirAll(filepath.Join(o.Root, d), 0o750); err != nil {
			return 0, fmt.Errorf("outfolder: %w", err)
		}
	}
	finished := 0
	pending, err := subdirs(filepath.Join(o.Root, Processing))
	if err != nil {
		return 0, err
	}
	for _, name := range pending {
		if ctx.Err() != nil {
			return finished, ctx.Err()
		}
		done, err := o.process(ctx, name)
		if err != nil {
			return finished, err
		}
		if done {
			finished++
		}
	}
	fresh, err := subdirs(o.Root)
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
		if _, err := os.Lstat(filepath.Join(o.Root, name, Marker)); err != nil {
			continue // not complete yet
		}
		claimed := filepath.Join(o.Root, Processing, name)
		if _, err := os.Lstat(claimed); err == nil {
			o.Logger.Warn("outgoing folder: a directory of this name is still being processed; left in place", zap.String("submission", name))
			continue
		}
		if err := os.Rename(filepath.Join(o.Root, name), claimed); err != nil {
			return finished, fmt.Errorf("outfolder: claim: %w", err)
		}
		if err := errors.Join(durable.SyncDir(o.Root), durable.SyncDir(filepath.Dir(claimed))); err != nil {
			return finished, fmt.Errorf("outfolder: %w", err)
		}
		done, err := o.process(ctx, name)
		if err != nil {
			return finished, err
		}
		if done {
			finished++
		}
	}
	return finished, nil
}

// process submits one claimed directory. It returns done=false with a nil
// error when a temporary failure leaves the directory for the next round.
func (o *Folder) process(ctx context.Context, name string) (bool, error) {
	dir := filepath.Join(o.Root, Processing, name)
	acc, err := o.submit(ctx, name, dir)
	res := Result{At: o.Now().UTC()}
	var fe *field.Error
	switch {
	case err == nil:
		res.ID, res.State, res.Replayed = acc.Message.ID, string(acc.Message.State), acc.Replayed
		o.Logger.Info("outgoing folder: message accepted", zap.String("submission", name),
			zap.Int64(logging.KeyMessageID, acc.Message.ID), zap.String(logging.KeyState, res.State))
		return true, o.finish(dir, name, Done, res)
	case errors.As(err, &fe):
		res.Error, res.Field = err.Error(), fe.Field
		// The reason may quote file names or subjects: it goes to result.json, not to the log.
		o.Logger.Warn("outgoing folder: submission refused", zap.String("submission", name), zap.String("field", fe.Field), zap.String("reason", fe.Err.Error()))
		return true, o.finish(dir, name, Failed, res)
	case ctx.Err() != nil:
		return false, ctx.Err()
	default:
		o.Logger.Error("outgoing folder: submission failed; will retry", zap.String("submission", name), zap.Error(err))
		return false, nil
	}
}

// submit reads a claimed directory and hands it to the Submitter.
func (o *Folder) submit(ctx context.Context, name, dir string) (submit.Accepted, error) {
	msgFile, err := os.Open(filepath.Join(dir, MessageFile))
	if err != nil {
		return submit.Accepted{}, field.Errorf(nil, MessageFile, "cannot be read: %v", err)
	}
	req, err := o.Submitter.DecodeMessageRequest(msgFile)
	msgFile.Close()
	if err != nil {
		return submit.Accepted{}, err
	}
	if req.Mailbox == "" {
		req.Mailbox = o.Mailbox
	}
	files, digest, err := folderContent(dir)
	if err != nil {
		return submit.Accepted{}, err
	}
	key := "outfolder:" + name + ":" + digest
	if m, ok, err := o.Submitter.Lookup(ctx, key); err != nil || ok {
		return submit.Accepted{Message: m, Replayed: ok}, err
	}
	draft := o.Submitter.Begin()
	defer draft.Abort()
	for _, f := range files {
		if err := addFile(draft, filepath.Join(dir, f)); err != nil {
			return submit.Accepted{}, err
		}
	}
	return draft.Commit(ctx, req, key)
}

func addFile(d *submit.Draft, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return field.Errorf(nil, fmt.Sprintf("document[%d]", d.Files()), "cannot be read: %v", err)
	}
	defer f.Close()
	return d.AddDocument(filepath.Base(path), "", f)
}

// folderContent lists the documents of a directory (every regular file
// but message.json, the marker and result.json, in name order) and hashes
// message.json and the documents into one digest.
func folderContent(dir string) ([]string, string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", err
	}
	h := sha256.New()
	var files []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case ownFile(n):
			continue
		case !e.Type().IsRegular():
			return nil, "", field.Errorf(nil, n, "is not a regular file (sub-directories and links are not accepted)")
		case n != MessageFile:
			files = append(files, n)
		}
	}
	sort.Strings(files)
	for _, n := range append([]string{MessageFile}, files...) {
		fh, err := hashFile(filepath.Join(dir, n))
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "%q %s\n", n, fh)
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
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

// finish writes result.json durably and moves the directory to done/ or
// failed/ (a name already there gets a time suffix). The temporary file is
// written beside the submission directory, not in it, so a crash while it
// is written never leaves a file that the recovery would take for a
// document (which would change the submission's digest and lose the
// idempotency match).
func (o *Folder) finish(dir, name, to string, res Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := o.writeResult(dir, name, append(data, '\n')); err != nil {
		return fmt.Errorf("outfolder: %w", err)
	}
	target := filepath.Join(o.Root, to, name)
	if _, err := os.Lstat(target); err == nil {
		target = fmt.Sprintf("%s-%d", target, o.Now().UnixNano())
	}
	if err := os.Rename(dir, target); err != nil {
		return fmt.Errorf("outfolder: %w", err)
	}
	if err := errors.Join(durable.SyncDir(filepath.Dir(dir)), durable.SyncDir(filepath.Dir(target))); err != nil {
		return fmt.Errorf("outfolder: %w", err)
	}
	return nil
}

// resultTempPrefix names the temporary result files in processing/.
const resultTempPrefix = ".result-"

// writeResult writes dir/result.json: temporary file in processing/ →
// fsync → rename into dir → fsync dir.
func (o *Folder) writeResult(dir, name string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(dir), resultTempPrefix+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, ResultFile))
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return durable.SyncDir(dir)
}

// ownFile reports the gateway's own files in a submission directory: the
// marker, result.json, and temporary result files an older version wrote
// there. They are never documents and never part of the digest.
func ownFile(n string) bool {
	return n == Marker || n == ResultFile ||
		strings.HasPrefix(n, "."+ResultFile+".") && strings.HasSuffix(n, ".tmp")
}

// subdirs lists the directories in dir that do not start with a dot.
func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("outfolder: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

package gateway

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
)

// OutFolder is the outgoing folder (Fachdatenimport): a specialist
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
type OutFolder struct {
	Root      string
	Mailbox   string        // used when message.json names none
	Interval  time.Duration // default 5s
	Submitter *Submitter
	Logger    *zap.Logger
	Now       func() time.Time
}

// Names inside an outgoing folder.
const (
	OutFolderMarker     = ".ready"
	OutFolderMessage    = "message.json"
	OutFolderResultFile = "result.json"
	OutFolderProcessing = "processing"
	OutFolderDone       = "done"
	OutFolderFailed     = "failed"
)

// OutFolderResult is the content of result.json.
type OutFolderResult struct {
	ID       int64     `json:"id,omitempty"`
	State    string    `json:"state,omitempty"`
	Replayed bool      `json:"replayed,omitempty"`
	Error    string    `json:"error,omitempty"`
	Field    string    `json:"field,omitempty"`
	At       time.Time `json:"at"`
}

func (o *OutFolder) defaults() {
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
func (o *OutFolder) Run(ctx context.Context) error {
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
func (o *OutFolder) RunOnce(ctx context.Context) (int, error) {
	o.defaults()
	for _, d := range []string{OutFolderProcessing, OutFolderDone, OutFolderFailed} {
		if err := os.MkdirAll(filepath.Join(o.Root, d), 0o750); err != nil {
			return 0, fmt.Errorf("gateway: outgoing folder: %w", err)
		}
	}
	finished := 0
	pending, err := subdirs(filepath.Join(o.Root, OutFolderProcessing))
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
		case OutFolderProcessing, OutFolderDone, OutFolderFailed:
			continue
		}
		if _, err := os.Lstat(filepath.Join(o.Root, name, OutFolderMarker)); err != nil {
			continue // not complete yet
		}
		claimed := filepath.Join(o.Root, OutFolderProcessing, name)
		if _, err := os.Lstat(claimed); err == nil {
			o.Logger.Warn("outgoing folder: a directory of this name is still being processed; left in place", zap.String("submission", name))
			continue
		}
		if err := os.Rename(filepath.Join(o.Root, name), claimed); err != nil {
			return finished, fmt.Errorf("gateway: outgoing folder: claim: %w", err)
		}
		if err := errors.Join(syncDir(o.Root), syncDir(filepath.Dir(claimed))); err != nil {
			return finished, fmt.Errorf("gateway: outgoing folder: %w", err)
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
func (o *OutFolder) process(ctx context.Context, name string) (bool, error) {
	dir := filepath.Join(o.Root, OutFolderProcessing, name)
	acc, err := o.submit(ctx, name, dir)
	res := OutFolderResult{At: o.Now().UTC()}
	var fe *FieldError
	switch {
	case err == nil:
		res.ID, res.State, res.Replayed = acc.Message.ID, string(acc.Message.State), acc.Replayed
		o.Logger.Info("outgoing folder: message accepted", zap.String("submission", name),
			zap.Int64(LogKeyMessageID, acc.Message.ID), zap.String(LogKeyState, res.State))
		return true, o.finish(dir, name, OutFolderDone, res)
	case errors.As(err, &fe):
		res.Error, res.Field = err.Error(), fe.Field
		// The reason may quote file names or subjects: it goes to result.json, not to the log.
		o.Logger.Warn("outgoing folder: submission refused", zap.String("submission", name), zap.String("field", fe.Field), zap.String("reason", fe.Err.Error()))
		return true, o.finish(dir, name, OutFolderFailed, res)
	case ctx.Err() != nil:
		return false, ctx.Err()
	default:
		o.Logger.Error("outgoing folder: submission failed; will retry", zap.String("submission", name), zap.Error(err))
		return false, nil
	}
}

// submit reads a claimed directory and hands it to the Submitter.
func (o *OutFolder) submit(ctx context.Context, name, dir string) (Accepted, error) {
	msgFile, err := os.Open(filepath.Join(dir, OutFolderMessage))
	if err != nil {
		return Accepted{}, fieldErr(nil, OutFolderMessage, "cannot be read: %v", err)
	}
	req, err := o.Submitter.DecodeMessageRequest(msgFile)
	msgFile.Close()
	if err != nil {
		return Accepted{}, err
	}
	if req.Mailbox == "" {
		req.Mailbox = o.Mailbox
	}
	files, digest, err := folderContent(dir)
	if err != nil {
		return Accepted{}, err
	}
	key := "outfolder:" + name + ":" + digest
	if m, ok, err := o.Submitter.Lookup(ctx, key); err != nil || ok {
		return Accepted{Message: m, Replayed: ok}, err
	}
	draft := o.Submitter.Begin()
	defer draft.Abort()
	for _, f := range files {
		if err := addFile(draft, filepath.Join(dir, f)); err != nil {
			return Accepted{}, err
		}
	}
	return draft.Commit(ctx, req, key)
}

func addFile(d *Draft, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fieldErr(nil, fmt.Sprintf("document[%d]", d.Files()), "cannot be read: %v", err)
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
			return nil, "", fieldErr(nil, n, "is not a regular file (sub-directories and links are not accepted)")
		case n != OutFolderMessage:
			files = append(files, n)
		}
	}
	sort.Strings(files)
	for _, n := range append([]string{OutFolderMessage}, files...) {
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
func (o *OutFolder) finish(dir, name, to string, res OutFolderResult) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := o.writeResult(dir, name, append(data, '\n')); err != nil {
		return fmt.Errorf("gateway: outgoing folder: %w", err)
	}
	target := filepath.Join(o.Root, to, name)
	if _, err := os.Lstat(target); err == nil {
		target = fmt.Sprintf("%s-%d", target, o.Now().UnixNano())
	}
	if err := os.Rename(dir, target); err != nil {
		return fmt.Errorf("gateway: outgoing folder: %w", err)
	}
	if err := errors.Join(syncDir(filepath.Dir(dir)), syncDir(filepath.Dir(target))); err != nil {
		return fmt.Errorf("gateway: outgoing folder: %w", err)
	}
	return nil
}

// resultTempPrefix names the temporary result files in processing/.
const resultTempPrefix = ".result-"

// writeResult writes dir/result.json: temporary file in processing/ →
// fsync → rename into dir → fsync dir.
func (o *OutFolder) writeResult(dir, name string, data []byte) error {
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
		werr = os.Rename(tmp, filepath.Join(dir, OutFolderResultFile))
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return syncDir(dir)
}

// ownFile reports the gateway's own files in a submission directory: the
// marker, result.json, and temporary result files an older version wrote
// there. They are never documents and never part of the digest.
func ownFile(n string) bool {
	return n == OutFolderMarker || n == OutFolderResultFile ||
		strings.HasPrefix(n, "."+OutFolderResultFile+".") && strings.HasSuffix(n, ".tmp")
}

// subdirs lists the directories in dir that do not start with a dot.
func subdirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("gateway: outgoing folder: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

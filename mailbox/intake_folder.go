package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// FolderIntake writes one directory per message below Root (a "hot
// folder" for the eAkte).
//
// Completeness contract: a directory below Root whose name does not start
// with "." is complete. It holds the documents under dokumente/, the files
// metadata.json, metadata.xml, pruefprotokoll.xml, pruefprotokoll.html,
// pruefprotokoll.pdf (for an eAkte that files PDFs),
// nachricht.osci, the certificates of the checks under zertifikate/ (PEM),
// and manifest.sha256 listing the SHA-256 of every other
// file. The entry is assembled in ".tmp-<name>-*", every file and directory
// fsync'd, the manifest written last, then the directory is renamed to
// <name> (EntryName of the MessageId) and Root fsync'd. Consumers must
// ignore names starting with "." and may check the manifest with
// `sha256sum -c manifest.sha256`.
//
// Documents and the original are blobs: from a store that can link
// (BlobLinker: the folder store on the same file system) they are
// cloned, or hard-linked where the file system cannot clone, instead of
// copied; copied otherwise. A hard-linked file is the blob's inode, mode
// 0640, which only the daemon's user may write; a committed blob is
// immutable, so nothing the store does later changes the entry's file
// (removing the blob removes only its own name). A linked file is hashed
// as a copied one is, so a damaged blob fails the hand-over either way,
// and it is fsync'd and its directory fsync'd before the rename as every
// other file.
type FolderIntake struct {
	Root string
	FS   FileSystem       // default OSFS
	Now  func() time.Time // default time.Now
}

// StaleTempAge is how old a temporary entry directory must be before a
// starting gateway removes it as the leftover of a hand-over cut short:
// far longer than any hand-over runs, so that a gateway sharing the folder
// never loses the entry it is writing to another's start (the directory's
// time moves with every file written into it).
const StaleTempAge = 6 * time.Hour

// NewFolderIntake creates Root if needed and removes the temporary
// directories of hand-overs cut short by a crash, once they are older than
// StaleTempAge (a younger one may be another gateway's, writing now; it is
// hidden from consumers by its leading dot either way).
func NewFolderIntake(root string, fs FileSystem, now func() time.Time) (*FolderIntake, error) {
	f := &FolderIntake{Root: root, FS: fs, Now: now}
	if f.FS == nil {
		f.FS = OSFS{}
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	if err := f.FS.MkdirAll(root); err != nil {
		return nil, diskErr("create intake folder", err)
	}
	ents, err := f.FS.ReadDir(root)
	if err != nil {
		return nil, diskErr("list intake folder", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		p := filepath.Join(root, e.Name())
		fi, err := f.FS.Stat(p)
		if err != nil || f.Now().Sub(fi.ModTime()) < StaleTempAge {
			continue
		}
		if err := f.FS.RemoveAll(p); err != nil {
			return nil, diskErr("remove stale intake entry", err)
		}
	}
	return f, nil
}

// Name returns "folder".
func (f *FolderIntake) Name() string { return "folder" }

// Deliver writes the entry, or verifies and reports the one already there.
func (f *FolderIntake) Deliver(ctx context.Context, m *IntakeMessage) (IntakeRecord, error) {
	name := EntryName(m.Metadata.MessageID)
	final := filepath.Join(f.Root, name)
	if _, err := f.FS.Stat(final); err == nil {
		return f.existing(final, name, m)
	}
	files, err := entryFiles(m)
	if err != nil {
		return IntakeRecord{}, err
	}
	tmp, err := f.FS.MkdirTemp(f.Root, ".tmp-"+name+"-")
	if err != nil {
		return IntakeRecord{}, diskErr("create intake entry", err)
	}
	done := false
	defer func() {
		if !done {
			_ = f.FS.RemoveAll(tmp)
		}
	}()
	subdirs := map[string]bool{DocumentsDir: true}
	for _, ef := range files {
		if d := path.Dir(ef.Path); d != "." {
			subdirs[d] = true
		}
	}
	for d := range subdirs {
		if err := f.FS.MkdirAll(filepath.Join(tmp, filepath.FromSlash(d))); err != nil {
			return IntakeRecord{}, diskErr("create "+d, err)
		}
	}
	sums, err := f.writeFiles(ctx, tmp, files)
	if err != nil {
		return IntakeRecord{}, err
	}
	// The subdirectories and the manifest are made durable side by side:
	// all of them before the entry's own directory, and that before the
	// rename.
	manifest := Manifest(sums)
	var wg sync.WaitGroup
	errs := make([]error, 0, len(subdirs)+1)
	var mu sync.Mutex
	record := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for d := range subdirs {
		wg.Go(func() {
			if err := f.FS.SyncDir(filepath.Join(tmp, filepath.FromSlash(d))); err != nil {
				record(diskErr("fsync "+d, err))
			}
		})
	}
	wg.Go(func() {
		if _, err := f.writeFile(filepath.Join(tmp, FileManifest), entryFile{Path: FileManifest, Data: manifest}); err != nil {
			record(err)
		}
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return IntakeRecord{}, err
	}
	if err := f.FS.SyncDir(tmp); err != nil {
		return IntakeRecord{}, diskErr("fsync intake entry", err)
	}
	if err := f.FS.Rename(tmp, final); err != nil {
		return IntakeRecord{}, diskErr("rename intake entry", err)
	}
	done = true
	if err := f.FS.SyncDir(f.Root); err != nil {
		return IntakeRecord{}, diskErr("fsync intake folder", err)
	}
	ms := sha256.Sum256(manifest)
	return IntakeRecord{Sink: f.Name(), Location: name, ManifestSHA256: hex.EncodeToString(ms[:]), DeliveredAt: f.Now().UTC()}, nil
}

// writeFiles writes the entry's files below tmp and returns their
// SHA-256 by path. Each file is written and fsync'd, or linked and
// checked, on its own goroutine: the fsyncs of one entry are then
// committed together by the file system instead of one after another.
func (f *FolderIntake) writeFiles(ctx context.Context, tmp string, files []entryFile) (map[string]string, error) {
	sums := make([]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, ef := range files {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			break
		}
		dst := filepath.Join(tmp, filepath.FromSlash(ef.Path))
		if check, ok := f.linkFile(dst, ef); ok {
			wg.Go(func() { sums[i], errs[i] = check() })
			continue
		}
		wg.Go(func() { sums[i], errs[i] = f.writeFile(dst, ef) })
	}
	wg.Wait()
	out := map[string]string{}
	for i, ef := range files {
		if err := errs[i]; err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return nil, err
			}
			return nil, fmt.Errorf("intake %s: %w", ef.Path, err)
		}
		if sums[i] != "" {
			out[ef.Path] = sums[i]
		}
	}
	return out, nil
}

// writeFile creates, fills, checks and fsyncs one file.
func (f *FolderIntake) writeFile(dst string, ef entryFile) (string, error) {
	w, err := f.FS.Create(dst)
	if err != nil {
		return "", diskErr("create file", err)
	}
	r, err := ef.open()
	if err != nil {
		w.Close()
		return "", err
	}
	defer r.Close()
	ew := &ErrWriter{W: w}
	sum, err := hashingCopy(ew, r, ef.sha256())
	if ew.Err != nil {
		w.Close()
		return "", diskErr("write file", ew.Err)
	}
	if err != nil {
		w.Close()
		return "", err
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return "", diskErr("fsync file", err)
	}
	if err := w.Close(); err != nil {
		return "", diskErr("close file", err)
	}
	return sum, nil
}

// linkFile gives a blob its name in the entry without copying it
// (IntakeFile.Link) and returns check, which checks the content as a
// copy would: it must hash to the blob's SHA-256. ok is false when it
// could not link; the caller copies.
func (f *FolderIntake) linkFile(dst string, ef entryFile) (check func() (string, error), ok bool) {
	if ef.Blob == nil || ef.Blob.Link == nil {
		return nil, false
	}
	if err := ef.Blob.Link(dst); errors.Is(err, ErrNotLinked) {
		return nil, false
	} else if err != nil {
		return func() (string, error) { return "", diskErr("link file", err) }, true
	}
	return func() (string, error) {
		r, err := f.FS.Open(dst)
		if err != nil {
			return "", diskErr("open linked file", err)
		}
		defer r.Close()
		return hashingCopy(io.Discard, r, ef.sha256())
	}, true
}

// ErrWriter passes writes to W and keeps the first write error in Err
// (a short write counts as io.ErrShortWrite), so that an intake copying
// from a reader can tell a failing disk from a failing source.
type ErrWriter struct {
	W   io.Writer
	Err error
}

func (e *ErrWriter) Write(p []byte) (int, error) {
	n, err := e.W.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil && e.Err == nil {
		e.Err = err
	}
	return n, err
}

// existing checks an entry already in place: its manifest must cover every
// listed file with the right hash and its metadata must name the same
// MessageId and original. Then the hand-over is a repeat and succeeds.
func (f *FolderIntake) existing(dir, name string, m *IntakeMessage) (IntakeRecord, error) {
	mb, err := f.readAll(filepath.Join(dir, FileManifest))
	if err != nil {
		return IntakeRecord{}, fmt.Errorf("%w: %s: manifest: %w", ErrIntakeIncomplete, name, err)
	}
	sums, err := ParseManifest(mb)
	if err != nil {
		return IntakeRecord{}, err
	}
	if _, ok := sums[FileMetadataJSON]; !ok {
		return IntakeRecord{}, fmt.Errorf("%w: %s: manifest lacks %s", ErrIntakeIncomplete, name, FileMetadataJSON)
	}
	for p, want := range sums {
		r, err := f.FS.Open(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return IntakeRecord{}, fmt.Errorf("%w: %s: %w", ErrIntakeIncomplete, name, err)
		}
		_, err = hashingCopy(io.Discard, r, want)
		r.Close()
		if err != nil {
			return IntakeRecord{}, fmt.Errorf("%w: %s/%s: %w", ErrIntakeIncomplete, name, p, err)
		}
	}
	jb, err := f.readAll(filepath.Join(dir, FileMetadataJSON))
	if err != nil {
		return IntakeRecord{}, fmt.Errorf("%w: %s: %w", ErrIntakeIncomplete, name, err)
	}
	var have IntakeMetadata
	if err := json.Unmarshal(jb, &have); err != nil {
		return IntakeRecord{}, fmt.Errorf("%w: %s: metadata.json: %w", ErrIntakeIncomplete, name, err)
	}
	if have.MessageID != m.Metadata.MessageID || have.OriginalSHA256 != m.Metadata.OriginalSHA256 {
		return IntakeRecord{}, fmt.Errorf("%w: %s holds MessageId %q with original %s", ErrIntakeConflict, name, have.MessageID, have.OriginalSHA256)
	}
	ms := sha256.Sum256(mb)
	return IntakeRecord{Sink: f.Name(), Location: name, ManifestSHA256: hex.EncodeToString(ms[:]), DeliveredAt: f.Now().UTC()}, nil
}

func (f *FolderIntake) readAll(name string) ([]byte, error) {
	r, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 16<<20))
}

package xdomea

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// IndexDir holds, below the intake folder, one small JSON file per
// Abgabe written ({ProzessID}.json: mailbox and MessageId), so that an
// import confirmation finds its message even after the records system
// removed the archive. Consumers ignore names starting with ".".
const IndexDir = ".bebpo-gateway"

// Intake writes each message as an xdomea Abgabe (Abgabe.Abgabe.0401)
// into a folder the records system imports from (mailbox.Intake).
//
// Completeness contract: a file {ProzessID}_Abgabe.Abgabe.0401.zip in the
// folder is complete. It holds the message
// {ProzessID}_Abgabe.Abgabe.0401.xml, valid against the official schema,
// and every primary file it names. It is written as ".tmp-*" (created
// exclusively inside the folder, never through a link), fsync'd, renamed
// into place and the folder fsync'd; the index entry is durable before
// the rename. A repeated hand-over of the same MessageId finds the
// archive, reads every member (checking the zip checksums) and the
// MessageId and original hash it records, and succeeds without writing;
// a different message under the same MessageId is ErrIntakeConflict, a
// damaged archive ErrIntakeIncomplete.
type Intake struct {
	name string
	root *os.Root
	opt  Options
	now  func() time.Time
}

// NewIntake opens (creating it if needed) the folder dir, removes the
// temporary files of hand-overs a crash cut short, and checks opt.
func NewIntake(name, dir string, opt Options, now func() time.Time) (*Intake, error) {
	if err := opt.Check(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("xdomea: intake folder: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("xdomea: intake folder: %w", err)
	}
	if err := root.MkdirAll(IndexDir, 0o750); err != nil {
		root.Close()
		return nil, fmt.Errorf("xdomea: intake folder: %w", err)
	}
	ents, err := readDir(root, ".")
	if err != nil {
		root.Close()
		return nil, err
	}
	// Only leftovers older than any hand-over: a younger one may be
	// another gateway's that shares the folder and is writing it now.
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err != nil || now().Sub(fi.ModTime()) < mailbox.StaleTempAge {
			continue
		}
		if err := root.Remove(e.Name()); err != nil {
			root.Close()
			return nil, fmt.Errorf("xdomea: remove stale %s: %w", e.Name(), err)
		}
	}
	return &Intake{name: name, root: root, opt: opt, now: now}, nil
}

func readDir(root *os.Root, dir string) ([]os.DirEntry, error) {
	d, err := root.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("xdomea: list %s: %w", dir, err)
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("xdomea: list %s: %w", dir, err)
	}
	return ents, nil
}

// Name returns "xdomea".
func (x *Intake) Name() string { return "xdomea" }

// Close releases the folder.
func (x *Intake) Close() error { return x.root.Close() }

// ArchiveName is the file an Abgabe with this process ID is written to.
func ArchiveName(prozessID string) string { return prozessID + "_" + MessageAbgabe + ".zip" }

type indexEntry struct {
	Mailbox   string `json:"mailbox"`
	MessageID string `json:"messageId"`
	Archive   string `json:"archive"`
	Intake    string `json:"intake"`
}

// Deliver writes the Abgabe of m, or checks and reports the one there.
func (x *Intake) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	a, err := Build(m, x.opt)
	if err != nil {
		return mailbox.IntakeRecord{}, err
	}
	name := ArchiveName(a.ProzessID)
	if _, err := x.root.Stat(name); err == nil {
		return x.existing(name, m)
	}
	idx, err := json.Marshal(indexEntry{Mailbox: m.Metadata.Mailbox, MessageID: m.Metadata.MessageID, Archive: name, Intake: x.name})
	if err != nil {
		return mailbox.IntakeRecord{}, err
	}
	if err := durable.WriteFileIn(x.root, IndexDir+"/"+a.ProzessID+".json", "", append(idx, '\n'), 0o640); err != nil {
		return mailbox.IntakeRecord{}, diskErr("write index", err)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return mailbox.IntakeRecord{}, err
	}
	tmp := ".tmp-" + a.ProzessID + "-" + hex.EncodeToString(rnd[:])
	f, err := x.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return mailbox.IntakeRecord{}, diskErr("create archive", err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			x.root.Remove(tmp)
		}
	}()
	h := sha256.New()
	if err := writeArchive(ctx, io.MultiWriter(f, h), a); err != nil {
		return mailbox.IntakeRecord{}, err
	}
	if err := f.Sync(); err != nil {
		return mailbox.IntakeRecord{}, diskErr("fsync archive", err)
	}
	if err := f.Close(); err != nil {
		return mailbox.IntakeRecord{}, diskErr("close archive", err)
	}
	if err := x.root.Rename(tmp, name); err != nil {
		return mailbox.IntakeRecord{}, diskErr("rename archive", err)
	}
	done = true
	if err := durable.SyncDirIn(x.root, "."); err != nil {
		return mailbox.IntakeRecord{}, diskErr("fsync intake folder", err)
	}
	return mailbox.IntakeRecord{Sink: x.Name(), Location: name, ManifestSHA256: hex.EncodeToString(h.Sum(nil)), DeliveredAt: x.now().UTC()}, nil
}

// diskErr keeps "disk full" recognisable for the engine (ErrDiskFull).
func diskErr(what string, err error) error {
	if errors.Is(err, errNoSpace) {
		return fmt.Errorf("xdomea: %s: %w: %w", what, mailbox.ErrDiskFull, err)
	}
	return fmt.Errorf("xdomea: %s: %w", what, err)
}

// writeArchive streams the message and its primary files into a zip,
// checking each file's SHA-256 against what the store recorded.
func writeArchive(ctx context.Context, out io.Writer, a *Abgabe) error {
	ew := &mailbox.ErrWriter{W: out}
	zw := zip.NewWriter(ew)
	put := func(name string, r io.Reader, want string) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.Modified})
		if err != nil {
			return err
		}
		var h hash.Hash = sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
			return fmt.Errorf("xdomea: %s: %w: content hashes to %s, expected %s", name, mailbox.ErrBlobCorrupt, got, want)
		}
		return nil
	}
	err := put(a.XMLName, bytes.NewReader(a.XML), "")
	for _, mb := range a.Files {
		if err != nil {
			break
		}
		if err = ctx.Err(); err != nil {
			break
		}
		var r io.ReadCloser
		if r, err = mb.File.Open(); err != nil {
			break
		}
		err = put(mb.Name, r, mb.File.SHA256)
		r.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if ew.Err != nil {
		return diskErr("write archive", ew.Err)
	}
	return err
}

// existing checks an archive already in place: every member reads back
// with its checksum, and its message records the same MessageId and
// original.
func (x *Intake) existing(name string, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	b, err := x.root.ReadFile(name)
	if err != nil {
		return mailbox.IntakeRecord{}, fmt.Errorf("%w: %s: %w", mailbox.ErrIntakeIncomplete, name, err)
	}
	have, err := readArchive(b, strings.TrimSuffix(name, ".zip")+".xml")
	if err != nil {
		return mailbox.IntakeRecord{}, fmt.Errorf("%w: %s: %w", mailbox.ErrIntakeIncomplete, name, err)
	}
	if have.MessageID != m.Metadata.MessageID || have.OriginalSHA256 != m.Metadata.OriginalSHA256 {
		return mailbox.IntakeRecord{}, fmt.Errorf("%w: %s holds MessageId %q with original %s", mailbox.ErrIntakeConflict, name, have.MessageID, have.OriginalSHA256)
	}
	s := sha256.Sum256(b)
	return mailbox.IntakeRecord{Sink: x.Name(), Location: name, ManifestSHA256: hex.EncodeToString(s[:]), DeliveredAt: x.now().UTC()}, nil
}

// readArchive reads every member (zip checks each CRC-32) and returns the
// intake metadata the message carries.
func readArchive(b []byte, msgName string) (mailbox.IntakeMetadata, error) {
	var md mailbox.IntakeMetadata
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return md, err
	}
	var msg []byte
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			return md, err
		}
		var buf bytes.Buffer
		w := io.Discard
		if f.Name == msgName {
			w = &buf
		}
		_, err = io.Copy(w, r)
		r.Close()
		if err != nil {
			return md, fmt.Errorf("%s: %w", f.Name, err)
		}
		if f.Name == msgName {
			msg = buf.Bytes()
		}
	}
	if msg == nil {
		return md, fmt.Errorf("no %s", msgName)
	}
	var v struct {
		Eingang mailbox.IntakeMetadata `xml:"Schriftgutobjekt>Vorgang>AnwendungsspezifischeErweiterungXML>Eingang"`
	}
	if err := xml.Unmarshal(msg, &v); err != nil {
		return md, err
	}
	return v.Eingang, nil
}

// memFile is a rendered file of the Abgabe.
func memFile(name, contentType string, data []byte) mailbox.IntakeFile {
	s := sha256.Sum256(data)
	return mailbox.IntakeFile{FileName: name, OriginalName: name, ContentType: contentType, Size: int64(len(data)), SHA256: hex.EncodeToString(s[:]),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

package osci

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/writeback"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// DirAttachments is an AttachmentStore that writes each attachment, as
// received, to a file in Dir (named by the SHA-256 of its Content-ID, since
// Content-IDs are chosen by the sender) and fsyncs it, unless Spool says
// the files are only read back and removed (a file that must survive a
// crash, such as one renamed into a store, needs the fsync). The file is
// written beside the reading of the part, on the other core.
type DirAttachments struct {
	Dir   string
	Spool bool // not fsync'd: nothing relies on the files after a crash

	mu    sync.Mutex
	files map[string]string
	sums  map[string][]byte // SHA-256 of each file, taken while it was written
}

// Attachment stores one part.
func (d *DirAttachments) Attachment(h PartHeader, r io.Reader) error {
	name := sha256.Sum256([]byte(h.ContentID))
	path := filepath.Join(d.Dir, hex.EncodeToString(name[:]))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("osci: attachment file: %w", err)
	}
	sum := sha256.New()
	var fw io.Writer = f
	if !d.Spool { // fsync'd below: its write back starts while it is written
		fw = writeback.New(f)
	}
	bw := behind.New(io.MultiWriter(fw, sum))
	_, err = io.Copy(bw, r)
	if berr := bw.Close(); err == nil {
		err = berr
	}
	if err == nil && !d.Spool {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.files == nil {
		d.files, d.sums = map[string]string{}, map[string][]byte{}
	}
	d.files[h.ContentID] = path
	d.sums[h.ContentID] = sum.Sum(nil)
	return nil
}

// Open returns a stored attachment with the SHA-256 taken while it was
// written (xmlsec.WithKnownDigest), so that a signature check need not
// read it again.
func (d *DirAttachments) Open(contentID string) (io.ReadCloser, error) {
	f, err := d.OpenPart(contentID)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	sum := d.sums[contentID]
	d.mu.Unlock()
	return xmlsec.WithKnownDigest(f, crypto.SHA256, sum), nil
}

// OpenPart returns a stored attachment as an io.ReaderAt with Size, which
// lets decryption authenticate it in place instead of spooling it
// (xmlenc.PartOpener).
func (d *DirAttachments) OpenPart(contentID string) (io.ReadCloser, error) {
	d.mu.Lock()
	path, ok := d.files[contentID]
	d.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("osci: no attachment %q", contentID)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return fileSection{io.NewSectionReader(f, 0, st.Size()), f}, nil
}

type fileSection struct {
	*io.SectionReader
	f *os.File
}

func (s fileSection) Close() error { return s.f.Close() }

// Path returns the file of a stored attachment and its SHA-256, taken
// while it was written.
func (d *DirAttachments) Path(contentID string) (path string, sha256 []byte, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.files[contentID]
	return p, d.sums[contentID], ok
}

package mailbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// blobIntake is sampleIntake with its first document and its original
// stored as blobs in a store below dir.
func blobIntake(t *testing.T, dir string) (*IntakeMessage, *Blobs, []byte) {
	t.Helper()
	blobs := openBlobs(t, filepath.Join(dir, "blobs"), nil)
	body := bytes.Repeat([]byte("%PDF-1.7 großes Dokument\n"), 40000)
	im := sampleIntake()
	put := func(b []byte, name string) IntakeFile {
		ref, err := blobs.Put(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return blobFile(blobs, Document{Name: name, ContentType: "application/pdf", SHA256: ref.SHA256, Size: ref.Size})
	}
	doc := put(body, im.Documents[0].OriginalName)
	doc.FileName = im.Documents[0].FileName
	im.Documents[0] = doc
	im.Metadata.Documents[0].SHA256, im.Metadata.Documents[0].Size = doc.SHA256, doc.Size
	orig := put(append([]byte("original "), body...), FileOriginal)
	orig.FileName = FileOriginal
	im.Original = orig
	im.Metadata.OriginalSHA256 = orig.SHA256
	return im, blobs, body
}

// The intake links a blob instead of copying it where the file system
// allows: the entry's file is the blob's content, readable by the group,
// and the manifest lists its hash.
func TestFolderIntakeLinksBlobs(t *testing.T) {
	dir := t.TempDir()
	im, blobs, body := blobIntake(t, dir)
	root := filepath.Join(dir, "intake")
	f := newFolder(t, root, nil)
	if _, err := f.Deliver(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(root, im.Metadata.MessageID)
	for _, c := range []struct {
		file IntakeFile
		path string
	}{{im.Documents[0], filepath.Join(entry, DocumentsDir, im.Documents[0].FileName)}, {im.Original, filepath.Join(entry, FileOriginal)}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", c.path, fi.Mode())
		}
		bi, err := os.Stat(blobs.Path(c.file.SHA256))
		if err != nil {
			t.Fatal(err)
		}
		if os.SameFile(fi, bi) {
			t.Logf("%s is a hard link of its blob", filepath.Base(c.path))
		}
		b, err := os.ReadFile(c.path)
		if err != nil || sum(b) != c.file.SHA256 {
			t.Fatalf("%s: content hashes to %s, want %s (%v)", c.path, sum(b), c.file.SHA256, err)
		}
	}
	mb, _ := os.ReadFile(filepath.Join(entry, FileManifest))
	sums, err := ParseManifest(mb)
	if err != nil || sums[DocumentsDir+"/"+im.Documents[0].FileName] != sum(body) {
		t.Fatalf("manifest %v %v", sums, err)
	}
}

// A blob damaged on disk is not handed over by linking it: the linked
// file is hashed as a copy would be, and the entry is not made.
func TestFolderIntakeLinkRefusesCorruptBlob(t *testing.T) {
	dir := t.TempDir()
	im, blobs, body := blobIntake(t, dir)
	damaged := bytes.Clone(body)
	damaged[100] ^= 1
	if err := os.WriteFile(blobs.Path(im.Documents[0].SHA256), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "intake")
	f := newFolder(t, root, nil)
	if _, err := f.Deliver(context.Background(), im); !errors.Is(err, ErrBlobCorrupt) {
		t.Fatalf("Deliver of a damaged blob: %v, want ErrBlobCorrupt", err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("intake holds %d entries after a refused hand-over", len(ents))
	}
}

// noLinkFS is OSFS without Link.
type noLinkFS struct{ FileSystem }

// A blob store whose file system cannot link, and a store without the
// capability, get a copy: a file of its own with the same content.
func TestFolderIntakeCopiesWithoutLinker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*Blobs) BlobStore
		fs    FileSystem
	}{
		{"file system without Link", func(b *Blobs) BlobStore { return b }, noLinkFS{OSFS{}}},
		{"store without BlobLinker", func(b *Blobs) BlobStore { return struct{ BlobStore }{b} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			blobs := openBlobs(t, filepath.Join(dir, "blobs"), tc.fs)
			body := bytes.Repeat([]byte("%PDF-1.7 kopiert\n"), 1000)
			ref, err := blobs.Put(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			im := sampleIntake()
			doc := blobFile(tc.store(blobs), Document{Name: "a.pdf", ContentType: "application/pdf", SHA256: ref.SHA256, Size: ref.Size})
			doc.FileName = im.Documents[0].FileName
			im.Documents[0] = doc
			im.Metadata.Documents[0].SHA256, im.Metadata.Documents[0].Size = doc.SHA256, doc.Size
			root := filepath.Join(dir, "intake")
			if _, err := newFolder(t, root, nil).Deliver(context.Background(), im); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, im.Metadata.MessageID, DocumentsDir, doc.FileName)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			bi, _ := os.Stat(blobs.Path(ref.SHA256))
			if os.SameFile(fi, bi) {
				t.Fatal("copy expected, got a hard link")
			}
			if b, _ := os.ReadFile(p); sum(b) != ref.SHA256 {
				t.Fatal("copied content differs")
			}
		})
	}
}

// What the store does to a blob after it was linked into an entry never
// changes the entry's file: the same content written again renames a new
// file over the blob's name, and collecting the blob removes its name
// only.
func TestFolderIntakeLinkedFileOutlivesBlob(t *testing.T) {
	dir := t.TempDir()
	im, blobs, body := blobIntake(t, dir)
	root := filepath.Join(dir, "intake")
	if _, err := newFolder(t, root, nil).Deliver(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, im.Metadata.MessageID, DocumentsDir, im.Documents[0].FileName)
	h := im.Documents[0].SHA256
	if _, err := blobs.Put(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	bi, _ := os.Stat(blobs.Path(h))
	if os.SameFile(fi, bi) {
		t.Fatal("a Put of the same content wrote into the linked file")
	}
	out, _, err := blobs.Collect(h, time.Now().Add(time.Hour), func() (bool, error) { return false, nil })
	if err != nil || out != CollectRemoved {
		t.Fatalf("Collect: %v %v", out, err)
	}
	if b, err := os.ReadFile(p); err != nil || sum(b) != h {
		t.Fatalf("entry file after the blob was collected: %v", err)
	}
}

// A spooled file read from its start becomes a blob without being
// copied, its time set to now for the collection's grace period; one
// read part-way is copied from where it stands; one above MaxBytes is
// refused as a copy would be; a store that cannot link copies.
func TestPutFileLinksSpool(t *testing.T) {
	dir := t.TempDir()
	blobs := openBlobs(t, filepath.Join(dir, "blobs"), nil)
	body := bytes.Repeat([]byte("spooled delivery "), 10000)
	name := filepath.Join(dir, "original")
	if err := os.WriteFile(name, body, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(name, old, old); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := PutFile(blobs, f, "")
	if err != nil || ref.SHA256 != sum(body) || ref.Size != int64(len(body)) {
		t.Fatalf("PutFile: %+v %v, want %s", ref, err, sum(body))
	}
	if err := blobs.Verify(ref.SHA256); err != nil {
		t.Fatal(err)
	}
	bi, err := os.Stat(blobs.Path(ref.SHA256))
	if err != nil {
		t.Fatal(err)
	}
	if si, _ := os.Stat(name); !os.SameFile(si, bi) {
		t.Log("the blob is a clone of the spooled file")
	}
	if bi.ModTime().Before(time.Now().Add(-time.Hour)) {
		t.Fatalf("the blob keeps the spool's time %v: a collection would take it for old", bi.ModTime())
	}
	if ents, _ := os.ReadDir(blobs.tmpDir()); len(ents) != 0 {
		t.Fatalf("tmp holds %d files after PutFile", len(ents))
	}

	if _, err := f.Seek(7, 0); err != nil {
		t.Fatal(err)
	}
	ref, err = PutFile(blobs, f, "")
	if err != nil || ref.SHA256 != sum(body[7:]) {
		t.Fatalf("PutFile from offset 7: %+v %v", ref, err)
	}

	blobs.MaxBytes = 100
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := PutFile(blobs, f, ""); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("PutFile above MaxBytes: %v, want ErrTooLarge", err)
	}
	if ents, _ := os.ReadDir(blobs.tmpDir()); len(ents) != 0 {
		t.Fatalf("tmp holds %d files after a refused PutFile", len(ents))
	}

	other := openBlobs(t, filepath.Join(dir, "other"), nil)
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	ref, err = PutFile(struct{ BlobStore }{other}, f, "")
	if err != nil || ref.SHA256 != sum(body) {
		t.Fatalf("PutFile into a store without BlobLinker: %+v %v", ref, err)
	}
	oi, _ := os.Stat(other.Path(ref.SHA256))
	if si, _ := os.Stat(name); os.SameFile(si, oi) {
		t.Fatal("a store without BlobLinker linked the file")
	}
}

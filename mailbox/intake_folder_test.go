package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newFolder(t *testing.T, root string, fs FileSystem) *FolderIntake {
	t.Helper()
	f, err := NewFolderIntake(root, fs, func() time.Time { return g0 })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestFolderIntakeWritesCompleteEntry(t *testing.T) {
	root := t.TempDir()
	f := newFolder(t, root, nil)
	im := sampleIntake()
	rec, err := f.Deliver(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(root, im.Metadata.MessageID)
	if fi, err := os.Stat(entry); err != nil || fi.Mode().Perm() != 0o750 {
		t.Fatalf("entry mode %v (%v), want 0750", fi.Mode(), err)
	}
	want := []string{"dokumente/001_Ermittlungsübersicht_Abverfügung.pdf", "dokumente/002_Antrag__b.pdf", "dokumente/xjustiz_nachricht.xml",
		FileManifest, FileMetadataJSON, FileMetadataXML, FileOriginal, FileReportHTML, FileReportPDF, FileReportXML,
		"zertifikate/originator.crt", "zertifikate/vhn.crt"}
	sort.Strings(want)
	if got := listDir(t, entry); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("entry files\n got %v\nwant %v", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(entry, "zertifikate", "vhn.crt")); string(b) != "-----BEGIN CERTIFICATE-----\nMAMCAQI=\n-----END CERTIFICATE-----\n" {
		t.Fatalf("vhn.crt: %q", b)
	}
	mb, _ := os.ReadFile(filepath.Join(entry, FileManifest))
	sums, err := ParseManifest(mb)
	if err != nil || len(sums) != len(want)-1 {
		t.Fatalf("manifest %v %v", sums, err)
	}
	for p, h := range sums {
		b, err := os.ReadFile(filepath.Join(entry, p))
		if err != nil || sum(b) != h {
			t.Errorf("%s: manifest %s, file %s (%v)", p, h, sum(b), err)
		}
	}
	ms := sha256.Sum256(mb)
	if rec.Sink != "folder" || rec.Location != im.Metadata.MessageID || rec.ManifestSHA256 != hex.EncodeToString(ms[:]) {
		t.Fatalf("record %+v", rec)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Fatalf("root holds %d entries, want 1", len(ents))
	}
	// Idempotent: the same message again yields the same single entry.
	rec2, err := f.Deliver(context.Background(), sampleIntake())
	if err != nil || rec2.ManifestSHA256 != rec.ManifestSHA256 {
		t.Fatalf("second hand-over: %+v %v", rec2, err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Fatalf("root holds %d entries after repeat, want 1", len(ents))
	}
}

func TestFolderIntakeExistingEntryChecks(t *testing.T) {
	tests := []struct {
		name   string
		damage func(entry string)
		other  func(im *IntakeMessage)
		want   error
	}{
		{"tampered document", func(e string) {
			os.WriteFile(filepath.Join(e, "dokumente", "xjustiz_nachricht.xml"), []byte("<x/>"), 0o600)
		}, nil, ErrIntakeIncomplete},
		{"manifest missing", func(e string) { os.Remove(filepath.Join(e, FileManifest)) }, nil, ErrIntakeIncomplete},
		{"file missing", func(e string) { os.Remove(filepath.Join(e, FileReportHTML)) }, nil, ErrIntakeIncomplete},
		{"manifest escapes the entry", func(e string) {
			os.WriteFile(filepath.Join(e, FileManifest), []byte(strings.Repeat("0", 64)+"  ../x\n"), 0o600)
		}, nil, ErrIntakeIncomplete},
		{"same MessageId, other original", nil, func(im *IntakeMessage) { im.Metadata.OriginalSHA256 = sum([]byte("other")) }, ErrIntakeConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			f := newFolder(t, root, nil)
			im := sampleIntake()
			if _, err := f.Deliver(context.Background(), im); err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				tc.damage(filepath.Join(root, im.Metadata.MessageID))
			}
			again := sampleIntake()
			if tc.other != nil {
				tc.other(again)
			}
			if _, err := f.Deliver(context.Background(), again); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}
}

func TestFolderIntakeFaults(t *testing.T) {
	tests := []faultCase{
		{"disk full", &faultFS{writeErr: enospc, writeAfter: 20}, ErrDiskFull},
		{"fsync error", &faultFS{syncErr: eio}, syscall.EIO},
		{"rename error", &faultFS{renameErr: eio}, syscall.EIO},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			f := newFolder(t, root, tc.fs)
			im := sampleIntake()
			if _, err := f.Deliver(context.Background(), im); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if ents, _ := os.ReadDir(root); len(ents) != 0 {
				t.Fatalf("failed hand-over left %d entries", len(ents))
			}
			// Once the fault is gone the same message goes through.
			*tc.fs = faultFS{}
			if _, err := f.Deliver(context.Background(), im); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

// TestFolderIntakeCleansCrashedEntries: a starting gateway removes the
// leftover of a hand-over cut short, but not a temporary entry young
// enough to be another gateway's that shares the folder and is writing it
// now (removing it under that gateway left an empty entry recorded as
// delivered).
func TestFolderIntakeCleansCrashedEntries(t *testing.T) {
	root := t.TempDir()
	stale := filepath.Join(root, ".tmp-govapp_1-123")
	fresh := filepath.Join(root, ".tmp-govapp_2-456")
	for _, d := range []string{stale, fresh} {
		os.MkdirAll(filepath.Join(d, "dokumente"), 0o750)
		os.WriteFile(filepath.Join(d, "dokumente", "half.pdf"), []byte("%PDF"), 0o600)
	}
	old := g0.Add(-StaleTempAge - time.Minute) // the intake's clock is g0
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	recent := g0.Add(-time.Minute)
	if err := os.Chtimes(fresh, recent, recent); err != nil {
		t.Fatal(err)
	}
	newFolder(t, root, nil)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale entry still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "dokumente", "half.pdf")); err != nil {
		t.Fatalf("another gateway's entry in progress was removed: %v", err)
	}
}

func TestFolderIntakeRejectsUnsafeNames(t *testing.T) {
	im := sampleIntake()
	im.Documents[0].FileName = "../../etc/cron.d/x"
	if _, err := newFolder(t, t.TempDir(), nil).Deliver(context.Background(), im); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("%v, want ErrInvalidInput", err)
	}
}

package outfolder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// A local user who can write the outgoing folder replaces done/ by a link
// to another directory (the eAkte intake, say): the watcher must not move
// anything through it.
func TestOutFolderSymlinkedDoneIsRefused(t *testing.T) {
	for _, d := range []string{Processing, Done, Failed} {
		t.Run(d, func(t *testing.T) {
			e, o := newRecipientFolder(t)
			elsewhere := t.TempDir()
			symlink(t, elsewhere, filepath.Join(o.Root, d))
			writeDrop(t, o.Root, "vorgang", apitest.OKMessage(), map[string]string{"A.pdf": "%PDF"}, true)
			n, err := o.RunOnce(context.Background())
			if !errors.Is(err, ErrUnsafeFolder) || n != 0 || !strings.Contains(err.Error(), "symbolic link") {
				t.Fatalf("RunOnce = %d, %v; want ErrUnsafeFolder naming the link", n, err)
			}
			if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
				t.Errorf("files were moved through the link: %v", ents)
			}
			if _, err := os.Stat(filepath.Join(o.Root, "vorgang", "A.pdf")); err != nil {
				t.Errorf("the submission was touched: %v", err)
			}
			wantMessages(t, e, 0)
		})
	}
}

// A document that is a link to a file the daemon can read (its own key, a
// password file) is refused, never sent.
func TestOutFolderLinkedDocumentIsRefused(t *testing.T) {
	e, o := newRecipientFolder(t)
	dropWithLinkOut(t, o, "Schluessel.pdf", "PRIVATE KEY")
	runOnce(t, o, 1)
	wantFailed(t, o, "vorgang", "Schluessel.pdf", "symbolic link")
	wantMessages(t, e, 0)
}

// The race: the file is regular when it is checked and a link when it is
// opened. The opened handle is checked, so the link's target is never read.
func TestOutFolderFileSwappedForLinkAfterCheck(t *testing.T) {
	e, o := newRecipientFolder(t)
	inside := filepath.Join(o.Root, "inside.pdf") // a link within the folder, which os.Root alone would follow
	writeFile(t, inside, "not meant to be sent")
	writeDrop(t, o.Root, "vorgang", apitest.OKMessage(), map[string]string{"A.pdf": "%PDF"}, true)
	swapped := 0
	beforeOpen = func(name string) {
		if strings.HasSuffix(name, "/A.pdf") {
			p := filepath.Join(o.Root, filepath.FromSlash(name))
			os.Remove(p)
			os.Symlink("../../inside.pdf", p) // relative: inside the root, so os.Root alone would follow it
			swapped++
		}
	}
	t.Cleanup(func() { beforeOpen = nil })
	runOnce(t, o, 1)
	if swapped == 0 {
		t.Fatal("the hook never ran")
	}
	wantFailed(t, o, "vorgang", "A.pdf", "replaced while it was opened")
	wantMessages(t, e, 0)
}

// A result.json planted as a link to a file elsewhere is replaced, never
// written through.
func TestOutFolderResultNotWrittenThroughLink(t *testing.T) {
	_, o := newRecipientFolder(t)
	victim := dropWithLinkOut(t, o, ResultFile, "precious")
	// A link where a temporary result file goes, as an older version
	// named it, is removed rather than written through.
	os.MkdirAll(filepath.Join(o.Root, Processing), 0o750)
	tmpLink := filepath.Join(o.Root, Processing, ".result-vorgang.tmp")
	symlink(t, victim, tmpLink)
	runOnce(t, o, 1)
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target was overwritten: %q", b)
	}
	if _, err := os.Lstat(tmpLink); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the planted temporary link is still there: %v", err)
	}
	if r := readResult(t, filepath.Join(o.Root, Done, "vorgang")); r.ID == 0 {
		t.Errorf("result %+v", r)
	}
}

// A named pipe called message.json (or a document) used to hang the
// worker, and with it the daemon's shutdown. It is refused at once.
func TestOutFolderFIFODoesNotHang(t *testing.T) {
	for _, name := range []string{MessageFile, "Anlage.pdf"} {
		t.Run(name, func(t *testing.T) {
			_, o := newRecipientFolder(t)
			docs := map[string]string{"A.pdf": "%PDF"}
			dir := writeDrop(t, o.Root, "vorgang", apitest.OKMessage(), docs, false)
			os.Remove(filepath.Join(dir, name))
			if err := syscall.Mkfifo(filepath.Join(dir, name), 0o640); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, Marker), nil, 0o640)
			type outcome struct {
				n   int
				err error
			}
			got := make(chan outcome, 1)
			go func() {
				n, err := o.RunOnce(context.Background())
				got <- outcome{n, err}
			}()
			select {
			case g := <-got:
				if g.err != nil || g.n != 1 {
					t.Fatalf("RunOnce = %d, %v", g.n, g.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("RunOnce hangs on a named pipe")
			}
			wantFailed(t, o, "vorgang", name, "named pipe")
		})
	}
}

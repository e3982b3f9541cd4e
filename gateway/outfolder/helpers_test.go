package outfolder

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// dropDir writes a submission directory under parent; complete adds the marker.
func dropDir(t *testing.T, parent, name string, files map[string]string, complete bool) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	for n, c := range files {
		writeFile(t, filepath.Join(dir, n), c)
	}
	if complete {
		writeFile(t, filepath.Join(dir, Marker), "")
	}
	return dir
}

func readResult(t *testing.T, path string) Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(path, ResultFile))
	if err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func newOutFolder(t *testing.T, e *apitest.Env) *Folder {
	t.Helper()
	root := filepath.Join(e.Dir, "outgoing")
	if err := os.MkdirAll(root, 0o750); err != nil {
		t.Fatal(err)
	}
	return &Folder{Root: root, Mailbox: apitest.Mailbox, Submitter: e.Srv.Submitter(), Now: e.Clock.Now}
}

func writeDrop(t *testing.T, parent, name string, msg submit.MessageRequest, docs map[string]string, complete bool) string {
	t.Helper()
	b, _ := json.Marshal(msg)
	files := map[string]string{MessageFile: string(b)}
	for k, v := range docs {
		files[k] = v
	}
	return dropDir(t, parent, name, files, complete)
}

// submitOnly stores the submission processing/<name> without moving it
// on, as a kill right after the store commit leaves it.
func submitOnly(t *testing.T, o *Folder, name string) (submit.Accepted, error) {
	t.Helper()
	o.defaults()
	root, err := os.OpenRoot(o.Root)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	r := &round{Folder: o, root: root, owners: [2]uint32{uint32(os.Getuid()), uint32(os.Getuid())}}
	return r.submit(context.Background(), name)
}

// newRecipientFolder is an outgoing folder on a fresh API whose address
// book holds the test recipient.
func newRecipientFolder(t *testing.T) (*apitest.Env, *Folder) {
	t.Helper()
	e := apitest.NewEnvWithRecipient(t)
	return e, newOutFolder(t, e)
}

// runOnce runs one round and fails the test unless it finished want
// submission directories without an error.
func runOnce(t *testing.T, o *Folder, want int) {
	t.Helper()
	if n, err := o.RunOnce(context.Background()); err != nil || n != want {
		t.Fatalf("RunOnce = %d, %v; want %d finished", n, err, want)
	}
}

// wantFailed checks that the submission name was moved to failed/ with a
// result naming field and saying reason.
func wantFailed(t *testing.T, o *Folder, name, field, reason string) {
	t.Helper()
	r := readResult(t, filepath.Join(o.Root, Failed, name))
	if r.Field != field || !strings.Contains(r.Error, reason) {
		t.Errorf("result %+v, want field %q and an error saying %q", r, field, reason)
	}
}

// wantMessages checks that the store holds n messages.
func wantMessages(t *testing.T, e *apitest.Env, n int) {
	t.Helper()
	if c := e.MessageCount(t); c != n {
		t.Errorf("%d messages stored, want %d", c, n)
	}
}

// writeFile writes a file of the test's own making.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

// symlink plants the link an attacker would.
func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// dropWithLinkOut writes the complete submission "vorgang" (one document
// A.pdf) holding, as name, a link to a file outside the folder with
// content; it returns the link's target.
func dropWithLinkOut(t *testing.T, o *Folder, name, content string) string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "outside")
	writeFile(t, target, content)
	dir := writeDrop(t, o.Root, "vorgang", apitest.OKMessage(), map[string]string{"A.pdf": "%PDF"}, true)
	symlink(t, target, filepath.Join(dir, name))
	return target
}

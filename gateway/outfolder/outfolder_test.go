package outfolder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
)

func TestOutFolderPickup(t *testing.T) {
	e, o := newRecipientFolder(t)
	ctx := context.Background()
	writeDrop(t, o.Root, "vorgang-1", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF one", "Anlage_1.pdf": "%PDF two"}, true)
	writeDrop(t, o.Root, "vorgang-2", apitest.OKMessage(), map[string]string{"Bescheid 2.pdf": "%PDF"}, true)
	unknown := apitest.OKMessage()
	unknown.To = "DE.Justiz.unknown.1"
	writeDrop(t, o.Root, "vorgang-3", unknown, map[string]string{"Bescheid.pdf": "%PDF"}, true)
	writeDrop(t, o.Root, "vorgang-4", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF"}, false)
	nested := writeDrop(t, o.Root, "vorgang-5", apitest.OKMessage(), map[string]string{"Bescheid.pdf": "%PDF"}, true)
	os.Mkdir(filepath.Join(nested, "sub"), 0o750)
	dropDir(t, o.Root, "vorgang-6", map[string]string{"Bescheid.pdf": "%PDF"}, true)

	runOnce(t, o, 5)
	done := readResult(t, filepath.Join(o.Root, Done, "vorgang-1"))
	m, err := e.Store.Get(ctx, done.ID)
	if err != nil || done.State != "queued" || len(m.Documents) != 2 || m.Documents[0].Name != "Anlage_1.pdf" {
		t.Fatalf("done result %+v, message %+v, %v", done, m, err)
	}
	failures := []struct{ dir, field string }{
		{"vorgang-2", "document[0].filename"},
		{"vorgang-3", "message.to"},
		{"vorgang-5", "sub"},
		{"vorgang-6", MessageFile},
	}
	for _, f := range failures {
		r := readResult(t, filepath.Join(o.Root, Failed, f.dir))
		if r.Field != f.field || r.Error == "" || r.ID != 0 {
			t.Errorf("%s: result %+v, want field %q", f.dir, r, f.field)
		}
	}
	if _, err := os.Stat(filepath.Join(o.Root, "vorgang-4", "Bescheid.pdf")); err != nil {
		t.Errorf("incomplete directory was touched: %v", err)
	}
	wantMessages(t, e, 1)
	// Completing the fourth directory later picks it up; nothing else repeats.
	writeFile(t, filepath.Join(o.Root, "vorgang-4", Marker), "")
	runOnce(t, o, 1)
	wantMessages(t, e, 2)
}

// TestOutFolderCrashRestart puts directories into processing/ as a crash
// leaves them: once after the submission was stored, once before.
func TestOutFolderCrashRestart(t *testing.T) {
	e, o := newRecipientFolder(t)
	processing := filepath.Join(o.Root, Processing)
	writeDrop(t, processing, "after-commit", apitest.OKMessage(), map[string]string{"A.pdf": "%PDF a"}, true)
	first, err := submitOnly(t, o, "after-commit") // the crash came before the move to done/
	if err != nil {
		t.Fatal(err)
	}
	writeDrop(t, processing, "before-commit", apitest.OKMessage(), map[string]string{"B.pdf": "%PDF b"}, true)

	runOnce(t, o, 2)
	r1 := readResult(t, filepath.Join(o.Root, Done, "after-commit"))
	if r1.ID != first.Message.ID || !r1.Replayed {
		t.Errorf("after-commit: %+v, want message %d replayed", r1, first.Message.ID)
	}
	r2 := readResult(t, filepath.Join(o.Root, Done, "before-commit"))
	if r2.ID == 0 || r2.ID == r1.ID || r2.Replayed {
		t.Errorf("before-commit: %+v", r2)
	}
	wantMessages(t, e, 2) // nothing twice, nothing lost
	ents, _ := os.ReadDir(processing)
	if len(ents) != 0 {
		t.Errorf("processing/ still holds %d entries", len(ents))
	}
}

// TestOutFolderTemporaryFailure leaves a directory in processing/ when the
// store fails, and finishes it once the store works again.
func TestOutFolderTemporaryFailure(t *testing.T) {
	e, o := newRecipientFolder(t)
	writeDrop(t, o.Root, "vorgang", apitest.OKMessage(), map[string]string{"A.pdf": "%PDF"}, true)
	// A blob store whose temp directory is gone cannot begin a document.
	tmp := filepath.Join(e.Dir, "blobs", "tmp")
	if err := os.Rename(tmp, tmp+".away"); err != nil {
		t.Fatal(err)
	}
	runOnce(t, o, 0) // the blob store is broken: nothing finishes
	if _, err := os.Stat(filepath.Join(o.Root, Processing, "vorgang", "A.pdf")); err != nil {
		t.Fatalf("directory not kept in processing/: %v", err)
	}
	if err := os.Rename(tmp+".away", tmp); err != nil {
		t.Fatal(err)
	}
	runOnce(t, o, 1)
	if r := readResult(t, filepath.Join(o.Root, Done, "vorgang")); r.ID == 0 {
		t.Errorf("result %+v", r)
	}
}

func TestOutFolderRunStops(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	o := newOutFolder(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if _, err := os.Stat(filepath.Join(o.Root, Done)); err != nil {
		t.Errorf("Run did not prepare the folder: %v", err)
	}
}

// TestOutFolderCrashWhileWritingResult: a kill while result.json was being
// written leaves the gateway's own files in the submission directory; the
// recovery must still find the accepted message by its idempotency key and
// report it done (replayed), never failed (which would make the
// application send it again).
func TestOutFolderCrashWhileWritingResult(t *testing.T) {
	e, o := newRecipientFolder(t)
	processing := filepath.Join(o.Root, Processing)
	dir := writeDrop(t, processing, "crash-00034", apitest.OKMessage(), map[string]string{"A.pdf": "%PDF a"}, true)
	first, err := submitOnly(t, o, "crash-00034")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		".result.json.2989771444.tmp": `{"id": 1, "sta`, // an older version's temporary file, cut off
		ResultFile:                    `{"id": 1}`,
	} {
		writeFile(t, filepath.Join(dir, name), content)
	}
	writeFile(t, filepath.Join(processing, ".result-"+"crash-00034.tmp"), "{")
	runOnce(t, o, 1)
	r := readResult(t, filepath.Join(o.Root, Done, "crash-00034"))
	if r.ID != first.Message.ID || !r.Replayed || r.Error != "" {
		t.Errorf("result %+v, want message %d replayed", r, first.Message.ID)
	}
	if _, err := os.Stat(filepath.Join(o.Root, Failed, "crash-00034")); err == nil {
		t.Error("an accepted submission was moved to failed/")
	}
	wantMessages(t, e, 1)
}

// A configured folder that does not exist yet is created; a lasting
// failure is logged once, not every round.
func TestOutFolderCreatedAndLastingFailureLoggedOnce(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	root := filepath.Join(e.Dir, "not-yet", "outgoing")
	var logs lockedBuffer
	logger, err := logging.New(logging.Config{Format: "json", Level: "info"}, &logs)
	if err != nil {
		t.Fatal(err)
	}
	o := &Folder{Root: root, Mailbox: apitest.Mailbox, Submitter: e.Srv.Submitter(), Now: e.Clock.Now, Logger: logger, Interval: 10 * time.Millisecond}
	if _, err := o.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, Done)); err != nil || !fi.IsDir() {
		t.Fatalf("folder not prepared: %v", err)
	}
	if err := os.RemoveAll(filepath.Join(root, Failed)); err != nil {
		t.Fatal(err)
	}
	symlink(t, t.TempDir(), filepath.Join(root, Failed))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	o.Run(ctx)
	if n := strings.Count(logs.String(), "outgoing folder round failed"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, logs.String())
	}
}

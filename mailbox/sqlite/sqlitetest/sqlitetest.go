// Package sqlitetest opens the embedded store for tests: the SQLite store
// and the folder blob store in a directory, as a gateway's data directory
// holds them. A failure to open fails the test at once; both are closed
// when the test ends.
package sqlitetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// Open opens the SQLite store (stamped by now; nil: the store's default)
// and the blob store in dir.
func Open(t testing.TB, dir string, now func() time.Time) (*sqlite.Store, *mailbox.Blobs) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, sqlite.FileName), sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, blobs
}

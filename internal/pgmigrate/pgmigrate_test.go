package pgmigrate_test

import (
	"testing"
	"testing/fstest"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/pgmigrate"
)

// TestLatestIsTheHighestNumberedFile: the version the files write is the
// highest numbered migration of the set's directory, whatever else lies
// beside it or elsewhere.
func TestLatestIsTheHighestNumberedFile(t *testing.T) {
	files := fstest.MapFS{
		"migrations/00001_schema.sql": {Data: []byte("-- +goose Up\n")},
		"migrations/00003_more.sql":   {Data: []byte("-- +goose Up\n")},
		"migrations/README.md":        {Data: []byte("notes")},
		"other/00009_elsewhere.sql":   {Data: []byte("-- +goose Up\n")},
	}
	if v := (pgmigrate.Set{Files: files, Dir: "migrations"}).Latest(); v != 3 {
		t.Errorf("Latest = %d, want 3", v)
	}
	if v := (pgmigrate.Set{Files: fstest.MapFS{}, Dir: "migrations"}).Latest(); v != 0 {
		t.Errorf("Latest of no files = %d, want 0", v)
	}
}

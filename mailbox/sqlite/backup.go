package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/internal/sqlstore"
)

// SnapshotInfo describes a database copy made by Snapshot.
type SnapshotInfo struct {
	Head     mailbox.JournalHead // the copy's last journal entry
	Messages int
	// Blobs are the SHA-256 of every blob a document of the copy that is
	// not purged refers to: what a backup must hold beside it.
	Blobs []string
}

// Snapshot writes a consistent copy of the database at path to dst, which
// must not exist, while other processes (the running daemon) go on
// writing: VACUUM INTO on a read-only connection copies the state of one
// committed transaction, and WAL lets it read beside the writer. The copy
// is fsync'd (file and directory) before Snapshot returns.
func Snapshot(ctx context.Context, path, dst string) (SnapshotInfo, error) {
	var info SnapshotInfo
	abs, err := filepath.Abs(path)
	if err != nil {
		return info, fmt.Errorf("sqlite: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return info, fmt.Errorf("%w at %s: %w", ErrNoDatabase, abs, err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return info, fmt.Errorf("sqlite: snapshot: %s exists", dst)
	}
	src, err := openReadOnly(abs)
	if err != nil {
		return info, err
	}
	_, err = src.ExecContext(ctx, `VACUUM INTO ?`, dst)
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return info, fmt.Errorf("sqlite: snapshot: %w", mapErr(err))
	}
	if err := syncFile(dst); err != nil {
		return info, err
	}
	cp, err := openReadOnly(dst)
	if err != nil {
		return info, err
	}
	defer cp.Close()
	if info.Head, err = sqlstore.Head(ctx, querier{cp}); err != nil {
		return info, fmt.Errorf("sqlite: snapshot: %w", mapErr(err))
	}
	if err := cp.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&info.Messages); err != nil {
		return info, fmt.Errorf("sqlite: snapshot: %w", mapErr(err))
	}
	rows, err := cp.QueryContext(ctx, `SELECT DISTINCT sha256 FROM documents WHERE purged_at = 0 ORDER BY sha256`)
	if err != nil {
		return info, fmt.Errorf("sqlite: snapshot: %w", mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return info, mapErr(err)
		}
		info.Blobs = append(info.Blobs, h)
	}
	return info, mapErr(rows.Err())
}

// openReadOnly opens a database file for reading only, one connection.
func openReadOnly(abs string) (*sql.DB, error) {
	q := url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)"}}
	db, err := sql.Open("sqlite", "file:"+abs+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// syncFile fsyncs a file and its directory.
func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	err = errors.Join(f.Sync(), f.Close())
	if err == nil {
		err = mailbox.OSFS{}.SyncDir(filepath.Dir(name))
	}
	if err != nil {
		return fmt.Errorf("sqlite: fsync %s: %w", name, err)
	}
	return nil
}

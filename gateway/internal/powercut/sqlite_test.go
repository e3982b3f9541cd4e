package powercut

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/sqlitedb"
)

// sqliteChildEnv names the database the child process writes; the test
// binary runs as that child (TestMain).
const sqliteChildEnv = "POWERCUT_SQLITE_CHILD"

func TestMain(m *testing.M) {
	if p := os.Getenv(sqliteChildEnv); p != "" {
		if err := sqliteChild(p); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		select {} // killed by the test
	}
	os.Exit(m.Run())
}

// sqliteChild commits one row, leaves a second one in an open
// transaction large enough to spill into the WAL, says "ready" and waits.
func sqliteChild(path string) error {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, path, sqlitedb.Options{})
	if err != nil {
		return err
	}
	err = db.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1, 'committed')`)
		return err
	})
	if err != nil {
		return err
	}
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = 10`); err != nil {
		return err
	}
	for i := 2; i < 200; i++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?, randomblob(8000))`, i); err != nil {
			return err
		}
	}
	fmt.Println("ready")
	return nil
}

func TestSQLiteCommitSurvivesCutUncommittedDoesNot(t *testing.T) {
	pc, mnt := mountT(t)
	dir := filepath.Join(mnt, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt) // the data directory exists before the database (as installed)
	path := filepath.Join(dir, "test.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sqliteChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child: %q %v", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	rep := cut(t, pc)

	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, path, sqlitedb.Options{MustExist: true})
	if err != nil {
		t.Fatalf("the database is gone after the cut: %v", err)
	}
	defer db.Close()
	var n int
	var v string
	if err := db.W.QueryRowContext(ctx, `SELECT count(*), max(CAST(v AS TEXT)) FROM t WHERE id = 1`).Scan(&n, &v); err != nil || n != 1 || v != "committed" {
		t.Fatalf("committed row: %d %q %v; want it there", n, v, err)
	}
	if err := db.W.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE id > 1`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("uncommitted rows: %d %v; want none", n, err)
	}
	if rep.UnsyncedFiles == 0 {
		t.Errorf("report %+v: the open transaction's writes to the WAL were not unsynced", rep)
	}
	var ok string
	if err := db.W.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
}

// TestNewSQLiteDatabaseSurvivesCut: a database sqlitedb.Open has just
// created, before anything was written into it, is still there after a
// cut. Open fsyncs its directory; SQLite's own sync of the directory of a
// new WAL covers it as well where SQLite is built with it.
func TestNewSQLiteDatabaseSurvivesCut(t *testing.T) {
	pc, mnt := mountT(t)
	dir := filepath.Join(mnt, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	path := filepath.Join(dir, "new.db")
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, path, sqlitedb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	cut(t, pc)
	db, err = sqlitedb.Open(ctx, path, sqlitedb.Options{MustExist: true})
	if err != nil {
		t.Fatalf("the new database is gone after the cut: %v", err)
	}
	db.Close()
}

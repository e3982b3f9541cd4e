package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// A backup directory holds the database snapshot, the journal head file,
// the blobs the snapshot's kept documents refer to (under blobs/, laid out
// as in a data directory), the address book and, written last, the
// manifest: a directory without it is incomplete.
const (
	backupManifest = "backup.json"
	backupFormat   = "bebpo-gateway-backup/1"
)

// BackupManifest is backup.json.
type BackupManifest struct {
	Format      string            `json:"format"`
	CreatedAt   time.Time         `json:"createdAt"`
	Version     string            `json:"version"`
	JournalSeq  int64             `json:"journalSeq"`  // the snapshot's last journal entry
	JournalHash string            `json:"journalHash"` // its hash
	Messages    int               `json:"messages"`
	Blobs       int               `json:"blobs"`
	BlobBytes   int64             `json:"blobBytes"`
	Files       map[string]string `json:"files"` // name → SHA-256 of every file but the blobs (which are named by theirs)
}

func runBackup(env *Env, fs *flag.FlagSet, args []string) error {
	cfgPath := fs.String("config", "", "gateway configuration: its data_dir and address book")
	data := fs.String("data", "", "the gateway's data directory (instead of --config; the address book is the one in it)")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	if err := parseArgs(env, fs, args, 1, "one backup directory DIR"); err != nil {
		return err
	}
	dataDir, book := *data, ""
	switch {
	case (*cfgPath == "") == (*data == ""):
		return usageErrorf(fs, "give either --config FILE or --data DIR")
	case *cfgPath != "":
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return err
		}
		if cfg.Store.Kind == config.StorePostgres {
			return errBackupPostgres
		}
		dataDir, book = cfg.DataDir, cfg.AddressBookPath()
		if cfg.Blobs.Kind != config.BlobsFolder {
			// backup copies the folder data_dir/blobs; blobs kept in
			// PostgreSQL or S3 are backed up with the database's or the
			// bucket's own means.
			return fmt.Errorf("backup: blobs of kind %s are not in data_dir; back them up with the database's or the object store's own tools", cfg.Blobs.Kind)
		}
	default:
		book = filepath.Join(dataDir, config.AddressBookFile)
	}
	if isPostgresDataDir(dataDir) {
		return errBackupPostgres
	}
	man, err := backup(context.Background(), dataDir, book, fs.Arg(0), time.Now)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, man)
	}
	_, err = fmt.Fprintf(env.Stdout, "backup complete in %s: %d messages, %d blobs (%d bytes), journal head #%d %s\n",
		fs.Arg(0), man.Messages, man.Blobs, man.BlobBytes, man.JournalSeq, man.JournalHash)
	return err
}

// backup writes a consistent backup of the data directory dataDir, and
// the address book at book, into dir (new or empty), beside a running
// daemon: the journal head file is copied first, so it is never ahead of
// the snapshot taken next; the blobs are copied after the snapshot, with
// the collection lock held so that retention removes none of them
// meanwhile; every blob is re-hashed as it is copied.
func backup(ctx context.Context, dataDir, book, dir string, now func() time.Time) (BackupManifest, error) {
	man := BackupManifest{Format: backupFormat, CreatedAt: now().UTC(), Version: version.Version, Files: map[string]string{}}
	db := filepath.Join(dataDir, sqlite.FileName)
	if _, err := os.Stat(db); err != nil {
		return man, fmt.Errorf("backup: no gateway database in %s: %w", dataDir, err)
	}
	if err := emptyDir(dir); err != nil {
		return man, err
	}
	src := mailbox.ReadBlobs(filepath.Join(dataDir, "blobs"))
	unlock, err := src.LockCollection()
	if err != nil {
		return man, err
	}
	defer unlock()
	h, err := mailbox.ReadJournalHead(nil, db+sqlite.HeadSuffix)
	if err != nil {
		return man, fmt.Errorf("backup: %w", err)
	}
	if err := mailbox.WriteJournalHead(nil, filepath.Join(dir, sqlite.FileName+sqlite.HeadSuffix), h); err != nil {
		return man, fmt.Errorf("backup: %w", err)
	}
	info, err := sqlite.Snapshot(ctx, db, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		return man, fmt.Errorf("backup: %w", err)
	}
	man.JournalSeq, man.JournalHash, man.Messages = info.Head.Seq, info.Head.Hash, info.Messages
	dst, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		return man, err
	}
	for _, h := range info.Blobs {
		n, err := copyBlob(src, dst, h)
		if err != nil {
			return man, fmt.Errorf("backup: %w", err)
		}
		man.Blobs++
		man.BlobBytes += n
	}
	unlock()
	if data, err := os.ReadFile(book); err == nil {
		if err := durable.WriteFile(filepath.Join(dir, config.AddressBookFile), data, 0o600); err != nil {
			return man, fmt.Errorf("backup: address book: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return man, fmt.Errorf("backup: address book: %w", err)
	}
	for _, name := range []string{sqlite.FileName, sqlite.FileName + sqlite.HeadSuffix, config.AddressBookFile} {
		sum, err := durable.FileSHA256(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return man, fmt.Errorf("backup: %w", err)
		}
		man.Files[name] = sum
	}
	data, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return man, err
	}
	return man, durable.WriteFile(filepath.Join(dir, backupManifest), append(data, '\n'), 0o600)
}

// copyBlob copies blob h from src into dst; Put re-hashes it, so a blob
// whose content no longer matches its name is refused.
func copyBlob(src, dst *mailbox.Blobs, h string) (int64, error) {
	r, err := src.Open(h)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	ref, err := dst.Put(r)
	if err != nil {
		return 0, err
	}
	if ref.SHA256 != h {
		return 0, fmt.Errorf("%w: %s hashes to %s", mailbox.ErrBlobCorrupt, h, ref.SHA256)
	}
	return ref.Size, nil
}

// emptyDir makes dir if it does not exist and refuses one that holds
// anything.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty (%s, ...): give a new or empty directory", dir, ents[0].Name())
	}
	return nil
}

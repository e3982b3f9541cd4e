package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// RestoreReport is what restore prints.
type RestoreReport struct {
	DataDir  string                `json:"dataDir"`
	Backup   BackupManifest        `json:"backup"`
	Journal  mailbox.JournalReport `json:"journal"`
	Messages int                   `json:"messages"`
	Blobs    int                   `json:"blobs"`
}

func runRestore(env *Env, flags *flag.FlagSet, args []string) error {
	data := flags.String("data", "", "the data directory to restore into: new or empty (required)")
	book := flags.String("address-book", "", "where to put the address book (default: addressbook.json in --data)")
	asJSON := flags.Bool("json", false, "print the report as JSON")
	if err := parseArgs(env, flags, args, 1, "one backup directory BACKUP"); err != nil {
		return err
	}
	if *data == "" {
		return usageErrorf(flags, "--data is required")
	}
	if *book == "" {
		*book = filepath.Join(*data, config.AddressBookFile)
	}
	rep, err := restore(context.Background(), flags.Arg(0), *data, *book)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, rep)
	}
	_, err = fmt.Fprintf(env.Stdout, "restored the backup of %s into %s: %d messages, %d blobs; journal intact, %d entries, head #%d %s\n",
		cliTime(rep.Backup.CreatedAt), rep.DataDir, rep.Messages, rep.Blobs, rep.Journal.Entries, rep.Journal.HeadSeq, rep.Journal.HeadHash)
	return err
}

// restore copies the backup in dir into the new or empty data directory
// data, holding its lock so that no gateway starts on it meanwhile, and
// then checks the result as `journal verify` and the consistency check
// do: the journal chain reaches its head, every kept document's blob is
// there with its hash. Every file is checked against the manifest first.
func restore(ctx context.Context, dir, data, book string) (RestoreReport, error) {
	rep := RestoreReport{DataDir: data}
	raw, err := os.ReadFile(filepath.Join(dir, backupManifest))
	if err != nil {
		return rep, fmt.Errorf("restore: %s is no complete backup: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &rep.Backup); err != nil || rep.Backup.Format != backupFormat {
		return rep, fmt.Errorf("restore: %s: not a %s manifest", backupManifest, backupFormat)
	}
	for name, want := range rep.Backup.Files {
		if got, err := durable.FileSHA256(filepath.Join(dir, name)); err != nil || got != want {
			return rep, fmt.Errorf("restore: %s does not match the manifest (%v)", name, err)
		}
	}
	if rep.Backup.Files[sqlite.FileName] == "" || rep.Backup.Files[sqlite.FileName+sqlite.HeadSuffix] == "" {
		return rep, errors.New("restore: the backup lacks the database or its journal head")
	}
	if err := emptyDir(data); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	lock, err := gateway.LockDataDir(data)
	if err != nil {
		return rep, err
	}
	defer lock.Close()
	for _, name := range []string{sqlite.FileName, sqlite.FileName + sqlite.HeadSuffix} {
		if err := copyFile(filepath.Join(dir, name), filepath.Join(data, name)); err != nil {
			return rep, fmt.Errorf("restore: %w", err)
		}
	}
	if rep.Backup.Files[config.AddressBookFile] != "" {
		if err := copyFile(filepath.Join(dir, config.AddressBookFile), book); err != nil {
			return rep, fmt.Errorf("restore: address book: %w", err)
		}
	}
	blobs, err := mailbox.OpenBlobs(filepath.Join(data, "blobs"), nil)
	if err != nil {
		return rep, err
	}
	if rep.Blobs, err = restoreBlobs(mailbox.ReadBlobs(filepath.Join(dir, "blobs")), blobs, filepath.Join(dir, "blobs", "sha256")); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(data, sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		return rep, err
	}
	defer st.Close()
	check, err := mailbox.Check(ctx, st, blobs)
	rep.Journal, rep.Messages = check.Journal, check.Messages
	if err != nil {
		return rep, fmt.Errorf("restore: the restored data does not check out: %w", err)
	}
	return rep, nil
}

// restoreBlobs copies every blob under root (laid out as sha256/xx/HASH).
func restoreBlobs(src, dst *mailbox.Blobs, root string) (int, error) {
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, d.Name())
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	sort.Strings(names)
	for _, h := range names {
		if _, err := copyBlob(src, dst, h); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// copyFile copies a file durably (private: the data is personal).
func copyFile(from, to string) error {
	f, err := os.Open(from)
	if err != nil {
		return err
	}
	defer f.Close()
	return durable.Write(to, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

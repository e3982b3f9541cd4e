package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// AnchoredHead returns the journal head this gateway keeps in HeadPath;
// see mailbox.Store.
func (s *Store) AnchoredHead(ctx context.Context) (mailbox.JournalHead, error) {
	h, err := mailbox.ReadJournalHead(nil, s.HeadPath())
	if !errors.Is(err, mailbox.ErrNotFound) {
		return h, err
	}
	established, err := s.anchorEstablished(ctx, s.r)
	if err != nil {
		return h, mapErr(err)
	}
	if established {
		return h, fmt.Errorf("%w: %s was removed", mailbox.ErrNoAnchor, s.HeadPath())
	}
	return h, fmt.Errorf("%w: %s not yet written", mailbox.ErrNoAnchor, s.HeadPath())
}

// AnchorErr returns why the journal head could not be anchored after the
// last commit that appended entries (nil when it was). The commit stands
// either way; the next one tries again.
func (s *Store) AnchorErr() error {
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	return s.anchorErr
}

func (s *Store) anchorEstablished(ctx context.Context, q conn) (bool, error) {
	var n int
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM journal_anchor WHERE node = ?`, s.node).Scan(&n)
	return n > 0, err
}

// head returns the last committed journal entry as the database records it.
func head(ctx context.Context, q conn) (mailbox.JournalHead, error) {
	var h mailbox.JournalHead
	err := q.QueryRow(ctx, `SELECT seq, hash FROM journal_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if h.Seq == 0 {
		h.Hash = mailbox.GenesisHash
	}
	return h, err
}

// anchor moves the head file forward to h after a commit. It holds a lock
// file, so that the processes of this node writing the database (the
// daemon and the operator CLI) leave the highest head; it never moves the file backwards,
// and moves it only while the entry the file names is still in the
// journal with the hash the file records, so a cut or rewritten journal
// is never anchored over and the file stays as evidence. A missing file is
// written only while the database has no journal_anchor row (first use);
// that write records the row. The outcome is kept for AnchorErr.
func (s *Store) anchor(ctx context.Context, h mailbox.JournalHead) error {
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	unlock, err := lockFile(s.HeadPath() + ".lock")
	if err == nil {
		err = s.anchorLocked(ctx, h, false)
		unlock()
	}
	s.anchorErr = err
	return err
}

// anchorLocked is anchor with anchorMu and the lock file held. exact says
// that h was read from the database under the lock: as every head in the
// file was committed before it was written, a file ahead of h then means
// the journal lost its tail.
func (s *Store) anchorLocked(ctx context.Context, h mailbox.JournalHead, exact bool) error {
	cur, err := mailbox.ReadJournalHead(nil, s.HeadPath())
	switch {
	case errors.Is(err, mailbox.ErrNotFound):
		established, err := s.anchorEstablished(ctx, s.r)
		if err != nil {
			return mapErr(err)
		}
		if established {
			return fmt.Errorf("%w: %s was removed; not written anew (see Reanchor)", mailbox.ErrNoAnchor, s.HeadPath())
		}
		return s.establish(ctx, h, "established")
	case err != nil:
		return err
	case cur.Seq > h.Seq:
		s.anchored.Store(cur.Seq)
		if exact {
			return fmt.Errorf("%w: %w: the journal ends at entry %d, its anchored head is entry %d", mailbox.ErrJournalBroken, mailbox.ErrJournalTruncated, h.Seq, cur.Seq)
		}
		return nil // another process anchored further
	case cur.Seq == h.Seq:
		s.anchored.Store(cur.Seq)
		if cur.Hash != h.Hash {
			return fmt.Errorf("%w: entry %d differs from the anchored head", mailbox.ErrJournalBroken, cur.Seq)
		}
		return nil
	}
	hash := mailbox.GenesisHash
	if cur.Seq > 0 {
		err := s.r.QueryRow(ctx, `SELECT hash FROM journal WHERE seq = ?`, cur.Seq).Scan(&hash)
		if errors.Is(err, pgx.ErrNoRows) {
			hash = ""
		} else if err != nil {
			return mapErr(err)
		}
	}
	if hash != cur.Hash {
		return fmt.Errorf("%w: the anchored entry %d is no longer in the journal unchanged; %s is kept as evidence",
			mailbox.ErrJournalBroken, cur.Seq, s.HeadPath())
	}
	if err := mailbox.WriteJournalHead(nil, s.HeadPath(), h); err != nil {
		return err
	}
	s.anchored.Store(h.Seq)
	return nil
}

// establish writes the head file and then records it in journal_anchor;
// a crash in between leaves a correct file and no row, and the next Open
// establishes again. The caller holds the lock.
func (s *Store) establish(ctx context.Context, h mailbox.JournalHead, reason string) error {
	if err := mailbox.WriteJournalHead(nil, s.HeadPath(), h); err != nil {
		return err
	}
	err := s.writeTx(ctx, func(tx conn) error {
		_, err := tx.Exec(ctx, `INSERT INTO journal_anchor (node, seq, hash, at, reason) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at, reason = excluded.reason`,
			s.node, h.Seq, h.Hash, ns(s.now().UTC()), reason)
		return err
	})
	if err != nil {
		return err
	}
	s.anchored.Store(h.Seq)
	return nil
}

// openAnchor runs at Open: it removes temporary head files of writes cut
// short and anchors the current head (first use, or after a process that
// stopped between a commit and its head write). A journal found cut or
// rewritten is not an Open error: VerifyJournal reports it.
func (s *Store) openAnchor(ctx context.Context) error {
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	unlock, err := lockFile(s.HeadPath() + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(s.headPath), "."+filepath.Base(s.headPath)+"-*.tmp"))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("postgres: remove stale journal head file: %w", err)
		}
	}
	h, err := head(ctx, s.r)
	if err != nil {
		return mapErr(err)
	}
	s.anchorErr = s.anchorLocked(ctx, h, true)
	established, err := s.anchorEstablished(ctx, s.r)
	if err != nil {
		return mapErr(err)
	}
	if !established {
		return s.anchorErr // first use could not write the file: refuse to run without it
	}
	return nil
}

// Reanchor is the operator's way back to a checked journal after its
// head file was lost, or after database and head file were restored from
// different backups: it verifies the chain alone, writes the current head
// to the file, records it, and journals "journal_reanchored" with the old
// anchor and actor (that entry is then anchored as usual). Run it only
// after the journal was checked against the heads the daemon logged.
func (s *Store) Reanchor(ctx context.Context, actor string, now time.Time) (mailbox.JournalHead, error) {
	r, err := mailbox.VerifyJournal(ctx, chainOnly{s})
	if err != nil {
		return mailbox.JournalHead{}, err
	}
	h := mailbox.JournalHead{Seq: r.HeadSeq, Hash: r.HeadHash}
	old, oerr := mailbox.ReadJournalHead(nil, s.HeadPath())
	s.anchorMu.Lock()
	unlock, err := lockFile(s.HeadPath() + ".lock")
	if err == nil {
		err = s.establish(ctx, h, "reanchored by "+actor)
		unlock()
	}
	s.anchorErr = err
	s.anchorMu.Unlock()
	if err != nil {
		return h, err
	}
	detail := map[string]string{"actor": actor, "seq": fmt.Sprint(h.Seq), "hash": h.Hash}
	if oerr == nil {
		detail["previous_seq"], detail["previous_hash"] = fmt.Sprint(old.Seq), old.Hash
	} else {
		detail["previous"] = strings.TrimPrefix(oerr.Error(), "mailbox: ")
	}
	if _, err := s.Append(ctx, mailbox.EventInput{At: now, Kind: "journal_reanchored", Detail: detail}); err != nil {
		return h, err
	}
	return h, s.AnchorErr()
}

// chainOnly verifies the chain without the anchor.
type chainOnly struct{ *Store }

func (chainOnly) AnchoredHead(context.Context) (mailbox.JournalHead, error) {
	return mailbox.JournalHead{Hash: mailbox.GenesisHash}, nil
}

// lockFile takes an exclusive flock on path (created 0600), held until
// the returned function closes it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("postgres: journal head lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("postgres: journal head lock: %w", err)
	}
	return func() { f.Close() }, nil
}

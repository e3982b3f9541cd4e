package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// AnchoredHead returns the journal head kept in HeadPath; see
// mailbox.Store.
func (s *Store) AnchoredHead(ctx context.Context) (mailbox.JournalHead, error) {
	h, err := mailbox.ReadJournalHead(nil, s.HeadPath())
	if !errors.Is(err, mailbox.ErrNotFound) {
		return h, err
	}
	established, err := s.anchorEstablished(ctx, s.r)
	if err != nil {
		return h, s.mapErr(err)
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

func (s *Store) anchorEstablished(ctx context.Context, q Querier) (bool, error) {
	var n int
	err := q.QueryRow(ctx, s.d.AnchorCount, s.key...).Scan(&n)
	return n > 0, err
}

// Head returns the last committed journal entry as the database records
// it: a database without entries has the genesis hash at seq 0.
func Head(ctx context.Context, q Querier) (mailbox.JournalHead, error) {
	var h mailbox.JournalHead
	err := q.QueryRow(ctx, `SELECT seq, hash FROM journal_head WHERE id = 1`).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if h.Seq == 0 {
		h.Hash = mailbox.GenesisHash
	}
	return h, err
}

// anchor moves the head file forward to h after a commit. It holds a lock
// file, so that the processes of this gateway writing the database (the
// daemon and the operator CLI) leave the highest head; it never moves the file backwards,
// and moves it only while the entry the file names is still in the
// journal with the hash the file records, so a cut or rewritten journal
// is never anchored over and the file stays as evidence. A missing file is
// written only while the database has no journal_anchor row (first use);
// that write records the row. The outcome is kept for AnchorErr.
func (s *Store) anchor(ctx context.Context, h mailbox.JournalHead) error {
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	unlock, err := s.lockFile()
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
			return s.mapErr(err)
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
		if errors.Is(err, sql.ErrNoRows) {
			hash = ""
		} else if err != nil {
			return s.mapErr(err)
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
	err := s.writeTx(ctx, func(tx Querier) error {
		_, err := tx.Exec(ctx, s.d.AnchorUpsert, append(s.key[:len(s.key):len(s.key)], h.Seq, h.Hash, ns(s.now().UTC()), reason)...)
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
	unlock, err := s.lockFile()
	if err != nil {
		return err
	}
	defer unlock()
	stale, _ := filepath.Glob(filepath.Join(filepath.Dir(s.HeadPath()), "."+filepath.Base(s.HeadPath())+"-*.tmp"))
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("%s: remove stale journal head file: %w", s.d.Name, err)
		}
	}
	h, err := Head(ctx, s.r)
	if err != nil {
		return s.mapErr(err)
	}
	s.anchorErr = s.anchorLocked(ctx, h, true)
	established, err := s.anchorEstablished(ctx, s.r)
	if err != nil {
		return s.mapErr(err)
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
	unlock, err := s.lockFile()
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

// lockFile takes an exclusive flock on the head file's lock file (created
// 0600), held until the returned function closes it.
func (s *Store) lockFile() (func(), error) {
	f, err := os.OpenFile(s.HeadPath()+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: journal head lock: %w", s.d.Name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: journal head lock: %w", s.d.Name, err)
	}
	return func() { f.Close() }, nil
}

package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// dialogKeyPrefix keeps the dialog locks' keys apart from the keys
// serialize takes turns on (MessageIds, idempotency keys).
const dialogKeyPrefix = "osci-dialog:"

// dialogLocks holds the dialog locks of one gateway on a connection of
// their own, outside the pool: a lock held for a whole dialog must not
// take a pooled connection the dialog's own writes need.
type dialogLocks struct {
	mu   sync.Mutex
	conn *pgx.Conn
	gen  int             // counts connections; a lock belongs to one
	held map[string]bool // keys this gateway holds on conn
}

// The fetch engine's type assertion would silently skip a lock whose
// signature drifted.
var _ mailbox.DialogLocker = (*Store)(nil)

// TryLockDialog takes the lock that lets one gateway at a time hold an
// OSCI dialog for a mailbox; mailbox is what every gateway calls it alike
// (its SAFE-ID). It does not wait: ok is false while another gateway, or
// another caller in this one, holds it, and the caller skips this round.
// On ok the caller ends the dialog and then calls unlock exactly once.
//
// The lock is a session advisory lock, so it ends with the session: a
// gateway that dies (or whose connection the server drops) frees its
// locks at once, while a paused gateway keeps them, and so keeps the
// others out of a dialog it may still continue, until it runs again or
// the server drops its connection. If the connection breaks during a
// dialog the lock is already free when unlock is called; a second gateway
// can then begin a dialog before the first ends, which costs at most a
// delivery fetched twice, and a fetched delivery is stored once (by its
// MessageId) whoever fetched it.
func (s *Store) TryLockDialog(ctx context.Context, mailbox string) (unlock func(), ok bool, err error) {
	l := &s.dialogs
	key := dialogKeyPrefix + mailbox
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[key] {
		return nil, false, nil
	}
	if l.conn == nil || l.conn.IsClosed() {
		c, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return nil, false, fmt.Errorf("postgres: dialog lock of %s: %w", mailbox, mapErr(err))
		}
		l.conn, l.gen, l.held = c, l.gen+1, map[string]bool{}
	}
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		l.drop()
		return nil, false, fmt.Errorf("postgres: dialog lock of %s: %w", mailbox, mapErr(err))
	}
	if !ok {
		return nil, false, nil
	}
	l.held[key] = true
	gen := l.gen
	return func() { l.unlock(context.WithoutCancel(ctx), key, gen) }, true, nil
}

func (l *dialogLocks) unlock(ctx context.Context, key string, gen int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen || l.conn == nil || !l.held[key] {
		return // its session ended, and the lock with it
	}
	delete(l.held, key)
	var freed bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key).Scan(&freed); err != nil || !freed {
		// A lock that may still be held is never left behind: ending the
		// session frees every lock it holds (the others' holders find out
		// at their unlock, by the generation).
		l.drop()
	}
}

// drop ends the lock session; l.mu is held.
func (l *dialogLocks) drop() {
	if l.conn != nil {
		_ = l.conn.Close(context.Background())
	}
	l.conn, l.held = nil, nil
}

// closeDialogs ends the lock session at Close.
func (s *Store) closeDialogs() {
	s.dialogs.mu.Lock()
	defer s.dialogs.mu.Unlock()
	s.dialogs.drop()
}

package osciendpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// Reprocess reads a parked delivery again from its stored original, the
// fetchDelivery response as received, without the intermediary: transport
// decryption with our cipher key, the intermediary's signature verified
// with the mailbox's pins, then the same egvp reading as a fresh fetch
// (mailbox.Reprocessor). An original that still cannot be read is an
// *mailbox.UnreadableError with the new reason. The returned documents
// are files in a private directory that is removed as they are read to
// their end (the documents) or at once (everything else).
func (m *Mailbox) Reprocess(ctx context.Context, mailboxName, osciMessageID string, original io.Reader) (*mailbox.Delivery, error) {
	dir, err := os.MkdirTemp(m.cfg.SpoolDir, "osci-reread-*")
	if err != nil {
		return nil, fmt.Errorf("osciendpoint: reprocess spool: %w", err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	for _, sub := range []string{"parts", "docs"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("osciendpoint: reprocess spool: %w", err)
		}
	}
	parts := &osci.DirAttachments{Dir: filepath.Join(dir, "parts"), Spool: true}
	od, err := m.client.ReadDelivery(ctx, original, osciMessageID, parts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &mailbox.UnreadableError{Reason: unreadableReason(err), Err: err}
	}
	rcv, err := m.reader(dir).Read(ctx, od, parts, filepath.Join(dir, "docs"))
	if errors.Is(err, egvp.ErrTooLarge) {
		return nil, &mailbox.UnreadableError{Reason: unreadableReason(err), Err: err}
	}
	if err != nil {
		return nil, err
	}
	var open []io.Closer
	d, err := m.delivery(ctx, osciMessageID, od, rcv, nil, &open)
	if err != nil {
		for _, c := range open {
			c.Close()
		}
		return nil, err
	}
	// The documents stay readable through their open files; their names
	// go now, so nothing is left behind when the caller stops reading.
	for i := range d.Documents {
		d.Documents[i].Body = &closeAtEOF{f: open[i].(*os.File)}
	}
	if err := os.RemoveAll(dir); err != nil {
		m.log.Warn("removing reprocessed delivery files", zap.Error(err))
	}
	keep = true
	return d, nil
}

// closeAtEOF closes its file when it has been read to the end.
type closeAtEOF struct{ f *os.File }

func (c *closeAtEOF) Read(p []byte) (int, error) {
	if c.f == nil {
		return 0, io.EOF
	}
	n, err := c.f.Read(p)
	if err != nil {
		c.f.Close()
		c.f = nil
	}
	return n, err
}

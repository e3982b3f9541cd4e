package blobstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// State is one writer's bookkeeping.
type State struct {
	N    int64 // bytes taken
	Err  error // the first error; it sticks
	Done bool  // committed or aborted
	max  int64
	h    hash.Hash
}

// New starts the bookkeeping of a blob limited to max bytes (0 or less:
// mailbox.DefaultMaxBlobBytes).
func New(max int64) State {
	if max <= 0 {
		max = mailbox.DefaultMaxBlobBytes
	}
	return State{max: max, h: sha256.New()}
}

// Admit says whether p may be written: the sticking error, ErrClosed, or
// ErrTooLarge (which then sticks) when p would pass the limit.
func (s *State) Admit(p []byte) error {
	if s.Err != nil {
		return s.Err
	}
	if s.Done {
		return mailbox.ErrClosed
	}
	if s.N+int64(len(p)) > s.max {
		s.Err = fmt.Errorf("%w: blob exceeds %d bytes", mailbox.ErrTooLarge, s.max)
		return s.Err
	}
	return nil
}

// Took counts bytes the store has taken and hashes them.
func (s *State) Took(p []byte) {
	s.N += int64(len(p))
	s.h.Write(p)
}

// Ref names the bytes taken so far.
func (s *State) Ref() mailbox.BlobRef {
	return mailbox.BlobRef{SHA256: hex.EncodeToString(s.h.Sum(nil)), Size: s.N}
}

// Collectable decides on a blob a collection found (exists) with its
// written time: CollectGone, CollectRecent (written at or after
// writtenBefore) or, asking referenced, CollectReferenced; remove is true
// only when the store is to remove the blob.
func Collectable(exists bool, written, writtenBefore time.Time, referenced func() (bool, error)) (out mailbox.CollectOutcome, remove bool, err error) {
	switch {
	case !exists:
		return mailbox.CollectGone, false, nil
	case !written.Before(writtenBefore):
		return mailbox.CollectRecent, false, nil
	}
	ref, err := referenced()
	switch {
	case err != nil:
		return 0, false, err
	case ref:
		return mailbox.CollectReferenced, false, nil
	}
	return 0, true, nil
}

package egvp

import "errors"

// Sentinels of this package.
var (
	// ErrInvalid: an EGVP form (nachricht.xml, visitenkarte.xml, …) or an
	// outgoing message is malformed.
	ErrInvalid = errors.New("egvp: invalid message")
	// ErrTooLarge: the message exceeds the ERVB limits (Limits).
	ErrTooLarge = errors.New("egvp: message too large")
	// ErrNoContent: a delivery has no EGVP content we can read (nothing
	// addressed to our key, no project_coco).
	ErrNoContent = errors.New("egvp: no readable content")
)

// ErrNotListed is what a SenderDirectory returns for a SAFE-ID it does not
// list.
var ErrNotListed = errors.New("egvp: not listed in the directory")

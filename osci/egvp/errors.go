package egvp

import "errors"

// Sentinels of this package.
var (
	// ErrInvalid: an EGVP form (nachricht.xml, visitenkarte.xml, …) or an
	// outgoing message is malformed.
	ErrInvalid = errors.New("egvp: invalid message")
	// ErrTooLarge: an outgoing message exceeds the ERVB limits, or a
	// delivery the Reader's limits (Limits).
	ErrTooLarge = errors.New("egvp: message too large")
)

// ErrNotListed is what a SenderDirectory returns for a SAFE-ID it does not
// list.
var ErrNotListed = errors.New("egvp: not listed in the directory")

package osci

import (
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
)

// NoSequence marks an absent SequenceNumber.
const NoSequence = -1

// ControlBlock is the osci:ControlBlock header: challenge-response
// authentication and the dialog's ConversationId and SequenceNumber.
// Empty strings and NoSequence mean "absent".
type ControlBlock struct {
	Response       string
	Challenge      string
	ConversationID string
	SequenceNumber int64
}

// presence values of the matrix.
const (
	forbidden int8 = 0
	required  int8 = 1
	optional  int8 = -1
)

// presence is the ControlBlock matrix of the reference library, in the order
// Response, Challenge, ConversationId, SequenceNumber.
var presence = map[MessageType][4]int8{
	TypeInitDialog:                 {0, 1, 0, 0},
	TypeResponseToInitDialog:       {1, 1, 1, 0},
	TypeExitDialog:                 {1, 1, 1, 1},
	TypeResponseToExitDialog:       {1, 0, 1, 1},
	TypeGetMessageID:               {-1, 1, -1, 1},
	TypeResponseToGetMessageID:     {1, -1, 1, 1},
	TypeStoreDelivery:              {-1, 1, -1, 1},
	TypeResponseToStoreDelivery:    {1, -1, 1, 1},
	TypeFetchDelivery:              {1, 1, 1, 1},
	TypeResponseToFetchDelivery:    {1, 1, 1, 1},
	TypeFetchProcessCard:           {1, 1, 1, 1},
	TypeResponseToFetchProcessCard: {1, 1, 1, 1},
}

// ExplicitOnly reports whether an order may only be sent in an explicit
// dialog (opened by initDialog); the supplier answers 9802 otherwise.
func ExplicitOnly(t MessageType) bool {
	return t == TypeFetchDelivery || t == TypeFetchProcessCard || t == TypeExitDialog
}

// CheckPresence checks the ControlBlock of a message of type t against the
// presence matrix; it wraps ErrControlBlock.
func (cb ControlBlock) CheckPresence(t MessageType) error {
	p, ok := presence[t]
	if !ok {
		return fmt.Errorf("%w: no controlblock rules for %s", ErrControlBlock, t)
	}
	have := [4]bool{cb.Response != "", cb.Challenge != "", cb.ConversationID != "", cb.SequenceNumber != NoSequence}
	names := [4]string{"Response", "Challenge", "ConversationId", "SequenceNumber"}
	for i, rule := range p {
		switch {
		case rule == required && !have[i]:
			return fmt.Errorf("%w: %s requires %s", ErrControlBlock, t, names[i])
		case rule == forbidden && have[i]:
			return fmt.Errorf("%w: %s forbids %s", ErrControlBlock, t, names[i])
		}
	}
	if cb.SequenceNumber < NoSequence {
		return fmt.Errorf("%w: negative SequenceNumber", ErrControlBlock)
	}
	return nil
}

// NewChallenge returns a challenge as the reference library makes them: the
// base64 of 10 random bytes.
func NewChallenge(rand io.Reader) (string, error) {
	var b [10]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("osci: challenge: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

func (cb ControlBlock) element() *xel {
	e := headerBlock("osci:ControlBlock", "controlblock", ActorNext)
	if cb.ConversationID != "" {
		e.attr("ConversationId", cb.ConversationID)
	}
	if cb.SequenceNumber != NoSequence {
		e.attr("SequenceNumber", strconv.FormatInt(cb.SequenceNumber, 10))
	}
	if cb.Response != "" {
		e.add(el("osci:Response").txt(cb.Response))
	}
	if cb.Challenge != "" {
		e.add(el("osci:Challenge").txt(cb.Challenge))
	}
	return e
}

func isNumber(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

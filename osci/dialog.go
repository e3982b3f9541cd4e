package osci

import (
	"crypto/subtle"
	"fmt"
	"io"
)

type dialogState int

const (
	dialogIdle     dialogState = iota // nothing sent, or the last implicit dialog completed
	dialogAwaiting                    // a request is out, its response not yet checked
	dialogOpen                        // explicit dialog open, ready for the next order
	dialogClosed                      // exitDialog answered
	dialogBroken                      // a response failed its checks: send nothing more
	dialogUnread                      // a response arrived whole but could not be read; see Resume
)

// Dialog is the client side of OSCI's challenge-response dialogs. Request
// returns the ControlBlock for the next order and Response checks the echo in
// the supplier's answer. A Dialog is not safe for concurrent use.
//
// An implicit dialog (getMessageId or storeDelivery sent outside an explicit
// dialog) carries a fresh Challenge, SequenceNumber 0 and nothing else; its
// response must return the Challenge, a ConversationId and SequenceNumber 0.
// An explicit dialog starts with initDialog; every later order carries the
// ConversationId, Response = the supplier's last Challenge, a fresh Challenge
// and a SequenceNumber counting from 0; the response echoes ConversationId and
// SequenceNumber and returns the order's Challenge.
//
// After a response fails its checks, or Abort, the Dialog is broken and refuses
// every further request: the protocol forbids sending more in a dialog whose
// last answer could not be read (the next order would acknowledge a delivery).
type Dialog struct {
	Rand io.Reader

	state       dialogState
	explicit    bool
	convID      string
	seq         int64  // last SequenceNumber sent in the explicit dialog
	supplierCh  string // supplier's last Challenge
	pending     ControlBlock
	pendingType MessageType
}

// NewDialog returns an idle dialog drawing challenges from rand.
func NewDialog(rand io.Reader) *Dialog { return &Dialog{Rand: rand, seq: -1} }

// Explicit reports whether an explicit dialog is open.
func (d *Dialog) Explicit() bool { return d.explicit && d.state == dialogOpen }

// ConversationID returns the explicit dialog's ConversationId, or "".
func (d *Dialog) ConversationID() string { return d.convID }

// Abort marks the dialog broken; every further Request fails.
func (d *Dialog) Abort() { d.state = dialogBroken }

// Unread marks the pending order's response as arrived whole but not
// readable: every further Request fails until Resume has checked the
// ControlBlock read from it, and Abort still ends the dialog.
func (d *Dialog) Unread() {
	if d.state == dialogAwaiting {
		d.state = dialogUnread
	}
}

// Resume checks the ControlBlock of a response marked Unread, as Response
// does, and on success continues the dialog as after a response that was
// read. The check is what makes it safe: the ControlBlock must return the
// Challenge of our order, which only the intermediary could read (orders
// are encrypted to it), so a response forged on the path cannot resume a
// dialog and make the next order acknowledge anything.
func (d *Dialog) Resume(t MessageType, cb ControlBlock) error {
	if d.state != dialogUnread {
		return fmt.Errorf("%w: no unread response to resume from", ErrDialogState)
	}
	d.state = dialogAwaiting
	return d.Response(t, cb)
}

// Request returns the ControlBlock for an order of type t and marks it pending.
func (d *Dialog) Request(t MessageType) (ControlBlock, error) {
	if d.state == dialogAwaiting {
		return ControlBlock{}, fmt.Errorf("%w: %s while %s unanswered", ErrDialogState, t, d.pendingType)
	}
	if d.state == dialogBroken || d.state == dialogUnread {
		return ControlBlock{}, fmt.Errorf("%w: dialog broken", ErrDialogState)
	}
	ch, err := NewChallenge(d.Rand)
	if err != nil {
		return ControlBlock{}, err
	}
	var cb ControlBlock
	switch {
	case t == TypeInitDialog:
		if d.state == dialogOpen && d.explicit {
			return ControlBlock{}, fmt.Errorf("%w: dialog already open", ErrDialogState)
		}
		d.explicit, d.convID, d.seq, d.supplierCh = false, "", -1, ""
		cb = ControlBlock{Challenge: ch, SequenceNumber: NoSequence}
	case d.explicit && d.state == dialogOpen:
		cb = ControlBlock{Response: d.supplierCh, Challenge: ch, ConversationID: d.convID, SequenceNumber: d.seq + 1}
	case t == TypeGetMessageID || t == TypeStoreDelivery:
		cb = ControlBlock{Challenge: ch, SequenceNumber: 0}
	default:
		return ControlBlock{}, fmt.Errorf("%w: %s needs an explicit dialog", ErrDialogState, t)
	}
	if err := cb.CheckPresence(t); err != nil {
		return ControlBlock{}, err
	}
	if cb.SequenceNumber != NoSequence && d.explicit {
		d.seq = cb.SequenceNumber
	}
	d.pending, d.pendingType, d.state = cb, t, dialogAwaiting
	return cb, nil
}

// Response checks the ControlBlock of the response of type t to the pending
// order. On failure the dialog is broken and the error wraps ErrDialogMismatch
// (or ErrControlBlock, ErrUnexpectedType).
func (d *Dialog) Response(t MessageType, cb ControlBlock) error {
	if d.state != dialogAwaiting {
		return fmt.Errorf("%w: response without request", ErrDialogState)
	}
	if err := d.check(t, cb); err != nil {
		d.state = dialogBroken
		return err
	}
	switch {
	case d.pendingType == TypeInitDialog:
		d.explicit, d.convID, d.supplierCh, d.state = true, cb.ConversationID, cb.Challenge, dialogOpen
	case d.pendingType == TypeExitDialog:
		d.explicit, d.state = false, dialogClosed
	case d.explicit:
		d.supplierCh, d.state = cb.Challenge, dialogOpen
	default:
		d.state = dialogIdle
	}
	return nil
}

func (d *Dialog) check(t MessageType, cb ControlBlock) error {
	if t != d.pendingType.ResponseType() {
		return fmt.Errorf("%w: %s answered by %s", ErrUnexpectedType, d.pendingType, t)
	}
	if err := cb.CheckPresence(t); err != nil {
		return err
	}
	if !equalToken(cb.Response, d.pending.Challenge) {
		return fmt.Errorf("%w: response does not return our challenge", ErrDialogMismatch)
	}
	if !isNumber(cb.ConversationID) {
		return fmt.Errorf("%w: conversation id %q not a number", ErrDialogMismatch, cb.ConversationID)
	}
	switch {
	case d.pendingType == TypeInitDialog:
		if cb.Challenge == "" {
			return fmt.Errorf("%w: no supplier challenge", ErrDialogMismatch)
		}
	case d.explicit:
		if cb.ConversationID != d.convID {
			return fmt.Errorf("%w: conversation id changed", ErrDialogMismatch)
		}
		if cb.SequenceNumber != d.pending.SequenceNumber {
			return fmt.Errorf("%w: sequence number %d, sent %d", ErrDialogMismatch, cb.SequenceNumber, d.pending.SequenceNumber)
		}
		if d.pendingType != TypeExitDialog && cb.Challenge == "" {
			return fmt.Errorf("%w: no supplier challenge", ErrDialogMismatch)
		}
	default:
		if cb.SequenceNumber != 0 {
			return fmt.Errorf("%w: implicit dialog answered with sequence number %d", ErrDialogMismatch, cb.SequenceNumber)
		}
	}
	return nil
}

func equalToken(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// SupplierDialog is the supplier's record of one explicit dialog: what the
// simulator keeps per ConversationId.
type SupplierDialog struct {
	ConversationID string
	LastSequence   int64  // SequenceNumber of the last accepted order; -1 after initDialog
	Challenge      string // the supplier's last Challenge
	Closed         bool
}

// OpenSupplierDialog checks an initDialog ControlBlock and returns the new
// dialog and the ControlBlock for responseToInitDialog.
func OpenSupplierDialog(req ControlBlock, conversationID string, rand io.Reader) (*SupplierDialog, ControlBlock, error) {
	if err := req.CheckPresence(TypeInitDialog); err != nil {
		return nil, ControlBlock{}, fmt.Errorf("%w: %w", err, ErrFaultSequence)
	}
	if !isNumber(conversationID) {
		return nil, ControlBlock{}, fmt.Errorf("osci: conversation id %q is not a number", conversationID)
	}
	ch, err := NewChallenge(rand)
	if err != nil {
		return nil, ControlBlock{}, err
	}
	d := &SupplierDialog{ConversationID: conversationID, LastSequence: -1, Challenge: ch}
	return d, ControlBlock{Response: req.Challenge, Challenge: ch, ConversationID: conversationID, SequenceNumber: NoSequence}, nil
}

// CheckImplicit checks an order sent without ConversationId and returns the
// ControlBlock for its response. Explicit-only orders get feedback 9802;
// a Response or a SequenceNumber other than 0 gives fault 9400.
func CheckImplicit(t MessageType, req ControlBlock, conversationID string) (ControlBlock, error) {
	if ExplicitOnly(t) {
		return ControlBlock{}, ErrFeedbackExplicitRequired
	}
	if req.ConversationID != "" || req.Response != "" || req.SequenceNumber != 0 || req.Challenge == "" {
		return ControlBlock{}, fmt.Errorf("%w: implicit %s with dialog data: %w", ErrDialogMismatch, t, ErrFaultSequence)
	}
	if err := req.CheckPresence(t); err != nil {
		return ControlBlock{}, fmt.Errorf("%w: %w", err, ErrFaultSequence)
	}
	return ControlBlock{Response: req.Challenge, ConversationID: conversationID, SequenceNumber: 0}, nil
}

// Accept checks an order in this explicit dialog (Response = the supplier's
// last Challenge, the same ConversationId, SequenceNumber = last+1), advances
// the dialog and returns the ControlBlock for the response. Mismatches give
// fault 9400 and leave the dialog unchanged.
func (d *SupplierDialog) Accept(t MessageType, req ControlBlock, rand io.Reader) (ControlBlock, error) {
	fail := func(why string) (ControlBlock, error) {
		return ControlBlock{}, fmt.Errorf("%w: %s: %w", ErrDialogMismatch, why, ErrFaultSequence)
	}
	switch {
	case d.Closed:
		return fail("dialog closed")
	case t == TypeInitDialog:
		return fail("initDialog inside a dialog")
	case req.ConversationID != d.ConversationID:
		return fail("conversation id")
	case !equalToken(req.Response, d.Challenge):
		return fail("response")
	case req.SequenceNumber != d.LastSequence+1:
		return fail("sequence number")
	}
	if err := req.CheckPresence(t); err != nil {
		return fail(err.Error())
	}
	resp := ControlBlock{Response: req.Challenge, ConversationID: d.ConversationID, SequenceNumber: req.SequenceNumber}
	if t != TypeExitDialog {
		ch, err := NewChallenge(rand)
		if err != nil {
			return ControlBlock{}, err
		}
		resp.Challenge = ch
	}
	d.LastSequence = req.SequenceNumber
	d.Challenge = resp.Challenge
	d.Closed = t == TypeExitDialog
	return resp, nil
}

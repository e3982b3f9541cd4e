package xjustiz

import (
	"fmt"
	"strings"
	"time"
)

// EEBAnswer is what nachricht.eeb.zuruecklaufend.2200007 is built from:
// the answer to a court's eEB request, acknowledging receipt on a date or
// rejecting the service with a reason of EEB.StoerungsID.
type EEBAnswer struct {
	Court            Court  // the court that asked (empfaenger.gericht by code; a name alone: empfaenger.sonstige)
	Sender           string // absender.sonstige, e.g. "Stadt Erkelenz"; required
	ForeignMessageID string // the court's eigeneNachrichtenID (fremdeNachrichtenID); required
	CaseSender       string // our file number (aktenzeichen.absender)
	CaseRecipient    string // the court's case number (aktenzeichen.empfaenger)

	// Exactly one of Acknowledged and Rejection.
	Acknowledged time.Time  // receipt acknowledged on this date (its year, month and day as given)
	Rejection    *Rejection // service rejected

	Representative bool // a legitimate representative answers (zustellungsempfaenger.abweichend)
}

// Rejection is a refused service: a code and, optionally, free text.
type Rejection struct {
	Code   RejectionCode
	Reason string // stoerungsGrund
}

// BuildEEB builds and validates the eEB answer a. The record is
// schema-valid and names the court's message in fremdeNachrichtenID
// (SCH-EEB-0001).
func (c *Codec) BuildEEB(a EEBAnswer) (*Built, error) {
	if strings.TrimSpace(a.Court.Code) == "" && strings.TrimSpace(a.Court.Name) == "" {
		return nil, fmt.Errorf("%w: an eEB answer goes to the court that asked", ErrMissingCourt)
	}
	if strings.TrimSpace(a.Sender) == "" {
		return nil, fmt.Errorf("%w: sender (absender.sonstige) missing", ErrIncomplete)
	}
	if !uuidPattern.MatchString(strings.ToLower(a.ForeignMessageID)) {
		return nil, fmt.Errorf("%w: fremdeNachrichtenID %q is not the court's message id (a UUID)", ErrIncomplete, a.ForeignMessageID)
	}
	switch {
	case a.Acknowledged.IsZero() == (a.Rejection == nil):
		return nil, fmt.Errorf("%w: an eEB answer acknowledges on a date or rejects, exactly one", ErrIncomplete)
	case a.Rejection != nil && a.Rejection.Code.Name() == "":
		return nil, fmt.Errorf("%w: rejection code %q is not in EEB.StoerungsID %s", ErrUnknownCode, a.Rejection.Code, c.gen.eebList)
	}
	b := &Built{Created: c.now()}
	var err error
	if b.MessageID, err = c.newUUID(); err != nil {
		return nil, err
	}
	w := newWriter(c.gen, MessageEEB)
	c.header(w, w.root, header{
		caseSender: a.CaseSender, caseRecipient: a.CaseRecipient, created: b.Created,
		sender: a.Sender, court: a.Court, messageID: b.MessageID, foreignID: strings.ToLower(a.ForeignMessageID),
	})
	fd := w.el(w.root, "fachdaten")
	if a.Rejection == nil {
		w.text(fd, "empfangsbestaetigung", a.Acknowledged.Format(time.DateOnly))
	} else {
		sm := w.el(fd, "stoerungsmeldung")
		w.code(sm, "stoerungsID", c.gen.eebList, string(a.Rejection.Code))
		if a.Rejection.Reason != "" {
			w.text(sm, "stoerungsGrund", a.Rejection.Reason)
		}
	}
	if a.Representative {
		w.text(fd, "zustellungsempfaenger.abweichend", "true")
	}
	if b.Record, err = c.finish(w); err != nil {
		return nil, err
	}
	return b, nil
}

// EEBAnswer starts the answer to r, a received record that asks for an
// eEB: to the court that sent it, naming its message (fremdeNachrichtenID),
// with the case numbers swapped to our side (the court's aktenzeichen.absender
// becomes our aktenzeichen.empfaenger). The caller sets Acknowledged or
// Rejection (and Representative) and passes it to BuildEEB.
func (r *Record) EEBAnswer(sender string) (EEBAnswer, error) {
	if !r.EEBRequested {
		return EEBAnswer{}, fmt.Errorf("%w: %s %s", ErrNoEEBAsked, r.Message, r.MessageID)
	}
	return EEBAnswer{
		Court:            Court{Code: r.SenderCourt, Name: r.SenderName},
		Sender:           sender,
		ForeignMessageID: r.MessageID,
		CaseSender:       r.CaseRecipient,
		CaseRecipient:    r.CaseSender,
	}, nil
}

// EEBReply is a received eEB answer, to be matched to the message we sent
// by ForeignMessageID (our eigeneNachrichtenID).
type EEBReply struct {
	MessageID        string // the answer's own eigeneNachrichtenID
	ForeignMessageID string // the message it answers: ours
	Acknowledged     bool
	Date             time.Time // acknowledged on this date (midnight, Europe/Berlin)
	Rejection        *Rejection
	Representative   bool
}

// ReadEEB reads a received eEB answer (Read, then the answer). It fails
// with ErrNotEEB for any other message; a record that is not valid
// against a generation we carry is still read (Record.Validation says
// why) as long as the answer's fields are there.
func (c *Codec) ReadEEB(record []byte) (*Record, error) {
	r, err := c.Read(record)
	if err != nil {
		return nil, err
	}
	if r.EEB == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotEEB, r.Message)
	}
	return r, nil
}

package mailbox

import (
	"context"
	"errors"
	"time"
)

// CodeMessageIDUsed is the OSCI feedback code for a MessageId that was not
// issued by this intermediary or was already used (9801).
const CodeMessageIDUsed = "9801"

// Class is how the engines treat a failed call to the intermediary.
type Class int

const (
	// Temporary: the request was certainly not processed; retry later.
	Temporary Class = iota + 1
	// Permanent: the intermediary refused it; park with its code and text.
	Permanent
	// Ambiguous: the request may have been processed; before repeating an
	// order, ask for the process card of its MessageId.
	Ambiguous
)

func (c Class) String() string {
	switch c {
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Ambiguous:
		return "ambiguous"
	}
	return "unknown"
}

// The properties a transport's errors may have. The osci package's errors
// implement them; the engines never look at concrete error types.
type (
	// temporaryError is implemented by errors that know whether retrying helps.
	temporaryError interface{ Temporary() bool }
	// ambiguousError marks errors after which the request may have been
	// processed (a timeout or reset after the request was written).
	ambiguousError interface{ Ambiguous() bool }
	// notFoundError marks "no such process card" (OSCI 9804) and similar.
	notFoundError interface{ NotFound() bool }
	// codedError carries the intermediary's feedback code (e.g. "9801").
	codedError interface{ Code() string }
)

// Classify decides retry versus park for err. An error that declares
// itself ambiguous is Ambiguous; one that declares Temporary() is
// Temporary or Permanent accordingly; timeouts and context cancellation are Ambiguous;
// anything else is Ambiguous too, since the engines cannot prove the
// request was not processed.
func Classify(err error) Class {
	if err == nil {
		return 0
	}
	var a ambiguousError
	if errors.As(err, &a) && a.Ambiguous() {
		return Ambiguous
	}
	// A timeout or cancellation may strike after the request was written.
	var to interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || (errors.As(err, &to) && to.Timeout()) {
		return Ambiguous
	}
	var t temporaryError
	if errors.As(err, &t) {
		if t.Temporary() {
			return Temporary
		}
		return Permanent
	}
	return Ambiguous
}

// IsNotFound reports whether err says the asked-for object does not exist
// (errors.Is ErrNotFound, or an error with NotFound() true).
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) {
		return true
	}
	var n notFoundError
	return errors.As(err, &n) && n.NotFound()
}

// ErrorCode returns the intermediary's feedback code carried by err, or "".
func ErrorCode(err error) string {
	var c codedError
	if errors.As(err, &c) {
		return c.Code()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	return ""
}

func isLeaseLost(err error) bool { return errors.Is(err, ErrLeaseLost) }

// PeerError is how a Transport or Session adapter reports a failure it has
// classified in the terms of its protocol (e.g. an OSCI feedback code).
type PeerError struct {
	Class        Class
	FeedbackCode string // the intermediary's code, e.g. "9601"
	Missing      bool   // the asked-for object does not exist (OSCI 9804)
	Err          error
}

func (e *PeerError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "mailbox: peer error " + e.FeedbackCode
}

func (e *PeerError) Unwrap() error { return e.Err }

// RetryAt is when err says to come back (an error in its chain with a
// RetryAt method: an intermediary whose circuit is open says when it
// opens again); zero when it says nothing.
func RetryAt(err error) time.Time {
	var r interface{ RetryAt() time.Time }
	if errors.As(err, &r) {
		return r.RetryAt()
	}
	return time.Time{}
}
func (e *PeerError) Temporary() bool { return e.Class == Temporary }
func (e *PeerError) Ambiguous() bool { return e.Class == Ambiguous }
func (e *PeerError) NotFound() bool  { return e.Missing }
func (e *PeerError) Code() string    { return e.FeedbackCode }

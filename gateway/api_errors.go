package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Sentinel errors of the admin API, the address book and the outgoing
// folder. Every rejection of a request wraps one of them in a FieldError
// that names the offending field, so callers test with errors.Is and the
// API answers with problem+json naming the field.
var (
	ErrInvalidRequest      = errors.New("gateway: invalid request")
	ErrUnknownRecipient    = errors.New("gateway: recipient not in the address book")
	ErrBadCertificate      = errors.New("gateway: certificate not usable")
	ErrBadFileName         = errors.New("gateway: file name breaks the ERVB rules")
	ErrDuplicateFileName   = errors.New("gateway: file name used twice")
	ErrTooManyFiles        = errors.New("gateway: too many files")
	ErrMessageTooLarge     = errors.New("gateway: message too large")
	ErrNoDocuments         = errors.New("gateway: message without documents")
	ErrUnknownMailbox      = errors.New("gateway: unknown mailbox")
	ErrAddressNotFound     = errors.New("gateway: address book entry not found")
	ErrAddressExists       = errors.New("gateway: address book entry exists")
	ErrDocumentNotFound    = errors.New("gateway: no such document")
	ErrIdempotencyConflict = errors.New("gateway: idempotency key used for another message")
)

// FieldError is a rejected request field. It matches its sentinel (Err)
// with errors.Is; Field is a JSON-pointer-like name ("message.subject",
// "document[3]", "entries[2].cipherCert").
type FieldError struct {
	Field  string
	Reason string
	Err    error
	Cause  error // optional underlying error (e.g. a certs sentinel)
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *FieldError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// fieldErr builds a FieldError; err defaults to ErrInvalidRequest.
func fieldErr(err error, field, format string, a ...any) *FieldError {
	if err == nil {
		err = ErrInvalidRequest
	}
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...), Err: err}
}

// withFieldPrefix renames the field of a FieldError ("subject" becomes
// "message.subject"); other errors pass unchanged.
func withFieldPrefix(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: prefix + fe.Field, Reason: fe.Reason, Err: fe.Err, Cause: fe.Cause}
	}
	return err
}

// problemFor maps an error to an HTTP status, a detail for the caller and
// the field it concerns. Errors that are not the caller's are answered
// with a generic 500 and logged.
func problemFor(err error) (status int, detail, field string) {
	var fe *FieldError
	var mbe *http.MaxBytesError
	var te *mailbox.TransitionError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit), "body"
	case errors.As(err, &fe):
		status := http.StatusBadRequest
		switch {
		case errors.Is(fe.Err, ErrTooManyFiles), errors.Is(fe.Err, ErrMessageTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(fe.Err, ErrAddressNotFound), errors.Is(fe.Err, ErrDocumentNotFound):
			status = http.StatusNotFound
		case errors.Is(fe.Err, ErrAddressExists), errors.Is(fe.Err, ErrIdempotencyConflict):
			status = http.StatusConflict
		case errors.Is(fe.Err, ErrUnknownRecipient), errors.Is(fe.Err, ErrBadCertificate), errors.Is(fe.Err, ErrUnknownMailbox):
			status = http.StatusUnprocessableEntity
		}
		return status, fe.Field + ": " + fe.Reason, fe.Field
	case errors.As(err, &te):
		if te.To != "" {
			return http.StatusConflict, fmt.Sprintf("message %d: %s is not allowed from %s to %s", te.ID, te.Op, te.From, te.To), "state"
		}
		return http.StatusConflict, fmt.Sprintf("message %d: %s is not allowed from %s to %s", te.ID, te.Op, te.From, opTarget(te.Op)), "state"
	case errors.Is(err, mailbox.ErrBusy):
		return http.StatusConflict, "the message is being worked on by the gateway; try again in a moment", "state"
	case errors.Is(err, mailbox.ErrNotFound):
		return http.StatusNotFound, "no such message", "id"
	case errors.Is(err, mailbox.ErrBlobMissing), errors.Is(err, mailbox.ErrBlobCorrupt):
		return http.StatusInternalServerError, "the stored document is missing or damaged; see the gateway log", ""
	case errors.Is(err, mailbox.ErrDiskFull):
		return http.StatusInsufficientStorage, "the gateway's disk is full; nothing was stored", ""
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "the request was cancelled or timed out; nothing was stored", ""
	}
	return http.StatusInternalServerError, "internal error; see the gateway log", ""
}

// fail answers err as problem+json and logs what is not the caller's fault.
func (s *APIServer) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, field := problemFor(err)
	if status >= 500 {
		s.d.Logger.Error("api request failed", zap.String("path", r.URL.Path), zap.Int("status", status), zap.Error(err))
	}
	writeProblem(w, status, detail, field)
}

// opTarget names where an operator action would have taken a message.
func opTarget(op string) string {
	switch mailbox.Op(op) {
	case mailbox.OpHold:
		return string(mailbox.StateHeld)
	case mailbox.OpRequeue:
		return string(mailbox.StateQueued)
	case mailbox.OpDelete:
		return string(mailbox.StateDeleted)
	}
	return "its state before hold"
}

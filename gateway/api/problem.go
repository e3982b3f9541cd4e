package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ErrDocumentNotFound is the refusal of a document download whose index
// the message does not have.
var ErrDocumentNotFound = errors.New("api: no such document")

// problemFor maps an error to an HTTP status, a detail for the caller and
// the field it concerns. Errors that are not the caller's are answered
// with a generic 500 and logged.
func problemFor(err error) (status int, detail, fieldName string) {
	var fe *field.Error
	var mbe *http.MaxBytesError
	var te *mailbox.TransitionError
	var pe *submit.PreflightError
	switch {
	case errors.As(err, &pe):
		errs := pe.Findings.Errors()
		msgs := make([]string, len(errs))
		for i, f := range errs {
			msgs[i] = f.File + ": " + f.Message
		}
		return http.StatusUnprocessableEntity, "the ERVB pre-flight refused the documents: " + strings.Join(msgs, "; "), "document"
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit), "body"
	case errors.As(err, &fe):
		status := http.StatusBadRequest
		switch {
		case errors.Is(fe.Err, submit.ErrTooManyFiles), errors.Is(fe.Err, submit.ErrMessageTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(fe.Err, addressbook.ErrNotFound), errors.Is(fe.Err, ErrDocumentNotFound):
			status = http.StatusNotFound
		case errors.Is(fe.Err, addressbook.ErrExists), errors.Is(fe.Err, submit.ErrIdempotencyConflict):
			status = http.StatusConflict
		case errors.Is(fe.Err, submit.ErrRecord), errors.Is(fe.Err, submit.ErrNoRecord),
			errors.Is(fe.Err, submit.ErrUnknownRecipient), errors.Is(fe.Err, addressbook.ErrBadCertificate), errors.Is(fe.Err, submit.ErrUnknownMailbox),
			errors.Is(fe.Err, addressbook.ErrUnknownIntermediary), errors.Is(fe.Err, addressbook.ErrUnknownCourt), errors.Is(fe.Err, submit.ErrAmbiguousRecipient):
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
	case errors.Is(err, ErrNoReprocessor):
		return http.StatusServiceUnavailable, "the gateway cannot read deliveries again right now: " + err.Error(), ""
	case errors.Is(err, mailbox.ErrNotFound):
		return http.StatusNotFound, "no such message", "id"
	case errors.Is(err, mailbox.ErrPurged):
		return http.StatusGone, err.Error(), "n"
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
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, name := problemFor(err)
	if status >= 500 {
		s.d.Logger.Error("api request failed", zap.String("path", r.URL.Path), zap.Int("status", status), zap.Error(err))
	}
	p := Problem{Status: status, Detail: detail, Field: name}
	if pe := (*submit.PreflightError)(nil); errors.As(err, &pe) {
		p.Findings = pe.Findings
	}
	writeProblemOf(w, p)
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

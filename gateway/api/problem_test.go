package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Every refusal sentinel maps to its own HTTP status and names its field.
func TestProblemForSentinels(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
	}{
		{field.Errorf(submit.ErrIdempotencyConflict, "Idempotency-Key", "x"), http.StatusConflict},
		{field.Errorf(addressbook.ErrExists, "safeId", "x"), http.StatusConflict},
		{field.Errorf(addressbook.ErrNotFound, "safeId", "x"), http.StatusNotFound},
		{field.Errorf(ErrDocumentNotFound, "n", "x"), http.StatusNotFound},
		{field.Errorf(submit.ErrTooManyFiles, "document[3]", "x"), http.StatusRequestEntityTooLarge},
		{field.Errorf(submit.ErrMessageTooLarge, "document[0]", "x"), http.StatusRequestEntityTooLarge},
		{field.Errorf(submit.ErrUnknownRecipient, "to", "x"), http.StatusUnprocessableEntity},
		{field.Errorf(addressbook.ErrBadCertificate, "to", "x"), http.StatusUnprocessableEntity},
		{field.Errorf(submit.ErrUnknownMailbox, "mailbox", "x"), http.StatusUnprocessableEntity},
		{field.Errorf(nil, "subject", "x"), http.StatusBadRequest},
		{fmt.Errorf("wrapped: %w", mailbox.ErrDiskFull), http.StatusInsufficientStorage},
		{mailbox.ErrNotFound, http.StatusNotFound},
		{errors.New("anything else"), http.StatusInternalServerError},
	} {
		status, detail, name := problemFor(c.err)
		var fe *field.Error
		if status != c.status || (errors.As(c.err, &fe) && (name != fe.Field || detail == "")) {
			t.Errorf("%v: %d %q %q, want %d", c.err, status, detail, name, c.status)
		}
	}
}

// Package field is how the gateway refuses a request: an Error names the
// offending field (a JSON-pointer-like path such as "message.subject",
// "document[3].filename", "entries[2].cipherCert") and wraps the sentinel
// that says what kind of refusal it is, so callers test with errors.Is
// and the admin API answers problem+json naming the field. It also holds
// the text rule every free-text field shares. Nothing here fails; it only
// describes failures.
package field

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is the sentinel of a refusal that has no more specific one.
var ErrInvalid = errors.New("gateway: invalid request")

// Error is a refused request field. It matches its sentinel (Err) with
// errors.Is, and Cause too when set.
type Error struct {
	Field  string
	Reason string
	Err    error
	Cause  error // optional underlying error (e.g. a certs sentinel)
}

func (e *Error) Error() string {
	return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Reason)
}

func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

// Errorf builds an Error; a nil sentinel means ErrInvalid.
func Errorf(sentinel error, name, format string, a ...any) *Error {
	if sentinel == nil {
		sentinel = ErrInvalid
	}
	return &Error{Field: name, Reason: fmt.Sprintf(format, a...), Err: sentinel}
}

// Prefix renames the field of an Error ("subject" becomes
// "message.subject"); other errors pass unchanged.
func Prefix(prefix string, err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return &Error{Field: prefix + fe.Field, Reason: fe.Reason, Err: fe.Err, Cause: fe.Cause}
	}
	return err
}

// Rename gives an Error of one of the fields in names the new field name
// (an API that calls a field differently from the package that checked
// it); other errors pass unchanged.
func Rename(err error, names map[string]string) error {
	var fe *Error
	if errors.As(err, &fe) {
		if to, ok := names[fe.Field]; ok {
			return &Error{Field: to, Reason: fe.Reason, Err: fe.Err, Cause: fe.Cause}
		}
	}
	return err
}

// Text checks a free-text field: required when asked, valid UTF-8, at
// most max characters, no control characters.
func Text(name, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return Errorf(nil, name, "is required")
	case !utf8.ValidString(s):
		return Errorf(nil, name, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return Errorf(nil, name, "is longer than %d characters", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return Errorf(nil, name, "contains control characters")
	}
	return nil
}

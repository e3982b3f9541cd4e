package xjustiz

import (
	"errors"
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/xsd"
)

// Errors. Every failure wraps exactly one of these; all are permanent
// (the same input fails the same way again).
var (
	// Building: what the caller gave is not enough for a record.
	ErrMissingCourt = errors.New("xjustiz: court missing")
	ErrIncomplete   = errors.New("xjustiz: record incomplete")
	ErrUnknownCode  = errors.New("xjustiz: code not in the code list")
	ErrFileName     = errors.New("xjustiz: unusable file name")

	// Validating and reading.
	ErrTooLarge    = errors.New("xjustiz: record too large")
	ErrMalformed   = errors.New("xjustiz: record is not well-formed XML")
	ErrSchema      = errors.New("xjustiz: record is not schema-valid")
	ErrRule        = errors.New("xjustiz: record breaks a rule of the standard")
	ErrUnsupported = errors.New("xjustiz: unsupported message")
	ErrNotEEB      = errors.New("xjustiz: not an eEB answer")
	ErrNoEEBAsked  = errors.New("xjustiz: record asks for no eEB")

	// Configuration and the embedded files.
	ErrUnknownGeneration = errors.New("xjustiz: unknown schema generation")
	ErrSchemaFiles       = errors.New("xjustiz: embedded schema files unusable")
)

// Problem is one finding about a record: the validator's or the rule's
// own message and the line it refers to (0: unknown).
type Problem struct {
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	}
	return p.Message
}

// ValidationError says why a record failed: Kind is ErrMalformed,
// ErrSchema or ErrRule, Problems carry libxml2's (or the rule's) messages
// for the user, at most Limits.MaxProblems of them (Total counts all).
type ValidationError struct {
	Kind       error
	Generation string // the XJustiz generation checked against; "" when not reached
	Message    string // root element, when known
	Problems   []Problem
	Total      int
}

func (e *ValidationError) Error() string {
	head := e.Kind.Error()
	if e.Generation != "" {
		head += fmt.Sprintf(" (XJustiz %s)", e.Generation)
	}
	return xsd.Summary(head, e.Problems, e.Total)
}

func (e *ValidationError) Unwrap() error { return e.Kind }

// fromXSD turns the binding's error into a ValidationError.
func fromXSD(err error, gen, msg string) error {
	var xe *xsd.Error
	if !errors.As(err, &xe) {
		if errors.Is(err, xsd.ErrTooLarge) {
			return fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return fmt.Errorf("%w: %w", ErrSchema, err)
	}
	kind := ErrSchema
	if errors.Is(err, xsd.ErrMalformed) || errors.Is(err, xsd.ErrDoctype) {
		kind = ErrMalformed
	}
	ve := &ValidationError{Kind: kind, Generation: gen, Message: msg, Total: xe.Total}
	for _, p := range xe.Problems {
		ve.Problems = append(ve.Problems, Problem{Line: p.Line, Message: p.Message})
	}
	return ve
}

package xdomea

import "errors"

// Errors of the package; each failure wraps one of them.
var (
	ErrVersion     = errors.New("xdomea: version not available")
	ErrSchemaFiles = errors.New("xdomea: embedded schema files unusable")
	ErrInvalid     = errors.New("xdomea: message not schema-valid")
	ErrOptions     = errors.New("xdomea: bad options")
	ErrUnknown     = errors.New("xdomea: import confirmation for no Abgabe of this gateway")
)

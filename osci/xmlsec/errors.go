package xmlsec

import "errors"

// Parse errors. Every rejection of Parse wraps exactly one of these.
var (
	ErrDoctype          = errors.New("xmlsec: doctype or entity declaration")
	ErrProcInst         = errors.New("xmlsec: processing instruction not allowed")
	ErrDuplicateAttr    = errors.New("xmlsec: duplicate attribute")
	ErrUndeclaredPrefix = errors.New("xmlsec: undeclared namespace prefix")
	ErrBadNamespace     = errors.New("xmlsec: illegal namespace declaration")
	ErrMultipleRoots    = errors.New("xmlsec: more than one root or content outside the root")
	ErrNoRoot           = errors.New("xmlsec: no root element")
	ErrEncoding         = errors.New("xmlsec: input is not UTF-8")
	ErrTooLarge         = errors.New("xmlsec: input too large")
	ErrTooDeep          = errors.New("xmlsec: nesting too deep")
	ErrTooManyElements  = errors.New("xmlsec: too many elements")
	ErrTooManyAttrs     = errors.New("xmlsec: too many attributes on one element")
	ErrTooManyNamespace = errors.New("xmlsec: too many namespace declarations")
	ErrSyntax           = errors.New("xmlsec: malformed xml")
)

// Canonicalization errors.
var (
	ErrUnsupportedC14N       = errors.New("xmlsec: unsupported canonicalization method")
	ErrCanonicalizationLimit = errors.New("xmlsec: canonicalization limit exceeded")
)

// Signature errors.
var (
	ErrDigestMismatch      = errors.New("xmlsec: digest mismatch")
	ErrBadSignature        = errors.New("xmlsec: bad signature")
	ErrAlgorithmNotAllowed = errors.New("xmlsec: algorithm not allowed")
	ErrDuplicateID         = errors.New("xmlsec: duplicate id")
	ErrMissingReference    = errors.New("xmlsec: missing required reference")
	ErrDuplicateReference  = errors.New("xmlsec: more than one reference to the same uri")
	ErrUnresolvedReference = errors.New("xmlsec: reference target not found")
	ErrURINotAllowed       = errors.New("xmlsec: reference uri not allowed")
	ErrUntrustedKey        = errors.New("xmlsec: untrusted key")
	ErrWeakKey             = errors.New("xmlsec: key too weak")
	ErrMalformedSignature  = errors.New("xmlsec: malformed signature")
	ErrAttachment          = errors.New("xmlsec: attachment unavailable")
	ErrMisplaced           = errors.New("xmlsec: signed element not where expected")
)

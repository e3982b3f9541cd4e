package certs

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors. Every error this package returns wraps exactly the
// sentinels that describe it, so callers decide with errors.Is.
var (
	ErrExpired       = errors.New("certs: expired")
	ErrNotYetValid   = errors.New("certs: not yet valid")
	ErrNotTrusted    = errors.New("certs: not trusted")
	ErrRevoked       = errors.New("certs: revoked")
	ErrKeyUsage      = errors.New("certs: key usage")
	ErrWeakKey       = errors.New("certs: weak key")
	ErrWeakAlgorithm = errors.New("certs: weak algorithm")
	// ErrRevocationUnavailable means no usable revocation answer could be
	// had (no responder named, responder unreachable, status unknown). It
	// is temporary: asking again later may succeed.
	ErrRevocationUnavailable = errors.New("certs: revocation status unavailable")
	// ErrBadOCSPResponse is an OCSP response that was received but is
	// malformed, oversized, stale or dated in the future.
	ErrBadOCSPResponse = errors.New("certs: bad ocsp response")
	// ErrOCSPSigner is an OCSP response signed by neither the issuing CA
	// nor a responder the CA delegated (OCSPSigning EKU, issued by it).
	ErrOCSPSigner = errors.New("certs: ocsp response signer not authorized")
	// ErrBadCRL is a CRL that was received but is malformed, oversized,
	// stale, or not signed by the certificate's issuer.
	ErrBadCRL = errors.New("certs: bad crl")

	ErrKeyFilePermissions = errors.New("certs: key file permissions")
	ErrKeyMismatch        = errors.New("certs: private key does not match certificate")
	ErrBadPassword        = errors.New("certs: wrong keystore password")
	ErrBadKeystore        = errors.New("certs: unreadable keystore")
	ErrUnsupportedKey     = errors.New("certs: unsupported key type")
	ErrNoCertificate      = errors.New("certs: no certificate")
	ErrBadPolicy          = errors.New("certs: invalid policy")
)

// Temporary reports whether err may go away by itself, so that the caller
// should retry later rather than reject for good. Only an unavailable
// revocation status is temporary; a revoked, expired or untrusted
// certificate and a forged or stale revocation answer are permanent.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrBadOCSPResponse) || errors.Is(err, ErrOCSPSigner) || errors.Is(err, ErrBadCRL) ||
		errors.Is(err, ErrRevoked) {
		return false
	}
	return errors.Is(err, ErrRevocationUnavailable)
}

// KeyFileModeError is returned when a private-key file (PEM key or
// PKCS#12 keystore) can be read by group or others. It matches
// ErrKeyFilePermissions.
type KeyFileModeError struct {
	Path         string
	Mode         fs.FileMode
	Secret       bool // a password or token file rather than a key
	GroupAllowed bool // the caller accepted group access; others had it
}

func (e *KeyFileModeError) Error() string {
	kind := "key file"
	if e.Secret {
		kind = "secret file"
	}
	if e.GroupAllowed {
		return fmt.Sprintf("certs: %s %s is readable by others (mode %04o); chmod 640 it", kind, e.Path, uint32(e.Mode.Perm()))
	}
	return fmt.Sprintf("certs: %s %s is readable by group or others (mode %04o); chmod 600 it", kind, e.Path, uint32(e.Mode.Perm()))
}

// Is makes errors.Is(err, ErrKeyFilePermissions) true.
func (e *KeyFileModeError) Is(target error) bool { return target == ErrKeyFilePermissions }

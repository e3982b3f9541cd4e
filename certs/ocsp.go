package certs

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"
)

// checkOCSP asks each responder named in cert until one answers.
func (rc *RevocationChecker) checkOCSP(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (string, error) {
	key := cacheKey(cert, issuer)
	if e, ok := rc.ocspCached(key, at); ok {
		return e.detail + " (cached)", e.err
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return "", fmt.Errorf("%w: ocsp request: %v", ErrRevocationUnavailable, err)
	}
	limit := rc.MaxOCSPResponseBytes
	if limit <= 0 {
		limit = DefaultMaxOCSPResponseBytes
	}
	var lastErr error
	for _, u := range cert.OCSPServer {
		body, err := rc.fetch(ctx, "POST", u, req, "application/ocsp-request", "application/ocsp-response", limit)
		if errors.Is(err, errTooLarge) {
			return "", fmt.Errorf("%w: %v", ErrBadOCSPResponse, err)
		}
		if err != nil {
			lastErr = fmt.Errorf("ocsp %s: %w", u, err)
			continue
		}
		resp, err := rc.verifyOCSP(body, cert, issuer, at)
		if err != nil {
			return "", fmt.Errorf("ocsp %s: %w", u, err)
		}
		e := ocspEntry{detail: fmt.Sprintf("good (OCSP %s, thisUpdate %s)", u, resp.ThisUpdate.UTC().Format(time.RFC3339))}
		if resp.Status == ocsp.Revoked {
			e.detail = ""
			e.err = fmt.Errorf("%w: OCSP %s: revoked at %s, reason %d", ErrRevoked, u, resp.RevokedAt.UTC().Format(time.RFC3339), resp.RevocationReason)
		}
		if !resp.NextUpdate.IsZero() {
			e.until = resp.NextUpdate
			rc.storeOCSP(key, e, at)
		}
		return e.detail, e.err
	}
	return "", lastErr
}

// verifyOCSP parses an OCSP response and checks who signed it and that it
// is fresh. x/crypto/ocsp checks only the signature chain of an embedded
// responder certificate, not its extended key usage, so the RFC 6960
// §4.2.2.2 authorization is done here: the response is signed by the
// issuing CA itself, or by a responder certificate that the same CA
// issued, that carries id-kp-OCSPSigning, and that is valid at time at.
// Good and revoked answers return a Response; unknown and the responder's
// error statuses are "unavailable".
func (rc *RevocationChecker) verifyOCSP(body []byte, cert, issuer *x509.Certificate, at time.Time) (*ocsp.Response, error) {
	// With a nil issuer the library verifies the response against an
	// embedded certificate only, which lets us judge that certificate.
	resp, err := ocsp.ParseResponseForCert(body, cert, nil)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("%w: responder answered %v", ErrRevocationUnavailable, re)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadOCSPResponse, err)
	}
	switch rcert := resp.Certificate; {
	case rcert == nil:
		if err := resp.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: response is not signed by the issuer: %v", ErrOCSPSigner, err)
		}
	case rcert.Equal(issuer):
		// signed by the CA, which included its own certificate
	default:
		if err := rcert.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("%w: responder %q was not issued by %q: %v", ErrOCSPSigner, rcert.Subject.String(), issuer.Subject.String(), err)
		}
		if !hasExtKeyUsage(rcert, x509.ExtKeyUsageOCSPSigning) {
			return nil, fmt.Errorf("%w: responder %q lacks the OCSPSigning extended key usage", ErrOCSPSigner, rcert.Subject.String())
		}
		if err := CheckValidity(rcert, at); err != nil {
			return nil, fmt.Errorf("%w: responder %q: %v", ErrOCSPSigner, rcert.Subject.String(), err)
		}
	}
	skew := rc.skew()
	if resp.ThisUpdate.After(at.Add(skew)) {
		return nil, fmt.Errorf("%w: thisUpdate %s is in the future", ErrBadOCSPResponse, resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if !resp.NextUpdate.IsZero() {
		if at.After(resp.NextUpdate.Add(skew)) {
			return nil, fmt.Errorf("%w: stale, nextUpdate %s has passed", ErrBadOCSPResponse, resp.NextUpdate.UTC().Format(time.RFC3339))
		}
	} else {
		maxAge := rc.MaxOCSPAge
		if maxAge <= 0 {
			maxAge = DefaultMaxOCSPAge
		}
		if at.Sub(resp.ThisUpdate) > maxAge {
			return nil, fmt.Errorf("%w: stale, thisUpdate %s is older than %s", ErrBadOCSPResponse, resp.ThisUpdate.UTC().Format(time.RFC3339), maxAge)
		}
	}
	switch resp.Status {
	case ocsp.Good, ocsp.Revoked:
		return resp, nil
	}
	return nil, fmt.Errorf("%w: responder does not know the certificate (status unknown)", ErrRevocationUnavailable)
}

func hasExtKeyUsage(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == want {
			return true
		}
	}
	return false
}

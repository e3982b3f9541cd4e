package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// checkCRL looks cert up in the CRLs of its distribution points. Only
// full CRLs over HTTP(S) are supported (no delta CRLs, no LDAP).
func (rc *RevocationChecker) checkCRL(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (string, error) {
	var lastErr error
	for _, u := range cert.CRLDistributionPoints {
		e, err := rc.getCRL(ctx, u, issuer, at)
		if err != nil {
			if !errors.Is(err, ErrRevocationUnavailable) {
				return "", fmt.Errorf("crl %s: %w", u, err)
			}
			lastErr = fmt.Errorf("crl %s: %w", u, err)
			continue
		}
		if t, revoked := e.revoked[cert.SerialNumber.Text(16)]; revoked {
			return "", fmt.Errorf("%w: listed in CRL %s since %s", ErrRevoked, u, t.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("good (CRL %s, thisUpdate %s)", u, e.thisUpdate.UTC().Format(time.RFC3339)), nil
	}
	return "", lastErr
}

// getCRL returns a verified CRL from the cache or the network.
func (rc *RevocationChecker) getCRL(ctx context.Context, u string, issuer *x509.Certificate, at time.Time) (*crlEntry, error) {
	key := u + "|" + cacheKey(issuer, issuer)
	if e, ok := rc.crlCached(key, at); ok {
		return e, nil
	}
	limit := rc.MaxCRLBytes
	if limit <= 0 {
		limit = DefaultMaxCRLBytes
	}
	data, err := rc.fetch(ctx, "GET", u, nil, "", "application/pkix-crl", limit)
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%w: %v", ErrBadCRL, err)
	}
	if err != nil {
		return nil, err
	}
	e, err := parseCRL(data, issuer, at, rc.skew())
	if err != nil {
		return nil, err
	}
	rc.storeCRL(key, e)
	return e, nil
}

// parseCRL parses a DER or PEM CRL and checks that issuer signed it and
// that it is current at time at (within skew).
func parseCRL(data []byte, issuer *x509.Certificate, at time.Time, skew time.Duration) (*crlEntry, error) {
	if b, _ := pem.Decode(data); b != nil && b.Type == "X509 CRL" {
		data = b.Bytes
	}
	crl, err := x509.ParseRevocationList(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCRL, err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: issued by %q, not by %q", ErrBadCRL, crl.Issuer.String(), issuer.Subject.String())
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrBadCRL, err)
	}
	if crl.ThisUpdate.After(at.Add(skew)) {
		return nil, fmt.Errorf("%w: thisUpdate %s is in the future", ErrBadCRL, crl.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if crl.NextUpdate.IsZero() || at.After(crl.NextUpdate.Add(skew)) {
		return nil, fmt.Errorf("%w: stale, nextUpdate %s has passed", ErrBadCRL, crl.NextUpdate.UTC().Format(time.RFC3339))
	}
	e := &crlEntry{thisUpdate: crl.ThisUpdate, nextUpdate: crl.NextUpdate, revoked: map[string]time.Time{}}
	for _, r := range crl.RevokedCertificateEntries {
		e.revoked[r.SerialNumber.Text(16)] = r.RevocationTime
	}
	return e, nil
}

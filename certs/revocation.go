package certs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Default limits of a RevocationChecker.
const (
	DefaultRevocationTimeout    = 10 * time.Second
	DefaultMaxOCSPResponseBytes = 64 << 10
	DefaultMaxCRLBytes          = 16 << 20
	DefaultRevocationSkew       = 5 * time.Minute
	DefaultMaxOCSPAge           = 24 * time.Hour
	maxCacheEntries             = 10000
)

// RevocationChecker asks OCSP responders (RFC 6960, HTTP POST) and CRL
// distribution points (HTTP GET) whether a certificate is revoked, and
// caches good and revoked answers until their nextUpdate. The zero value
// is ready to use with the defaults below; it is safe for concurrent use.
type RevocationChecker struct {
	// Client does the HTTP requests; nil means a client that follows no
	// redirects. Tests inject one that reaches an httptest server.
	Client *http.Client
	// Timeout bounds each HTTP request (default DefaultRevocationTimeout).
	Timeout time.Duration
	// MaxOCSPResponseBytes and MaxCRLBytes bound what is read; a larger
	// answer is rejected as bad (defaults 64 KiB and 16 MiB).
	MaxOCSPResponseBytes int64
	MaxCRLBytes          int64
	// Skew is the clock tolerance for thisUpdate/nextUpdate (default 5m).
	Skew time.Duration
	// MaxOCSPAge is how old an OCSP response without nextUpdate may be
	// (default 24h). Such responses are not cached.
	MaxOCSPAge time.Duration

	mu   sync.Mutex
	ocsp map[string]ocspEntry
	crls map[string]*crlEntry
}

type ocspEntry struct {
	until  time.Time
	detail string
	err    error // nil (good) or an ErrRevoked error
}

type crlEntry struct {
	thisUpdate, nextUpdate time.Time
	revoked                map[string]time.Time // serial hex -> revocation time
}

func (rc *RevocationChecker) timeout() time.Duration {
	if rc.Timeout > 0 {
		return rc.Timeout
	}
	return DefaultRevocationTimeout
}

func (rc *RevocationChecker) skew() time.Duration {
	if rc.Skew > 0 {
		return rc.Skew
	}
	return DefaultRevocationSkew
}

var defaultRevocationClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (rc *RevocationChecker) client() *http.Client {
	if rc.Client != nil {
		return rc.Client
	}
	return defaultRevocationClient
}

// Check returns the revocation status of cert, issued by issuer, at time
// at. It asks the OCSP responders named in the certificate first and
// falls back to its CRL distribution points only when no OCSP answer
// could be had. The error wraps ErrRevoked, ErrBadOCSPResponse,
// ErrOCSPSigner, ErrBadCRL, or ErrRevocationUnavailable.
func (rc *RevocationChecker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time) (string, error) {
	var silence []string
	if len(cert.OCSPServer) > 0 {
		detail, err := rc.checkOCSP(ctx, cert, issuer, at)
		if err == nil || !errors.Is(err, ErrRevocationUnavailable) {
			return detail, err
		}
		silence = append(silence, unwrapSilence(err))
	}
	if len(cert.CRLDistributionPoints) > 0 {
		detail, err := rc.checkCRL(ctx, cert, issuer, at)
		if err == nil || !errors.Is(err, ErrRevocationUnavailable) {
			return detail, err
		}
		silence = append(silence, unwrapSilence(err))
	}
	if len(silence) == 0 {
		return "", fmt.Errorf("%w: certificate names no OCSP responder and no CRL distribution point", ErrRevocationUnavailable)
	}
	return "", fmt.Errorf("%w: %s", ErrRevocationUnavailable, strings.Join(silence, "; "))
}

// unwrapSilence drops the inner sentinel text, which the combined error
// states once.
func unwrapSilence(err error) string {
	return strings.ReplaceAll(err.Error(), ErrRevocationUnavailable.Error()+": ", "")
}

// errTooLarge marks an answer beyond the size limit; the caller wraps it
// into ErrBadOCSPResponse or ErrBadCRL.
var errTooLarge = errors.New("answer exceeds the size limit")

// fetch does one bounded HTTP request. Transport failures and non-200
// answers wrap ErrRevocationUnavailable; an oversized body wraps errTooLarge.
func (rc *RevocationChecker) fetch(ctx context.Context, method, rawURL string, body []byte, contentType, accept string, limit int64) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%w: unsupported URL %q", ErrRevocationUnavailable, rawURL)
	}
	ctx, cancel := context.WithTimeout(ctx, rc.timeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRevocationUnavailable, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	resp, err := rc.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRevocationUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s %s: HTTP %d", ErrRevocationUnavailable, method, rawURL, resp.StatusCode)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s announces %d bytes, limit %d", errTooLarge, rawURL, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRevocationUnavailable, rawURL, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s sent more than %d bytes", errTooLarge, rawURL, limit)
	}
	return data, nil
}

// cacheKey identifies a certificate by its issuer's key and its serial.
func cacheKey(cert, issuer *x509.Certificate) string {
	h := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(h[:]) + "/" + cert.SerialNumber.Text(16)
}

func (rc *RevocationChecker) ocspCached(key string, at time.Time) (ocspEntry, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e, ok := rc.ocsp[key]
	if !ok || !at.Before(e.until) {
		return ocspEntry{}, false
	}
	return e, true
}

func (rc *RevocationChecker) storeOCSP(key string, e ocspEntry, at time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.ocsp == nil {
		rc.ocsp = map[string]ocspEntry{}
	}
	if len(rc.ocsp) >= maxCacheEntries {
		for k, old := range rc.ocsp {
			if !at.Before(old.until) {
				delete(rc.ocsp, k)
			}
		}
		if len(rc.ocsp) >= maxCacheEntries {
			clear(rc.ocsp)
		}
	}
	rc.ocsp[key] = e
}

func (rc *RevocationChecker) crlCached(key string, at time.Time) (*crlEntry, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	e, ok := rc.crls[key]
	if !ok || !at.Before(e.nextUpdate) {
		return nil, false
	}
	return e, true
}

func (rc *RevocationChecker) storeCRL(key string, e *crlEntry) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.crls == nil || len(rc.crls) >= maxCacheEntries {
		rc.crls = map[string]*crlEntry{}
	}
	rc.crls[key] = e
}

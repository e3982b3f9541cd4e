package oidclogin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/coreos/go-oidc/v3/oidc"
)

// verifier checks ID tokens with go-oidc against the provider's JWKS.
// strict is the gate: nothing it refuses is accepted. signatureOnly
// checks the signature alone and serves only to name the reason strict
// gave, so that each refusal wraps its own sentinel.
type verifier struct {
	issuer, clientID string
	strict           *oidc.IDTokenVerifier
	signatureOnly    *oidc.IDTokenVerifier
}

// verify returns the identity raw carries if go-oidc accepts it (issuer,
// audience, expiry, signature) and its nonce is the log-in's.
func (v *verifier) verify(ctx context.Context, raw, nonce string) (Identity, error) {
	tok, err := v.strict.Verify(ctx, raw)
	if err != nil {
		return Identity{}, v.reason(ctx, raw, err)
	}
	// With more than one audience the token must be meant for us (OIDC
	// Core 3.1.3.7, azp); go-oidc only checks that we are among them.
	var extra struct {
		AZP string `json:"azp"`
	}
	if err := tok.Claims(&extra); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	if len(tok.Audience) > 1 && extra.AZP != v.clientID {
		return Identity{}, fmt.Errorf("%w: several audiences and azp %q", ErrAudience, extra.AZP)
	}
	if tok.Nonce == "" || subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
		return Identity{}, ErrNonce
	}
	var c tokenClaims
	if err := tok.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrIDToken, err)
	}
	if tok.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no sub", ErrIDToken)
	}
	return c.identity(tok.Subject, tok.Issuer), nil
}

// reason names why strict refused raw.
func (v *verifier) reason(ctx context.Context, raw string, err error) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return fmt.Errorf("%w: %v", ErrExpired, err)
	}
	tok, serr := v.signatureOnly.Verify(ctx, raw)
	switch {
	case serr != nil:
		return fmt.Errorf("%w: %v", ErrSignature, serr)
	case tok.Issuer != v.issuer:
		return fmt.Errorf("%w: %v", ErrIssuer, err)
	case !slices.Contains(tok.Audience, v.clientID):
		return fmt.Errorf("%w: %v", ErrAudience, err)
	}
	return fmt.Errorf("%w: %v", ErrIDToken, err)
}

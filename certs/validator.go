package certs

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Validator decides whether a peer certificate may be used for a purpose.
// Trust comes only from Trust (configured roots and pins); certificates
// offered in a message are candidates and path hints, never anchors.
type Validator struct {
	Trust *TrustStore
	// Use, when set, is the one use Trust is the set for (TrustSets
	// builds such validators): Validate then checks only the key usage of
	// Use.Purpose(), and for a PinsOnly use trusts pinned certificates
	// only. Zero is an ad-hoc validator (command-line checks) whose caller
	// filled Trust for the one purpose it asks about.
	Use    Use
	Now    func() time.Time // nil: time.Now
	Policy Policy
	// Revocation asks OCSP responders and CRL distribution points. When it
	// is nil, every revocation answer is "unavailable" and the policy's
	// mode decides (require: reject; prefer: warn).
	Revocation *RevocationChecker
}

func (v *Validator) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Validate checks leaf for purpose p at v.Now. offered are the other
// certificates that came with it (e.g. from the same message); CA
// certificates among them may serve as intermediates on the path to a
// configured root, nothing more. The Result is filled as far as the
// checks got and is returned also on error. Checks in order: algorithm,
// key, validity, key usage, trust (pin or chain), revocation.
func (v *Validator) Validate(ctx context.Context, leaf *x509.Certificate, offered []*x509.Certificate, p Purpose) (*Result, error) {
	at := v.now()
	r := newResult(leaf, p, at)
	if err := v.Policy.Validate(); err != nil {
		return r, r.fail(StepKey, err)
	}
	if p != PurposeSignature && p != PurposeCipher {
		return r, r.fail(StepKeyUsage, fmt.Errorf("%w: unknown purpose %v", ErrBadPolicy, p))
	}
	if v.Use != 0 {
		r.Use = v.Use
		if want := v.Use.Purpose(); want == 0 {
			return r, r.fail(StepKeyUsage, fmt.Errorf("%w: %s certificates are checked by crypto/tls, not by a Validator", ErrBadPolicy, v.Use))
		} else if p != want {
			return r, r.fail(StepKeyUsage, fmt.Errorf("%w: the %s trust set vouches for %s certificates, not %s", ErrKeyUsage, v.Use, want, p))
		}
	}
	if v.Trust == nil {
		return r, r.fail(StepTrust, fmt.Errorf("%w: no trust store configured", ErrNotTrusted))
	}
	if err := CheckAlgorithm(leaf); err != nil {
		return r, r.fail(StepAlgorithm, err)
	}
	r.add(StepAlgorithm, OutcomePassed, leaf.SignatureAlgorithm.String())

	warn, err := v.Policy.checkPeerKey(leaf)
	switch {
	case err != nil:
		return r, r.fail(StepKey, err)
	case warn != "":
		r.add(StepKey, OutcomeWarning, warn)
	default:
		r.add(StepKey, OutcomePassed, KeyDescription(leaf))
	}

	if err := CheckValidity(leaf, at); err != nil {
		return r, r.fail(StepValidity, err)
	}
	r.add(StepValidity, OutcomePassed, fmt.Sprintf("%s .. %s", r.NotBefore.Format(time.RFC3339), r.NotAfter.Format(time.RFC3339)))

	if err := CheckKeyUsage(leaf, p); err != nil {
		return r, r.fail(StepKeyUsage, err)
	}
	r.add(StepKeyUsage, OutcomePassed, KeyUsageString(leaf.KeyUsage))

	if v.Trust.IsPinned(leaf) {
		// A pinned certificate is trusted because the operator (or SAFE)
		// said so; there is no CA to build a path to or to ask about
		// revocation, so both are skipped and the report says so.
		r.Pinned = true
		r.Chain = []string{r.Subject}
		r.add(StepTrust, OutcomePassed, "pinned certificate")
		r.add(StepRevocation, OutcomeSkipped, "pinned certificate: trusted by configuration, not by a CA")
		r.Valid = true
		return r, nil
	}
	if v.Use.PinsOnly() {
		return r, r.fail(StepTrust, fmt.Errorf("%w: %q is not pinned, and only pinned certificates are trusted for %s", ErrNotTrusted, leaf.Subject.String(), v.Use))
	}
	chain, err := v.buildChain(leaf, offered, at, r)
	if err != nil {
		return r, r.fail(StepTrust, err)
	}
	for _, c := range chain {
		r.Chain = append(r.Chain, c.Subject.String())
	}
	r.add(StepTrust, OutcomePassed, fmt.Sprintf("chains to %q", chain[len(chain)-1].Subject.String()))

	if err := v.checkRevocation(ctx, chain, p, at, r); err != nil {
		return r, err
	}
	r.Valid = true
	return r, nil
}

// buildChain finds a path from leaf to a configured root. Offered CA
// certificates join the intermediates pool as path hints only: the path
// must still end at a configured root, every link is signature-checked
// by x509.Verify, and each CA on it passes the same algorithm, key and
// revocation checks as the leaf.
func (v *Validator) buildChain(leaf *x509.Certificate, offered []*x509.Certificate, at time.Time, r *Result) ([]*x509.Certificate, error) {
	roots, inter := v.Trust.pools()
	if n, _, _ := v.Trust.Counts(); n == 0 {
		return nil, fmt.Errorf("%w: %q is not pinned and no CA is configured", ErrNotTrusted, leaf.Subject.String())
	}
	for _, c := range offered {
		if c.BasicConstraintsValid && c.IsCA && !c.Equal(leaf) {
			inter.AddCert(c)
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, mapVerifyError(leaf, err)
	}
	var firstErr error
	for _, chain := range chains {
		warnings, err := v.checkCAs(chain[1:])
		if err == nil {
			for _, w := range warnings {
				r.Warnings = append(r.Warnings, "trust: "+w)
			}
			return chain, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// checkCAs applies the algorithm and key policy to the CAs of a path. A
// root's own self-signature carries no trust, so its algorithm is not
// judged; its key is.
func (v *Validator) checkCAs(cas []*x509.Certificate) (warnings []string, err error) {
	for i, c := range cas {
		if i < len(cas)-1 {
			if err := CheckAlgorithm(c); err != nil {
				return nil, err
			}
		}
		w, err := v.Policy.checkPeerKey(c)
		if err != nil {
			return nil, fmt.Errorf("CA %q: %w", c.Subject.String(), err)
		}
		if w != "" {
			warnings = append(warnings, fmt.Sprintf("CA %q: %s", c.Subject.String(), w))
		}
	}
	return warnings, nil
}

func mapVerifyError(leaf *x509.Certificate, err error) error {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var ia x509.InsecureAlgorithmError
	switch {
	case errors.As(err, &ua):
		return fmt.Errorf("%w: %q does not chain to a configured root: %v", ErrNotTrusted, leaf.Subject.String(), err)
	case errors.As(err, &ia):
		return fmt.Errorf("%w: %v", ErrWeakAlgorithm, err)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		// The leaf's window was checked before, so this is a CA on the path.
		return fmt.Errorf("%w: a CA on the path: %v", ErrExpired, err)
	}
	return fmt.Errorf("%w: %v", ErrNotTrusted, err)
}

// checkRevocation asks about every certificate of the chain except the
// root. Fail-open (prefer) forgives only silence; a revoked status or an
// invalid answer (bad signature, unauthorized signer, stale) always
// rejects.
func (v *Validator) checkRevocation(ctx context.Context, chain []*x509.Certificate, p Purpose, at time.Time, r *Result) error {
	mode := v.Policy.RevocationFor(p)
	if mode == RevocationOff {
		r.add(StepRevocation, OutcomeSkipped, "revocation checking is off for "+p.String())
		return nil
	}
	var details, silent []string
	for i := 0; i < len(chain)-1; i++ {
		c, issuer := chain[i], chain[i+1]
		var detail string
		var err error
		if v.Revocation == nil {
			err = fmt.Errorf("%w: no revocation checker configured", ErrRevocationUnavailable)
		} else {
			detail, err = v.Revocation.Check(ctx, c, issuer, at)
		}
		switch {
		case err == nil:
			details = append(details, detail)
		case errors.Is(err, ErrRevoked), errors.Is(err, ErrBadOCSPResponse), errors.Is(err, ErrOCSPSigner),
			errors.Is(err, ErrBadCRL), !errors.Is(err, ErrRevocationUnavailable):
			return r.fail(StepRevocation, fmt.Errorf("%q: %w", c.Subject.String(), err))
		case mode == RevocationRequire:
			return r.fail(StepRevocation, fmt.Errorf("%q (fail-closed): %w", c.Subject.String(), err))
		default:
			silent = append(silent, fmt.Sprintf("%q: %v", c.Subject.String(), err))
		}
	}
	if len(silent) > 0 {
		r.add(StepRevocation, OutcomeWarning, "fail-open, status unknown: "+strings.Join(append(silent, details...), "; "))
		return nil
	}
	r.add(StepRevocation, OutcomePassed, strings.Join(details, "; "))
	return nil
}

// Select returns the certificate among offered (all certificates a
// message carries) that validates for purpose p, with its Result. It
// tries each in turn, the others serving as path hints. When none
// validates, the error of the most relevant candidate is returned (one
// whose key usage fits p, if any), so that errors.Is tells the reason.
func (v *Validator) Select(ctx context.Context, offered []*x509.Certificate, p Purpose) (*x509.Certificate, *Result, error) {
	if len(offered) == 0 {
		return nil, nil, fmt.Errorf("%w: no certificate offered", ErrNotTrusted)
	}
	var bestErr error
	var bestRes *Result
	bestRank := -1
	for i, c := range offered {
		others := make([]*x509.Certificate, 0, len(offered)-1)
		others = append(others, offered[:i]...)
		others = append(others, offered[i+1:]...)
		res, err := v.Validate(ctx, c, others, p)
		if err == nil {
			return c, res, nil
		}
		rank := 1
		if errors.Is(err, ErrKeyUsage) || (c.BasicConstraintsValid && c.IsCA) {
			rank = 0
		}
		if rank > bestRank {
			bestRank, bestErr, bestRes = rank, err, res
		}
	}
	return nil, bestRes, fmt.Errorf("certs: none of %d offered certificates is valid for %s: %w", len(offered), p, bestErr)
}

// Check is Validate for the purpose of v.Use.
func (v *Validator) Check(ctx context.Context, leaf *x509.Certificate, offered []*x509.Certificate) (*Result, error) {
	return v.Validate(ctx, leaf, offered, v.Use.Purpose())
}

// SelectSigner is Select for PurposeSignature. It lets a *Validator serve
// as the key selector of an XML signature verifier.
func (v *Validator) SelectSigner(ctx context.Context, offered []*x509.Certificate) (*x509.Certificate, *Result, error) {
	return v.Select(ctx, offered, PurposeSignature)
}

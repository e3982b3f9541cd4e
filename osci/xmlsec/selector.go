package xmlsec

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// KeySelector decides which certificate may have made a signature. offered
// are the certificates the signature's KeyInfo points at; they select among
// trusted keys and never add trust. A selector that accepts none returns an
// error; Verify wraps it in ErrUntrustedKey.
type KeySelector interface {
	SelectSigner(ctx context.Context, offered []*x509.Certificate) (*x509.Certificate, *certs.Result, error)
}

// ValidatorSelector accepts the first offered certificate that the certs
// Validator finds valid for signatures (pinned, or chaining to a configured
// CA, with key usage, validity and revocation per its policy). Give it the
// validator of the one use the signature serves (certs.Validators): the
// intermediary's for responses, the content signers' for containers; a
// validator of a cipher use accepts no signer.
type ValidatorSelector struct {
	V *certs.Validator
}

// SelectSigner implements KeySelector.
func (s ValidatorSelector) SelectSigner(ctx context.Context, offered []*x509.Certificate) (*x509.Certificate, *certs.Result, error) {
	if s.V == nil {
		return nil, nil, fmt.Errorf("xmlsec: no certificate validator configured")
	}
	return s.V.Select(ctx, offered, certs.PurposeSignature)
}

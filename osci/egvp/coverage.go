package egvp

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// capture is a key selector that remembers the certificate it was offered
// and the validation result, so that a failed check can still name the
// signer in the report. It hands on only what the validator accepted.
type capture struct {
	v    *certs.Validator
	res  *certs.Result
	cert *x509.Certificate
}

func (c *capture) SelectSigner(ctx context.Context, offered []*x509.Certificate) (*x509.Certificate, *certs.Result, error) {
	cert, res, err := c.v.SelectSigner(ctx, offered)
	c.res, c.cert = res, cert
	if cert == nil {
		for _, o := range offered {
			if !o.IsCA {
				c.cert = o
				break
			}
		}
	}
	return cert, res, err
}

// Kinds of coverage (ContentCheck.Coverage): what vouches that a
// delivered content is the sender's and unaltered.
const (
	// CoverContent: verified content signatures reference it, its Id and,
	// for an attachment, its octets.
	CoverContent = "content-signature"
	// CoverTransport: its container carries no content signature, and the
	// sender's transport signature (ClientSignature), which covers the
	// whole storeDelivery with every container and attachment, was
	// inspected as intact by the intermediary on a response whose
	// signature we verified.
	CoverTransport = "transport-signature"
)

// coverage is what covers the contents of one container. A container
// with content signatures is covered by them alone, reference by
// reference (a signature that does not verify covers nothing); one
// without is covered by the sender's transport signature when transport
// names its certificate's subject.
type coverage struct {
	signed    bool                // the container carries content signatures
	refs      map[string][]string // verified reference URIs ("#Id", "cid:Content-ID") → signers' subjects
	transport string              // subject of the intact transport signature's certificate, "" when it covers nothing
}

// containerChecks verifies the content signatures of one container with
// the content-signer validator and returns their checks, signers and the
// references they cover. att gives an attachment's plaintext.
func containerChecks(ctx context.Context, rc *osci.ReadContainer, val *certs.Validator, att xmlsec.AttachmentResolver, now time.Time) ([]SignatureCheck, []*x509.Certificate, map[string][]string) {
	object := "Inhaltsdatencontainer " + rc.ID
	sel := &capture{v: val}
	vs, err := rc.VerifySignatures(ctx, sel, att)
	if err != nil {
		c := SignatureCheck{Object: object, Kind: KindContent, Detail: err.Error()}
		fromResult(&c, sel.res, sel.cert, now)
		switch {
		case errors.Is(err, xmlsec.ErrDigestMismatch), errors.Is(err, xmlsec.ErrBadSignature), errors.Is(err, xmlenc.ErrDecrypt):
			// An attachment that fails its GCM tag was altered as surely
			// as one whose digest differs.
			c.Integrity = checkresult.Corrupted
		case errors.Is(err, xmlsec.ErrUntrustedKey), errors.Is(err, xmlsec.ErrWeakKey):
			c.Integrity, c.CertValidity = checkresult.Indeterminate, certValidity(err)
		default:
			c.Integrity = checkresult.Indeterminate
		}
		return []SignatureCheck{c}, []*x509.Certificate{sel.cert}, nil
	}
	var out []SignatureCheck
	var signers []*x509.Certificate
	refs := map[string][]string{}
	for _, v := range vs {
		c := SignatureCheck{Object: object, Kind: KindContent, Integrity: checkresult.OK}
		fromResult(&c, v.Certificate, v.Signer, now)
		out = append(out, c)
		signers = append(signers, v.Signer)
		for _, ref := range v.References {
			refs[ref.URI] = append(refs[ref.URI], certs.DN(v.Signer.Subject))
		}
	}
	return out, signers, refs
}

// covers says how ct is covered and by whom. With content signatures:
// the signers whose verified references cover its Id (which names the
// file) and, for an attachment, its octets; identifiers are unique in the
// decrypted container (xmlsec refuses a repeated one), so "#Id" names
// exactly the element whose data the reader takes, and a content without
// an Id is outside every reference. Without: the transport signature.
func (cov coverage) covers(ct osci.Content) (how string, by []string) {
	if !cov.signed {
		if cov.transport == "" {
			return "", nil
		}
		return CoverTransport, []string{cov.transport}
	}
	if ct.ID == "" {
		return "", nil
	}
	byID := cov.refs["#"+ct.ID]
	if ct.Href != "" {
		byOctets := map[string]bool{}
		for _, s := range cov.refs["cid:"+ct.Href] {
			byOctets[s] = true
		}
		var both []string
		for _, s := range byID {
			if byOctets[s] {
				both = append(both, s)
			}
		}
		byID = both
	}
	if len(byID) == 0 {
		return "", nil
	}
	return CoverContent, byID
}

// contentCheck records one Content of a container in the report; doc is
// the name a delivered document is handed on under.
func (r *Report) contentCheck(container string, ct osci.Content, kind string, delivered bool, cov coverage, doc string) ContentCheck {
	how, by := cov.covers(ct)
	c := ContentCheck{Container: container, Name: ct.ID, Document: doc, Kind: kind, Delivered: delivered,
		Signed: how != "", Coverage: how, SignedBy: by}
	r.Contents = append(r.Contents, c)
	return c
}

// certValidity is the certificate validity a failed validation gives: a
// certificate that merely does not chain to a configured CA (a court's
// self-signed EGVP certificate) or whose revocation status could not be
// had is indeterminate, the signer's identity unconfirmed; one that is
// expired, not yet valid, revoked, of the wrong key usage, weak or
// broken is invalid.
func certValidity(err error) string {
	switch {
	case err == nil:
		return checkresult.Valid
	case errors.Is(err, certs.ErrExpired), errors.Is(err, certs.ErrNotYetValid), errors.Is(err, certs.ErrRevoked),
		errors.Is(err, certs.ErrKeyUsage), errors.Is(err, certs.ErrWeakKey), errors.Is(err, certs.ErrWeakAlgorithm):
		return checkresult.Invalid
	case errors.Is(err, certs.ErrNotTrusted), errors.Is(err, certs.ErrRevocationUnavailable):
		return checkresult.Indeterminate
	}
	return checkresult.Invalid
}

package egvp

import (
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
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

// coverage is what the verified content signatures of one container
// cover: reference URIs ("#Id", "cid:Content-ID") with the subjects of the
// certificates that signed them. A container whose signatures did not all
// verify covers nothing.
type coverage map[string][]string

// containerChecks verifies the content signatures of one container with
// the content-signer validator and returns their checks, signers and what
// they cover.
func containerChecks(ctx context.Context, rc *osci.ReadContainer, val *certs.Validator, att xmlsec.AttachmentResolver, now time.Time) ([]SignatureCheck, []*x509.Certificate, coverage) {
	object := "Inhaltsdatencontainer " + rc.ID
	sel := &capture{v: val}
	vs, err := rc.VerifySignatures(ctx, sel, att)
	if err != nil {
		c := SignatureCheck{Object: object, Kind: KindContent, Detail: err.Error()}
		fromResult(&c, sel.res, sel.cert, now)
		switch {
		case errors.Is(err, xmlsec.ErrDigestMismatch), errors.Is(err, xmlsec.ErrBadSignature):
			c.Integrity = ResultCorrupted
		case errors.Is(err, xmlsec.ErrUntrustedKey), errors.Is(err, xmlsec.ErrWeakKey):
			c.Integrity, c.CertValidity = ResultIndeterminate, ResultInvalid
		default:
			c.Integrity = ResultIndeterminate
		}
		return []SignatureCheck{c}, []*x509.Certificate{sel.cert}, nil
	}
	var out []SignatureCheck
	var signers []*x509.Certificate
	cov := coverage{}
	for _, v := range vs {
		c := SignatureCheck{Object: object, Kind: KindContent, Integrity: ResultOK}
		fromResult(&c, v.Certificate, v.Signer, now)
		out = append(out, c)
		signers = append(signers, v.Signer)
		for _, ref := range v.References {
			cov[ref.URI] = append(cov[ref.URI], v.Signer.Subject.String())
		}
	}
	return out, signers, cov
}

// signedBy returns the signers that cover ct completely: its Id (which
// names the file) and, for an attachment, its octets. Identifiers are
// unique in the decrypted container (xmlsec refuses a repeated one), so
// "#Id" names exactly the element whose data the reader takes. A content
// without an Id is outside every reference.
func (cov coverage) signedBy(ct osci.Content) []string {
	if ct.ID == "" || cov == nil {
		return nil
	}
	byID := cov["#"+ct.ID]
	if ct.Href == "" {
		return byID
	}
	byOctets := map[string]bool{}
	for _, s := range cov["cid:"+ct.Href] {
		byOctets[s] = true
	}
	var out []string
	for _, s := range byID {
		if byOctets[s] {
			out = append(out, s)
		}
	}
	return out
}

// contentCheck records one Content of a container in the report.
func (r *Report) contentCheck(container string, ct osci.Content, kind string, delivered bool, cov coverage) ContentCheck {
	by := cov.signedBy(ct)
	c := ContentCheck{Container: container, Name: ct.ID, Kind: kind, Delivered: delivered, Signed: len(by) > 0, SignedBy: by}
	r.Contents = append(r.Contents, c)
	return c
}

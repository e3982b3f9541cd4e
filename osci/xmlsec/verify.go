package xmlsec

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
)

// AttachmentResolver opens the octets of a MIME part by its Content-ID (the
// part of a "cid:" URI after the colon). The reader is consumed as a stream.
type AttachmentResolver func(contentID string) (io.ReadCloser, error)

// VerifyPolicy says what Verify accepts. Keys is required.
type VerifyPolicy struct {
	SignatureMethods []string // nil: DefaultSignatureMethods
	DigestMethods    []string // nil: DefaultDigestMethods
	// Required lists Reference URIs ("#body", "cid:x") that must be signed.
	Required []string
	// Placement maps a same-document Reference URI to the path where the
	// signed element must sit ("/{ns}Envelope/{ns}Body", see
	// VerifiedReference.Path); a signed element found elsewhere, e.g.
	// moved under a wrapper, fails with ErrMisplaced.
	Placement map[string]string
	// Keys decides which certificates may sign (see ValidatorSelector).
	Keys KeySelector
	// Attachments resolves cid: references; nil fails them with ErrAttachment.
	Attachments AttachmentResolver
	// AllowWholeDocument admits URI="" (the whole document).
	AllowWholeDocument bool
	MinRSABits         int   // default 2048
	MaxReferences      int   // default 64
	MaxCanonicalBytes  int64 // canonical bytes over all references; default 64 MiB
}

func (p VerifyPolicy) withDefaults() VerifyPolicy {
	return limit.Fill(p, VerifyPolicy{MinRSABits: 2048, MaxReferences: 64, MaxCanonicalBytes: 64 << 20})
}

// ReferenceSpec is one Reference as read from the verified SignedInfo.
type ReferenceSpec struct {
	URI          string
	DigestMethod string
	DigestValue  []byte
	Enveloped    bool        // the enveloped-signature transform is present
	Base64       bool        // the base64 transform (sole transform) is present
	C14N         C14NOptions // for same-document references
}

// VerifiedReference is one reference whose digest matched.
type VerifiedReference struct {
	URI          string
	DigestMethod string
	Digest       []byte
	// For same-document references: the exact signed octets and where the
	// signed element sat in the input, as a path of {namespace}local names.
	// With the base64 transform Canonical holds the decoded octets.
	Canonical []byte
	Path      string
	xml       bool // Canonical is a canonical element (not cid:, not base64)
}

// Element parses the signed octets of a same-document reference again and
// returns the root of that fresh copy, detached from the input tree; each
// call returns a new copy. Attachment and base64 references have none.
func (r *VerifiedReference) Element() (*etree.Element, error) {
	if !r.xml {
		return nil, fmt.Errorf("xmlsec: %s signs octets, not an element", r.URI)
	}
	lim := DefaultLimits()
	lim.AllowProcInst = true
	lim.MaxBytes = int64(len(r.Canonical)) + 1
	doc, err := ParseBytes(r.Canonical, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: signed octets of %s do not re-parse: %w", ErrMalformedSignature, r.URI, err)
	}
	return doc.Root(), nil
}

// Verified holds only what a signature covered.
type Verified struct {
	Signer          *x509.Certificate
	Certificate     *certs.Result // the selector's verdict on Signer
	SignatureMethod string
	SignedInfo      []byte // canonical SignedInfo, as signed
	References      []VerifiedReference
}

// Reference returns the verified reference with this URI.
func (v *Verified) Reference(uri string) (*VerifiedReference, bool) {
	for i := range v.References {
		if v.References[i].URI == uri {
			return &v.References[i], true
		}
	}
	return nil, false
}

// SignedInfo is a signature whose SignedInfo verified; its references are
// not yet checked. Use Check or Verify to check them.
type SignedInfo struct {
	Signer          *x509.Certificate
	Certificate     *certs.Result
	SignatureMethod string
	Canonical       []byte
	References      []ReferenceSpec

	doc    *etree.Document
	sig    *etree.Element
	ids    map[string]*etree.Element
	policy VerifyPolicy
	spent  int64
}

// Verify checks sig (a ds:Signature inside doc) completely and returns
// what it covers. Order: Id index (duplicates rejected), shape and
// algorithms, SignedInfo signature with the selected key, then each
// Reference taken from the verified, re-parsed SignedInfo.
func Verify(ctx context.Context, doc *etree.Document, sig *etree.Element, p VerifyPolicy) (*Verified, error) {
	si, err := VerifySignedInfo(ctx, doc, sig, p)
	if err != nil {
		return nil, err
	}
	v := &Verified{Signer: si.Signer, Certificate: si.Certificate, SignatureMethod: si.SignatureMethod, SignedInfo: si.Canonical}
	for i := range si.References {
		r, err := si.Check(i)
		if err != nil {
			return nil, err
		}
		v.References = append(v.References, *r)
	}
	return v, nil
}

// VerifySignedInfo checks the signature over SignedInfo only. The stored
// EGVP messages need this: their intermediary signature is intact while
// parts it references were rewritten after signing.
func VerifySignedInfo(ctx context.Context, doc *etree.Document, sig *etree.Element, p VerifyPolicy) (*SignedInfo, error) {
	p = p.withDefaults()
	if p.Keys == nil {
		return nil, fmt.Errorf("%w: policy has no key selector", ErrUntrustedKey)
	}
	ids, err := buildIDIndex(doc)
	if err != nil {
		return nil, err
	}
	if !isDSig(sig, "Signature") || !isAncestorOrSelf(doc.Root(), sig) {
		return nil, fmt.Errorf("%w: not a ds:Signature of this document", ErrMalformedSignature)
	}
	parts, err := expectChildren(sig, "SignedInfo", "SignatureValue", "KeyInfo?")
	if err != nil {
		return nil, err
	}
	signedInfo := parts["SignedInfo"][0]
	siParts, err := expectChildren(signedInfo, "CanonicalizationMethod", "SignatureMethod", "Reference+")
	if err != nil {
		return nil, err
	}
	c14n, err := c14nMethod(siParts["CanonicalizationMethod"][0])
	if err != nil {
		return nil, err
	}
	sm := siParts["SignatureMethod"][0]
	method, err := algorithmOf(sm)
	if err != nil {
		return nil, err
	}
	alg, err := allowedSignature(method, p.SignatureMethods)
	if err != nil {
		return nil, err
	}
	if kids, _ := elementChildren(sm); len(kids) > 0 {
		return nil, fmt.Errorf("%w: SignatureMethod parameters", ErrAlgorithmNotAllowed)
	}
	if n := len(siParts["Reference"]); n > p.MaxReferences {
		return nil, fmt.Errorf("%w: %d references, limit %d", ErrMalformedSignature, n, p.MaxReferences)
	}
	c14n.MaxBytes = 1 << 20
	canonical, err := CanonicalizeWith(signedInfo, c14n)
	if err != nil {
		return nil, err
	}
	sigValue, err := decodeBase64(parts["SignatureValue"][0].Text())
	if err != nil || len(sigValue) == 0 || len(sigValue) > 2048 {
		return nil, fmt.Errorf("%w: SignatureValue is not base64 of a plausible size", ErrMalformedSignature)
	}
	var keyInfo *etree.Element
	if ki := parts["KeyInfo"]; len(ki) == 1 {
		keyInfo = ki[0]
	}
	offered, err := offeredCertificates(keyInfo, ids)
	if err != nil {
		return nil, err
	}
	signer, result, err := p.Keys.SelectSigner(ctx, offered)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUntrustedKey, err)
	}
	if signer == nil {
		return nil, fmt.Errorf("%w: selector returned no certificate", ErrUntrustedKey)
	}
	if err := checkSignature(signer, alg, canonical, sigValue, p.MinRSABits); err != nil {
		return nil, err
	}
	refs, err := referencesFromVerified(canonical, p)
	if err != nil {
		return nil, err
	}
	return &SignedInfo{
		Signer: signer, Certificate: result, SignatureMethod: method, Canonical: canonical, References: refs,
		doc: doc, sig: sig, ids: ids, policy: p,
	}, nil
}

func checkSignature(cert *x509.Certificate, alg SignatureAlgorithm, signed, sigValue []byte, minBits int) error {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: signer key is %T, want RSA", ErrAlgorithmNotAllowed, cert.PublicKey)
	}
	if pub.N.BitLen() < minBits {
		return fmt.Errorf("%w: RSA %d bits, minimum %d", ErrWeakKey, pub.N.BitLen(), minBits)
	}
	if err := alg.verify(pub, signed, sigValue); err != nil {
		return fmt.Errorf("%w: SignedInfo", ErrBadSignature)
	}
	return nil
}

// Check verifies reference i of a verified SignedInfo.
func (s *SignedInfo) Check(i int) (*VerifiedReference, error) {
	spec := s.References[i]
	hash := digestAlgorithms[spec.DigestMethod]
	out := &VerifiedReference{URI: spec.URI, DigestMethod: spec.DigestMethod}
	var digest []byte
	if strings.HasPrefix(spec.URI, "cid:") {
		d, err := digestAttachment(s.policy.Attachments, strings.TrimPrefix(spec.URI, "cid:"), hash)
		if err != nil {
			return nil, err
		}
		digest = d
	} else {
		h := hash.New()
		canonical, path, err := s.canonicalTarget(spec, h)
		if err != nil {
			return nil, err
		}
		digest = h.Sum(nil)
		out.Canonical, out.Path = canonical, path
		if want, ok := s.policy.Placement[spec.URI]; ok && want != path {
			return nil, fmt.Errorf("%w: %s is at %s", ErrMisplaced, spec.URI, path)
		}
	}
	if subtle.ConstantTimeCompare(digest, spec.DigestValue) != 1 {
		return nil, fmt.Errorf("%w: %s", ErrDigestMismatch, spec.URI)
	}
	out.Digest = digest
	out.xml = out.Canonical != nil && !spec.Base64
	return out, nil
}

// canonicalTarget returns the octets reference spec signs, written into h
// as well.
func (s *SignedInfo) canonicalTarget(spec ReferenceSpec, h hash.Hash) ([]byte, string, error) {
	var target *etree.Element
	if spec.URI == "" {
		target = s.doc.Root()
	} else if target = s.ids[spec.URI[1:]]; target == nil {
		return nil, "", fmt.Errorf("%w: %s", ErrUnresolvedReference, spec.URI)
	}
	if isAncestorOrSelf(s.sig, target) {
		return nil, "", fmt.Errorf("%w: %s points into the signature", ErrMalformedSignature, spec.URI)
	}
	contains := isAncestorOrSelf(target, s.sig)
	if contains && !spec.Enveloped {
		return nil, "", fmt.Errorf("%w: %s contains the signature but has no enveloped-signature transform", ErrMalformedSignature, spec.URI)
	}
	if spec.Base64 {
		octets, err := decodeBase64(textContent(target))
		if err != nil {
			return nil, "", fmt.Errorf("%w: base64 transform on %s: %v", ErrMalformedSignature, spec.URI, err)
		}
		h.Write(octets)
		return octets, elementPath(target), nil
	}
	o := spec.C14N
	if contains {
		o.Exclude = s.sig
	}
	remaining := s.policy.MaxCanonicalBytes - s.spent
	if remaining <= 0 {
		return nil, "", fmt.Errorf("%w: %d canonical bytes spent", ErrCanonicalizationLimit, s.spent)
	}
	o.MaxBytes = remaining
	var canonical []byte
	var err error
	if spec.URI == "" {
		canonical, err = canonicalizeDocument(s.doc, o, h, true)
	} else {
		canonical, err = canonicalizeElement(target, o, h, true)
	}
	if err != nil {
		return nil, "", err
	}
	s.spent += int64(len(canonical))
	return canonical, elementPath(target), nil
}

func digestAttachment(resolve AttachmentResolver, cid string, hash crypto.Hash) ([]byte, error) {
	if resolve == nil {
		return nil, fmt.Errorf("%w: no resolver for cid:%s", ErrAttachment, cid)
	}
	r, err := resolve(cid)
	if err != nil {
		return nil, fmt.Errorf("%w: cid:%s: %w", ErrAttachment, cid, err)
	}
	defer r.Close()
	if kd, ok := r.(knownDigest); ok && kd.hash == hash {
		return append([]byte(nil), kd.sum...), nil
	}
	h := hash.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("%w: cid:%s: %w", ErrAttachment, cid, err)
	}
	return h.Sum(nil), nil
}

// WithKnownDigest lets an AttachmentResolver hand over octets whose digest
// under hash is known already, so that signing and verifying take sum
// instead of reading all of r again (for another hash they read r). sum
// must come from this process: computed while it wrote or accepted the
// octets r returns (a spool it filled, a content-addressed blob), never
// from the message being verified.
func WithKnownDigest(r io.ReadCloser, hash crypto.Hash, sum []byte) io.ReadCloser {
	return knownDigest{r, hash, sum}
}

type knownDigest struct {
	io.ReadCloser
	hash crypto.Hash
	sum  []byte
}

// textContent concatenates the text of el and its descendants (the string
// value the base64 transform decodes).
func textContent(el *etree.Element) string {
	var b strings.Builder
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		for _, t := range e.Child {
			switch t := t.(type) {
			case *etree.CharData:
				b.WriteString(t.Data)
			case *etree.Element:
				walk(t)
			}
		}
	}
	walk(el)
	return b.String()
}

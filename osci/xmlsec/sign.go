package xmlsec

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
)

// SignOptions configure Sign.
type SignOptions struct {
	Key         crypto.Signer     // an RSA key (*rsa.PrivateKey, or a token's crypto.Signer)
	Certificate *x509.Certificate // the key's certificate; written as X509Data unless RetrievalURI is set
	Chain       []*x509.Certificate
	// Algorithm is the signature method; the zero value is rsa-sha256.
	Algorithm SignatureAlgorithm
	// DigestMethod is SHA256 (default) or SHA512, used for every reference.
	DigestMethod string
	// Canonicalization is C14N10 (default, what OSCI uses) or ExcC14N10; it
	// is both the CanonicalizationMethod and the transform of #Id references.
	Canonicalization string
	// RetrievalURI ("#Id" of an element holding ds:X509Data elsewhere in
	// the message) makes KeyInfo a RetrievalMethod instead of X509Data.
	RetrievalURI string
	// Attachments provides the octets of cid: references.
	Attachments AttachmentResolver
	// Rand feeds RSA-PSS salts; nil means crypto/rand.
	Rand io.Reader
	// MinRSABits refuses smaller keys; default 3072 (BSI TR-02102-1).
	MinRSABits int
	// Base64IDs are the Ids whose #Id reference takes the base64 transform
	// instead of canonicalization: the digest covers the decoded text of the
	// element, as OSCI content signatures reference inline Content (the
	// reference library digests inline data that way, whatever a reference
	// declares, so a canonicalizing reference fails there).
	Base64IDs map[string]bool
}

// Sign adds one ds:Signature as the last child of into (the root when into
// is nil) with a Reference per URI in refs: "#Id" (canonicalized element,
// with the enveloped-signature transform when it contains the signature) or
// "cid:Content-ID" (attachment octets, streamed). The signature is placed
// before digesting so that SignedInfo is canonicalized in its final
// namespace context. On error doc is left unchanged.
func Sign(doc *etree.Document, into *etree.Element, refs []string, o SignOptions) (*etree.Element, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("%w: nothing to sign", ErrMissingReference)
	}
	ids, err := buildIDIndex(doc)
	if err != nil {
		return nil, err
	}
	if into == nil {
		into = doc.Root()
	}
	if into == nil || !isAncestorOrSelf(doc.Root(), into) {
		return nil, fmt.Errorf("%w: signature parent is not in the document", ErrMalformedSignature)
	}
	sig := into.CreateElement("ds:Signature")
	if uri, ok := lookup(ancestorScope(into), "ds"); !ok || uri != NamespaceDSig {
		sig.CreateAttr("xmlns:ds", NamespaceDSig)
	}
	signed := false
	defer func() {
		if !signed {
			into.RemoveChild(sig)
		}
	}()
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", o.Canonicalization)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", o.Algorithm.URI())
	seen := map[string]bool{}
	for _, uri := range refs {
		if seen[uri] {
			return nil, fmt.Errorf("%w: %q", ErrDuplicateReference, uri)
		}
		seen[uri] = true
		if err := addReference(si, sig, ids, uri, o); err != nil {
			return nil, err
		}
	}
	canonical, err := CanonicalizeWith(si, C14NOptions{Method: o.Canonicalization})
	if err != nil {
		return nil, err
	}
	value, err := o.Algorithm.sign(o.Key, o.Rand, canonical)
	if err != nil {
		return nil, fmt.Errorf("xmlsec: sign: %w", err)
	}
	sig.CreateElement("ds:SignatureValue").SetText(EncodeBase64(value))
	if o.RetrievalURI != "" || o.Certificate != nil {
		writeKeyInfo(sig.CreateElement("ds:KeyInfo"), o)
	}
	signed = true
	return sig, nil
}

func (o SignOptions) check() (SignOptions, error) {
	if o.DigestMethod == "" {
		o.DigestMethod = SHA256
	}
	if o.Canonicalization == "" {
		o.Canonicalization = C14N10
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.MinRSABits <= 0 {
		o.MinRSABits = 3072
	}
	if !o.Algorithm.valid() {
		return o, fmt.Errorf("%w: %s", ErrAlgorithmNotAllowed, o.Algorithm)
	}
	if _, err := allowedDigest(o.DigestMethod, nil); err != nil {
		return o, err
	}
	if o.Canonicalization != C14N10 && o.Canonicalization != ExcC14N10 {
		return o, fmt.Errorf("%w: canonicalization %q", ErrAlgorithmNotAllowed, o.Canonicalization)
	}
	if o.Key == nil {
		return o, fmt.Errorf("%w: no signing key", ErrMalformedSignature)
	}
	pub, ok := o.Key.Public().(*rsa.PublicKey)
	if !ok {
		return o, fmt.Errorf("%w: key is %T, want RSA", ErrAlgorithmNotAllowed, o.Key.Public())
	}
	if pub.N.BitLen() < o.MinRSABits {
		return o, fmt.Errorf("%w: RSA %d bits, minimum %d", ErrWeakKey, pub.N.BitLen(), o.MinRSABits)
	}
	if o.Certificate != nil && !pub.Equal(o.Certificate.PublicKey) {
		return o, fmt.Errorf("%w: certificate does not match the key", ErrMalformedSignature)
	}
	if o.RetrievalURI != "" && !idURI.MatchString(o.RetrievalURI) {
		return o, fmt.Errorf("%w: RetrievalMethod URI %q", ErrURINotAllowed, o.RetrievalURI)
	}
	return o, nil
}

func addReference(si, sig *etree.Element, ids map[string]*etree.Element, uri string, o SignOptions) error {
	hash := digestAlgorithms[o.DigestMethod]
	ref := etree.NewElement("ds:Reference")
	ref.CreateAttr("URI", uri)
	var digest []byte
	switch {
	case idURI.MatchString(uri):
		target := ids[uri[1:]]
		if target == nil {
			return fmt.Errorf("%w: %s", ErrUnresolvedReference, uri)
		}
		if o.Base64IDs[uri[1:]] {
			octets, err := decodeBase64(textContent(target))
			if err != nil {
				return fmt.Errorf("%w: base64 transform on %s: %v", ErrMalformedSignature, uri, err)
			}
			ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", Base64Transform)
			h := hash.New()
			h.Write(octets)
			digest = h.Sum(nil)
			break
		}
		c := C14NOptions{Method: o.Canonicalization}
		tr := ref.CreateElement("ds:Transforms")
		if isAncestorOrSelf(target, sig) {
			tr.CreateElement("ds:Transform").CreateAttr("Algorithm", EnvelopedSignature)
			c.Exclude = sig
		}
		tr.CreateElement("ds:Transform").CreateAttr("Algorithm", o.Canonicalization)
		h := hash.New()
		if _, err := canonicalizeElement(target, c, h, false); err != nil {
			return err
		}
		digest = h.Sum(nil)
	case strings.HasPrefix(uri, "cid:") && len(uri) > 4:
		d, err := digestAttachment(o.Attachments, uri[4:], hash)
		if err != nil {
			return err
		}
		digest = d
	default:
		return fmt.Errorf("%w: %q", ErrURINotAllowed, uri)
	}
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", o.DigestMethod)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))
	si.AddChild(ref)
	return nil
}

func writeKeyInfo(ki *etree.Element, o SignOptions) {
	if o.RetrievalURI != "" {
		rm := ki.CreateElement("ds:RetrievalMethod")
		rm.CreateAttr("Type", X509DataType)
		rm.CreateAttr("URI", o.RetrievalURI)
		return
	}
	data := ki.CreateElement("ds:X509Data")
	for _, c := range append([]*x509.Certificate{o.Certificate}, o.Chain...) {
		data.CreateElement("ds:X509Certificate").SetText(EncodeBase64(c.Raw))
	}
}

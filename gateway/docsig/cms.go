package docsig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidMD5    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA1     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidRSAPSS      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidRSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSASHA384   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidRSASHA512   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidMGF1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// Signature is a parsed CMS SignedData (PKCS#7) structure: nothing in it
// is verified yet.
type Signature struct {
	Certificates []*x509.Certificate
	Signers      []Signer
	// Detached is true when the signature carries no content of its own
	// (the document is beside it, or around it in a PDF).
	Detached bool
}

// Signer is one SignerInfo.
type Signer struct {
	info        signerInfo
	hash        crypto.Hash
	hashErr     error
	signedAttrs []attribute
}

// Parse reads a DER-encoded CMS ContentInfo holding SignedData, as a
// detached .p7s or a PDF signature's /Contents holds it; trailing zero
// bytes (the padding of /Contents) are allowed. Errors match ErrMalformed
// or ErrUnsupported.
func Parse(der []byte) (*Signature, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(bytes.Trim(rest, "\x00")) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the signature", ErrMalformed, len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not signedData", ErrMalformed, ci.ContentType)
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: signedData: %v", ErrMalformed, err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidData) {
		return nil, fmt.Errorf("%w: encapsulated content type %v", ErrUnsupported, sd.EncapContentInfo.EContentType)
	}
	s := &Signature{Detached: len(sd.EncapContentInfo.EContent.Bytes) == 0}
	if !s.Detached {
		return nil, fmt.Errorf("%w: the signature encloses its content (not detached)", ErrUnsupported)
	}
	if len(sd.Certificates.Bytes) > 0 {
		if s.Certificates, err = x509.ParseCertificates(sd.Certificates.Bytes); err != nil {
			return nil, fmt.Errorf("%w: certificates: %v", ErrMalformed, err)
		}
	}
	if len(sd.SignerInfos) == 0 {
		return nil, fmt.Errorf("%w: no signer", ErrMalformed)
	}
	for _, si := range sd.SignerInfos {
		sg := Signer{info: si}
		sg.hash, sg.hashErr = digestHash(si.DigestAlgorithm.Algorithm)
		if len(si.SignedAttrs.FullBytes) > 0 {
			rest := si.SignedAttrs.Bytes
			for len(rest) > 0 {
				var a attribute
				if rest, err = asn1.Unmarshal(rest, &a); err != nil {
					return nil, fmt.Errorf("%w: signed attributes: %v", ErrMalformed, err)
				}
				sg.signedAttrs = append(sg.signedAttrs, a)
			}
		}
		s.Signers = append(s.Signers, sg)
	}
	return s, nil
}

func digestHash(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	case oid.Equal(oidSHA1), oid.Equal(oidMD5):
		return 0, fmt.Errorf("%w: digest %v", ErrWeakAlgorithm, oid)
	}
	return 0, fmt.Errorf("%w: digest %v", ErrUnsupported, oid)
}

// attr returns the single value of a signed attribute.
func (s *Signer) attr(oid asn1.ObjectIdentifier) (asn1.RawValue, bool, error) {
	var found []asn1.RawValue
	for _, a := range s.signedAttrs {
		if a.Type.Equal(oid) {
			var v asn1.RawValue
			rest, err := asn1.Unmarshal(a.Values.Bytes, &v)
			if err != nil || len(rest) != 0 {
				return v, false, fmt.Errorf("%w: attribute %v must have exactly one value", ErrMalformed, oid)
			}
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return asn1.RawValue{}, false, nil
	case 1:
		return found[0], true, nil
	}
	return asn1.RawValue{}, false, fmt.Errorf("%w: attribute %v appears %d times", ErrMalformed, oid, len(found))
}

// findCert returns the certificate the signer identifier names.
func (s *Signer) findCert(certs []*x509.Certificate) (*x509.Certificate, error) {
	sid := s.info.SID
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil {
			return nil, fmt.Errorf("%w: signer identifier: %v", ErrMalformed, err)
		}
		for _, c := range certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
				return c, nil
			}
		}
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c, nil
			}
		}
	default:
		return nil, fmt.Errorf("%w: signer identifier", ErrMalformed)
	}
	return nil, ErrNoSigner
}

// signingTime reads the signingTime attribute (zero without one).
func (s *Signer) signingTime() (time.Time, error) {
	v, ok, err := s.attr(oidSigningTime)
	if err != nil || !ok {
		return time.Time{}, err
	}
	var t time.Time
	if _, err := asn1.Unmarshal(v.FullBytes, &t); err != nil {
		return time.Time{}, fmt.Errorf("%w: signingTime: %v", ErrMalformed, err)
	}
	return t, nil
}

// verify checks the signer's signature with cert's key and the content
// digest: over the signed attributes (whose messageDigest must equal
// digest and whose contentType must be id-data), or without signed
// attributes over digest itself.
func (s *Signer) verify(cert *x509.Certificate, digest []byte) error {
	signed := digest
	if len(s.info.SignedAttrs.FullBytes) > 0 {
		ct, ok, err := s.attr(oidContentType)
		if err != nil {
			return err
		}
		var oid asn1.ObjectIdentifier
		if !ok {
			return fmt.Errorf("%w: no contentType attribute", ErrMalformed)
		}
		if _, err := asn1.Unmarshal(ct.FullBytes, &oid); err != nil || !oid.Equal(oidData) {
			return fmt.Errorf("%w: contentType attribute is not id-data", ErrMalformed)
		}
		md, ok, err := s.attr(oidMessageDigest)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: no messageDigest attribute", ErrMalformed)
		}
		var want []byte
		if _, err := asn1.Unmarshal(md.FullBytes, &want); err != nil {
			return fmt.Errorf("%w: messageDigest: %v", ErrMalformed, err)
		}
		// The signature is over the DER of the attributes as a SET, not
		// under their [0] IMPLICIT tag.
		attrs := append([]byte(nil), s.info.SignedAttrs.FullBytes...)
		attrs[0] = 0x31
		h := s.hash.New()
		h.Write(attrs)
		if err := checkSignature(cert, s.info.SignatureAlgorithm, s.hash, h.Sum(nil), s.info.Signature); err != nil {
			return err
		}
		if !bytes.Equal(want, digest) {
			return ErrDigestMismatch
		}
		return nil
	}
	if err := checkSignature(cert, s.info.SignatureAlgorithm, s.hash, signed, s.info.Signature); err != nil {
		// Without signed attributes the signature is the only binding to
		// the content: a mismatch means altered content or a wrong key,
		// indistinguishably.
		return fmt.Errorf("%w (%w)", ErrDigestMismatch, err)
	}
	return nil
}

type pssParams struct {
	Hash       pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
	MGF        pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
	SaltLength int                      `asn1:"optional,explicit,tag:2,default:20"`
	Trailer    int                      `asn1:"optional,explicit,tag:3,default:1"`
}

// checkSignature verifies sig over the digest h with cert's public key.
// The algorithm must fit the key and name the signer's digest.
func checkSignature(cert *x509.Certificate, alg pkix.AlgorithmIdentifier, hash crypto.Hash, digest, sig []byte) error {
	a := alg.Algorithm
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		switch {
		case a.Equal(oidRSASHA1):
			return fmt.Errorf("%w: sha1WithRSAEncryption", ErrWeakAlgorithm)
		case a.Equal(oidRSA), a.Equal(oidRSASHA256) && hash == crypto.SHA256,
			a.Equal(oidRSASHA384) && hash == crypto.SHA384, a.Equal(oidRSASHA512) && hash == crypto.SHA512:
			if err := rsa.VerifyPKCS1v15(pub, hash, digest, sig); err != nil {
				return ErrSignatureInvalid
			}
			return nil
		case a.Equal(oidRSAPSS):
			var p pssParams
			if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil {
				return fmt.Errorf("%w: RSASSA-PSS parameters: %v", ErrMalformed, err)
			}
			ph, err := digestHash(p.Hash.Algorithm)
			if len(p.Hash.Algorithm) == 0 {
				return fmt.Errorf("%w: RSASSA-PSS with SHA-1", ErrWeakAlgorithm)
			}
			if err != nil {
				return err
			}
			if ph != hash || !p.MGF.Algorithm.Equal(oidMGF1) || p.Trailer != 1 {
				return fmt.Errorf("%w: RSASSA-PSS parameters do not match the digest", ErrUnsupported)
			}
			if err := rsa.VerifyPSS(pub, hash, digest, sig, &rsa.PSSOptions{SaltLength: p.SaltLength, Hash: hash}); err != nil {
				return ErrSignatureInvalid
			}
			return nil
		}
	case *ecdsa.PublicKey:
		switch {
		case a.Equal(oidECPublicKey), a.Equal(oidECDSASHA256) && hash == crypto.SHA256,
			a.Equal(oidECDSASHA384) && hash == crypto.SHA384, a.Equal(oidECDSASHA512) && hash == crypto.SHA512:
			if !ecdsa.VerifyASN1(pub, digest, sig) {
				return ErrSignatureInvalid
			}
			return nil
		}
	default:
		return fmt.Errorf("%w: key type %T", ErrUnsupported, cert.PublicKey)
	}
	return fmt.Errorf("%w: signature algorithm %v with this key and digest", ErrUnsupported, a)
}

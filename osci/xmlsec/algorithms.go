package xmlsec

import (
	"crypto"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-512 for crypto.Hash
	"fmt"
	"slices"

	dsig "github.com/russellhaering/goxmldsig"
)

// Algorithm identifiers (XML-DSig, RFC 6931). Only these are implemented.
const (
	NamespaceDSig = dsig.Namespace

	RSASHA256    = dsig.RSASHA256SignatureMethod
	RSASHA512    = dsig.RSASHA512SignatureMethod
	RSAPSSSHA256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
	RSAPSSSHA512 = "http://www.w3.org/2007/05/xmldsig-more#sha512-rsa-MGF1"

	SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

	EnvelopedSignature = string(dsig.EnvelopedSignatureAltorithmId)
	// Base64Transform decodes the text of the referenced element (OSCI
	// content signatures over osci:Base64Content use it).
	Base64Transform = "http://www.w3.org/2000/09/xmldsig#base64"

	// X509DataType is the RetrievalMethod Type for a certificate element.
	X509DataType = "http://www.w3.org/2000/09/xmldsig#X509Data"
)

type signatureAlgorithm struct {
	hash crypto.Hash
	pss  bool // RSASSA-PSS, MGF1 with the same hash, salt length = hash length
}

var signatureAlgorithms = map[string]signatureAlgorithm{
	RSASHA256:    {crypto.SHA256, false},
	RSASHA512:    {crypto.SHA512, false},
	RSAPSSSHA256: {crypto.SHA256, true},
	RSAPSSSHA512: {crypto.SHA512, true},
}

var digestAlgorithms = map[string]crypto.Hash{
	SHA256: crypto.SHA256,
	SHA512: crypto.SHA512,
}

// DefaultSignatureMethods and DefaultDigestMethods are what a zero policy
// allows: RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/512, SHA-256/512 digests.
var (
	DefaultSignatureMethods = []string{RSASHA256, RSASHA512, RSAPSSSHA256, RSAPSSSHA512}
	DefaultDigestMethods    = []string{SHA256, SHA512}
)

func allowedSignature(uri string, allow []string) (signatureAlgorithm, error) {
	if allow == nil {
		allow = DefaultSignatureMethods
	}
	a, known := signatureAlgorithms[uri]
	if !known || !slices.Contains(allow, uri) {
		return a, fmt.Errorf("%w: signature method %q", ErrAlgorithmNotAllowed, uri)
	}
	return a, nil
}

func allowedDigest(uri string, allow []string) (crypto.Hash, error) {
	if allow == nil {
		allow = DefaultDigestMethods
	}
	h, known := digestAlgorithms[uri]
	if !known || !slices.Contains(allow, uri) {
		return 0, fmt.Errorf("%w: digest method %q", ErrAlgorithmNotAllowed, uri)
	}
	return h, nil
}

package xmlsec

import (
	"crypto"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-512 for crypto.Hash
	"fmt"
	"io"
	"slices"
	"strings"

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

// SignatureAlgorithm is a signature method, named in configuration by its
// short name (String, ParseSignatureAlgorithm). It is the one place where
// signing and verifying choose padding and hash: Sign signs with it, and
// Verify maps a SignatureMethod URI to it. The zero value is
// SignatureRSASHA256, what the OSCI reference library and the current EGVP
// clients send.
type SignatureAlgorithm uint8

// The signature algorithms. RSA-PSS uses MGF1 with the same hash and a salt
// as long as the hash (RFC 6931 §2.3.10, as the OSCI library writes it).
const (
	SignatureRSASHA256    SignatureAlgorithm = iota // "rsa-sha256": RSASSA-PKCS1-v1_5, SHA-256
	SignatureRSAPSSSHA256                           // "rsa-pss-sha256": RSASSA-PSS, SHA-256
	SignatureRSASHA512                              // "rsa-sha512": RSASSA-PKCS1-v1_5, SHA-512
	SignatureRSAPSSSHA512                           // "rsa-pss-sha512": RSASSA-PSS, SHA-512
	signatureAlgorithmEnd
)

var signatureAlgorithms = [signatureAlgorithmEnd]struct {
	name, uri string
	hash      crypto.Hash
	pss       bool
}{
	SignatureRSASHA256:    {"rsa-sha256", RSASHA256, crypto.SHA256, false},
	SignatureRSAPSSSHA256: {"rsa-pss-sha256", RSAPSSSHA256, crypto.SHA256, true},
	SignatureRSASHA512:    {"rsa-sha512", RSASHA512, crypto.SHA512, false},
	SignatureRSAPSSSHA512: {"rsa-pss-sha512", RSAPSSSHA512, crypto.SHA512, true},
}

// ParseSignatureAlgorithm reads a configuration name: "rsa-sha256",
// "rsa-pss-sha256", "rsa-sha512" or "rsa-pss-sha512". Anything else is
// ErrAlgorithmNotAllowed.
func ParseSignatureAlgorithm(name string) (SignatureAlgorithm, error) {
	var names []string
	for i, a := range signatureAlgorithms {
		if a.name == name {
			return SignatureAlgorithm(i), nil
		}
		names = append(names, a.name)
	}
	return 0, fmt.Errorf("%w: signature algorithm %q (want one of %s)", ErrAlgorithmNotAllowed, name, strings.Join(names, ", "))
}

func (a SignatureAlgorithm) valid() bool { return a < signatureAlgorithmEnd }

// String returns the configuration name.
func (a SignatureAlgorithm) String() string {
	if !a.valid() {
		return fmt.Sprintf("SignatureAlgorithm(%d)", uint8(a))
	}
	return signatureAlgorithms[a].name
}

// URI returns the XML-DSig SignatureMethod identifier.
func (a SignatureAlgorithm) URI() string {
	if !a.valid() {
		return ""
	}
	return signatureAlgorithms[a].uri
}

// MarshalText writes the configuration name.
func (a SignatureAlgorithm) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("%w: %s", ErrAlgorithmNotAllowed, a)
	}
	return []byte(a.String()), nil
}

// UnmarshalText reads a configuration name (ParseSignatureAlgorithm).
func (a *SignatureAlgorithm) UnmarshalText(b []byte) error {
	v, err := ParseSignatureAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// hashOf digests signed with the algorithm's hash.
func (a SignatureAlgorithm) hashOf(signed []byte) []byte {
	h := signatureAlgorithms[a].hash.New()
	h.Write(signed)
	return h.Sum(nil)
}

func (a SignatureAlgorithm) opts() crypto.SignerOpts {
	s := signatureAlgorithms[a]
	if s.pss {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: s.hash}
	}
	return s.hash
}

// sign signs the canonical octets signed with key; rand feeds PSS salts.
func (a SignatureAlgorithm) sign(key crypto.Signer, rand io.Reader, signed []byte) ([]byte, error) {
	return key.Sign(rand, a.hashOf(signed), a.opts())
}

// verify checks value over the canonical octets signed.
func (a SignatureAlgorithm) verify(pub *rsa.PublicKey, signed, value []byte) error {
	s := signatureAlgorithms[a]
	if s.pss {
		return rsa.VerifyPSS(pub, s.hash, a.hashOf(signed), value, a.opts().(*rsa.PSSOptions))
	}
	return rsa.VerifyPKCS1v15(pub, s.hash, a.hashOf(signed), value)
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

// allowedSignature maps a SignatureMethod URI the policy allows to its algorithm.
func allowedSignature(uri string, allow []string) (SignatureAlgorithm, error) {
	if allow == nil {
		allow = DefaultSignatureMethods
	}
	if slices.Contains(allow, uri) {
		for i, a := range signatureAlgorithms {
			if a.uri == uri {
				return SignatureAlgorithm(i), nil
			}
		}
	}
	return 0, fmt.Errorf("%w: signature method %q", ErrAlgorithmNotAllowed, uri)
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

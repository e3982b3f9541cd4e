package xmlenc

import "errors"

// Namespaces and algorithm identifiers (XML Encryption 1.0/1.1, XML-DSig,
// OSCI-Transport 1.2 extension osci128).
const (
	NSXenc    = "http://www.w3.org/2001/04/xmlenc#"
	NSXenc11  = "http://www.w3.org/2009/xmlenc11#"
	NSDsig    = "http://www.w3.org/2000/09/xmldsig#"
	NSOSCI128 = "http://xoev.de/transport/osci12/8"

	AlgAES128GCM  = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AlgAES192GCM  = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	AlgAES256GCM  = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	AlgRSAOAEP    = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	AlgMGF1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
	AlgMGF1SHA512 = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
	AlgSHA256     = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgSHA512     = "http://www.w3.org/2001/04/xmlenc#sha512"
	// AlgBase64 is the transform OSCI names on a CipherReference to a cid:
	// part; the part's octets are the ciphertext once MIME transfer encoding
	// is undone.
	AlgBase64 = "http://www.w3.org/2000/09/xmldsig#base64"
	// Refused algorithms, named so tests and error messages can say which.
	AlgAES128CBC    = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AlgAES192CBC    = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	AlgAES256CBC    = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	AlgTripleDESCBC = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
	AlgRSA15        = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	AlgRSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	AlgKWAES256     = "http://www.w3.org/2001/04/xmlenc#kw-aes256"

	// TypeElement and TypeContent are the EncryptedData Type values.
	TypeElement = "http://www.w3.org/2001/04/xmlenc#Element"
	TypeContent = "http://www.w3.org/2001/04/xmlenc#Content"
)

var (
	// ErrDecrypt is the one error for every failure to decrypt: no
	// EncryptedKey for our certificate, a key that does not unwrap, a
	// malformed CipherValue, a wrong tag, a plaintext that is not the
	// announced XML. It never carries detail, so it cannot act as an oracle.
	ErrDecrypt = errors.New("xmlenc: decryption failed")
	// ErrAlgorithmNotAllowed is returned before any decryption for every
	// algorithm outside the allow-list (CBC, 3DES, rsa-1_5, OAEP with SHA-1,
	// key wrap, a block cipher named as key transport, unknown URIs).
	ErrAlgorithmNotAllowed = errors.New("xmlenc: algorithm not allowed")
	// ErrKeyNotAllowed is returned when a raw key in ds:MgmtData appears
	// where the caller did not allow it.
	ErrKeyNotAllowed = errors.New("xmlenc: key in MgmtData not allowed here")
	// ErrMalformed is returned for a structure that is not an EncryptedData
	// this package handles (missing or duplicate elements, bad attributes).
	ErrMalformed = errors.New("xmlenc: malformed encrypted data")
	// ErrLimit is returned when a CipherValue, a referenced part or the
	// number of EncryptedKeys exceeds Limits.
	ErrLimit = errors.New("xmlenc: limit exceeded")
	// ErrPart is returned when a cid: part cannot be opened or written.
	ErrPart = errors.New("xmlenc: referenced part unavailable")
	// ErrRecipient is returned by encryption for an unusable recipient
	// certificate (not RSA, or a key shorter than MinRSABits).
	ErrRecipient = errors.New("xmlenc: unusable recipient certificate")
)

// refused lists algorithms that are known and deliberately refused; any
// other unknown URI is refused as well, these only make messages clearer.
var refused = map[string]string{
	AlgAES128CBC:    "CBC mode",
	AlgAES192CBC:    "CBC mode",
	AlgAES256CBC:    "CBC mode",
	AlgTripleDESCBC: "triple DES CBC",
	AlgRSA15:        "RSA PKCS#1 v1.5 key transport",
	AlgRSAOAEPMGF1P: "RSA-OAEP with MGF1-SHA1",
	AlgKWAES256:     "AES key wrap",
}

package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// MaxKeystoreBytes bounds every key, keystore and certificate file this
// package reads. Real keystores are a few kilobytes.
const MaxKeystoreBytes = 1 << 20

// KeyPair is one private key with its certificate and the CA certificates
// that came with it (leaf excluded).
type KeyPair struct {
	Key   crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
	Cert  *x509.Certificate
	Chain []*x509.Certificate
}

// LoadPKCS12 reads a PKCS#12 keystore (PBES2/AES as written by OpenSSL 3,
// or legacy RC2/3DES) after checking that only its owner can read it.
func LoadPKCS12(path, password string) (*KeyPair, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	kp, err := LoadPKCS12Data(data, password)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return kp, nil
}

// LoadPKCS12Data decodes a PKCS#12 keystore from memory. It does not check
// file permissions; use it for test vectors and for keystores that came
// from a secret store.
func LoadPKCS12Data(data []byte, password string) (*KeyPair, error) {
	key, cert, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, fmt.Errorf("%w: %v", ErrBadPassword, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadKeystore, err)
	}
	signer, err := asSigner(key)
	if err != nil {
		return nil, err
	}
	kp := &KeyPair{Key: signer, Cert: cert, Chain: cas}
	if err := kp.checkMatch(); err != nil {
		return nil, err
	}
	return kp, nil
}

// LoadPEM reads a PEM private key (PKCS#8, PKCS#1 or SEC 1; not
// encrypted) and a PEM certificate file whose first certificate matching
// the key is the leaf and whose others form the chain. The key file must
// be readable by its owner only.
func LoadPEM(keyPath, certPath string) (*KeyPair, error) {
	keyPEM, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	certPEM, err := ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	kp, err := LoadPEMData(keyPEM, certPEM)
	if err != nil {
		return nil, fmt.Errorf("%w (%s, %s)", err, keyPath, certPath)
	}
	return kp, nil
}

// LoadPEMData is LoadPEM from memory, without the permission check.
func LoadPEMData(keyPEM, certPEM []byte) (*KeyPair, error) {
	key, err := ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	certsIn, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	kp := &KeyPair{Key: key}
	for _, c := range certsIn {
		if kp.Cert == nil && samePublicKey(key.Public(), c.PublicKey) {
			kp.Cert = c
			continue
		}
		kp.Chain = append(kp.Chain, c)
	}
	if kp.Cert == nil {
		return nil, fmt.Errorf("%w: no certificate in the file matches the key", ErrKeyMismatch)
	}
	return kp, nil
}

// ParsePrivateKeyPEM parses the first private key block of a PEM file.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("%w: no PEM private key found", ErrBadKeystore)
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return nil, fmt.Errorf("%w: encrypted PEM keys are not supported; use a PKCS#12 keystore", ErrBadKeystore)
		}
		var key any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadKeystore, b.Type, err)
		}
		return asSigner(key)
	}
}

func asSigner(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func (kp *KeyPair) checkMatch() error {
	if kp.Cert == nil {
		return ErrNoCertificate
	}
	if !samePublicKey(kp.Key.Public(), kp.Cert.PublicKey) {
		return fmt.Errorf("%w: %q", ErrKeyMismatch, kp.Cert.Subject.String())
	}
	return nil
}

// readKeyFile refuses files that group or others may access, then reads
// at most MaxKeystoreBytes.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if err := checkSecretMode(path, fi, false); err != nil {
		return nil, err
	}
	return ReadFile(path)
}

// ReadFile reads a key, keystore or certificate file of at most
// MaxKeystoreBytes (a larger one is ErrBadKeystore), without the
// permission check of a key file: what the loaders here read, for tools
// that inspect such a file first.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeystoreBytes+1))
	if err != nil {
		return nil, fmt.Errorf("certs: read %s: %w", path, err)
	}
	if len(data) > MaxKeystoreBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadKeystore, path, MaxKeystoreBytes)
	}
	return data, nil
}

// ParseCertificates parses every CERTIFICATE block of PEM data, or a
// single DER certificate.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) && !bytes.Contains(trimmed, []byte("\n-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("%w: neither PEM nor a DER certificate: %v", ErrNoCertificate, err)
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoCertificate, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CERTIFICATE block in PEM data", ErrNoCertificate)
	}
	return out, nil
}

// LoadCertificates reads a PEM or DER certificate file.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	cs, err := ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return cs, nil
}

// Identity is the pair of key pairs of one mailbox (Postfach) or of the
// intermediary: the signature key pair and the cipher key pair.
type Identity struct {
	Signature *KeyPair
	Cipher    *KeyPair
}

// Check applies the own-key policy to both key pairs at time t: RSA of at
// least MinOwnRSABits, no SHA-1/MD5 signature, key usage for the purpose,
// inside the validity window, key matching the certificate. The daemon
// calls it for every identity it loads.
func (id *Identity) Check(t time.Time) error {
	for _, e := range []struct {
		kp *KeyPair
		p  Purpose
	}{{id.Signature, PurposeSignature}, {id.Cipher, PurposeCipher}} {
		if e.kp == nil {
			return fmt.Errorf("%w: identity has no %s key pair", ErrNoCertificate, e.p)
		}
		if err := CheckOwnKeyPair(e.kp, e.p, t); err != nil {
			return fmt.Errorf("%s key pair: %w", e.p, err)
		}
	}
	return nil
}

// CheckOwnKeyPair applies the own-key policy to one key pair.
func CheckOwnKeyPair(kp *KeyPair, p Purpose, t time.Time) error {
	if err := kp.checkMatch(); err != nil {
		return err
	}
	if err := CheckOwnKey(kp.Cert); err != nil {
		return err
	}
	if err := CheckKeyUsage(kp.Cert, p); err != nil {
		return err
	}
	return CheckValidity(kp.Cert, t)
}

// ID returns the OSCI certificate Id of the identity's certificate for p.
func (id *Identity) ID(role string, p Purpose) string {
	kp := id.Signature
	if p == PurposeCipher {
		kp = id.Cipher
	}
	return CertificateID(role, p, kp.Cert)
}

// Expiry is one own certificate's remaining lifetime.
type Expiry struct {
	Purpose  Purpose   `json:"purpose"`
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
	Days     int       `json:"days"`
}

// Expiries lists the remaining lifetime of both certificates at t.
func (id *Identity) Expiries(t time.Time) []Expiry {
	var out []Expiry
	for _, e := range []struct {
		kp *KeyPair
		p  Purpose
	}{{id.Signature, PurposeSignature}, {id.Cipher, PurposeCipher}} {
		if e.kp == nil || e.kp.Cert == nil {
			continue
		}
		out = append(out, Expiry{Purpose: e.p, Subject: e.kp.Cert.Subject.String(), NotAfter: e.kp.Cert.NotAfter, Days: DaysUntilExpiry(e.kp.Cert, t)})
	}
	return out
}

// DaysUntilExpiry returns the whole days from t until c expires: 0 on the
// last day, negative once expired.
func DaysUntilExpiry(c *x509.Certificate, t time.Time) int {
	d := c.NotAfter.Sub(t)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days-- // floor, so that one hour past expiry is day -1
	}
	return days
}

// CertificateID returns the OSCI certificate Id: "<role>_<cipher|signature>_"
// followed by the lowercase hex SHA-256 of the certificate's DER. role is
// the lowercase role name ("originator", "addressee", "intermed",
// "reader30", ...).
func CertificateID(role string, p Purpose, c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return role + "_" + p.String() + "_" + hex.EncodeToString(sum[:])
}

// Fingerprint returns the lowercase hex SHA-256 of the certificate's DER.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

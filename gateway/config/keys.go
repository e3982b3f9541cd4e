package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// ErrKeyMaterial marks a configured keystore or certificate that cannot be
// used (unreadable, readable by others, wrong password, weak key,
// expired). Like ErrConfig it is refused at start with exit code 2 and, on
// SIGHUP, keeps the running configuration in place.
var ErrKeyMaterial = errors.New("gateway: unusable key material")

// LoadCertificate reads the one certificate of a file; key names the
// configuration key in the error.
func LoadCertificate(key, path string) (*x509.Certificate, error) {
	cs, err := certs.LoadCertificates(path)
	if err == nil && len(cs) != 1 {
		err = fmt.Errorf("%s holds %d certificates, want exactly one", path, len(cs))
	}
	if err != nil {
		return nil, NewProblem(ErrKeyMaterial, key, err)
	}
	return cs[0], nil
}

// LoadKeystore reads one configured key pair. The password is read here
// and dropped; it reaches no log and no error message.
func (c *Config) LoadKeystore(key string, k KeystoreConfig, getenv func(string) string) (*certs.KeyPair, error) {
	if k.PKCS12 != "" {
		pw, err := c.Resolve(k.Password, getenv)
		if err != nil {
			return nil, NewProblem(ErrKeyMaterial, key+".password", err)
		}
		kp, err := certs.LoadPKCS12(k.PKCS12, pw)
		if err != nil {
			return nil, NewProblem(ErrKeyMaterial, key+".pkcs12", err)
		}
		return kp, nil
	}
	kp, err := certs.LoadPEM(k.Key, k.Cert)
	if err != nil {
		return nil, NewProblem(ErrKeyMaterial, key, err)
	}
	return kp, nil
}

// LoadIdentity loads a mailbox's own key pairs and checks them against the
// own-key policy (RSA ≥ 3072, key usage, validity at now). key is the
// mailbox's configuration key ("mailboxes[0]"). A problem with the
// signature key pair and one with the cipher key pair are both reported.
func (c *Config) LoadIdentity(key string, mc MailboxConfig, now time.Time, getenv func(string) string) (*certs.Identity, error) {
	load := func(role string, k KeystoreConfig, p certs.Purpose) (*certs.KeyPair, error) {
		kp, err := c.LoadKeystore(key+"."+role, k, getenv)
		if err != nil {
			return nil, err
		}
		if err := certs.CheckOwnKeyPair(kp, p, now); err != nil {
			return nil, NewProblem(ErrKeyMaterial, key+"."+role, err)
		}
		return kp, nil
	}
	sig, sigErr := load("signature", mc.Signature, certs.PurposeSignature)
	ciph, ciphErr := load("cipher", mc.Cipher, certs.PurposeCipher)
	if err := errors.Join(sigErr, ciphErr); err != nil {
		return nil, err
	}
	id := &certs.Identity{Signature: sig, Cipher: ciph}
	if err := id.Check(now); err != nil {
		return nil, NewProblem(ErrKeyMaterial, key, err)
	}
	return id, nil
}

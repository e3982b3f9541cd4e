package demo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
)

// demoPKI is the demo's key material below its directory: a demo CA that
// issues every certificate, and a PKCS#12 keystore (RSA 3072, Modern
// encoder) with a 0600 password file per party and purpose.
type demoPKI struct {
	dir  string
	now  func() time.Time
	rand io.Reader
}

// Party is one holder of demo keys: a mailbox or the intermediary.
type Party struct {
	ID     string // file name stem: "stadt", "gericht", "intermediary"
	Name   string // certificate subject CN
	SafeID string // a mailbox's SAFE-ID: the UID of its signature (VHN) certificate
}

func (p demoPKI) caCertPath() string { return filepath.Join(p.dir, "ca.pem") }

func (p demoPKI) keystore(party string, purpose certs.Purpose) (p12, password, certPEM string) {
	stem := filepath.Join(p.dir, party+"-"+purpose.String())
	return stem + ".p12", stem + ".password", stem + ".pem"
}

// ensure reuses the key material when every file is there and the own-key
// policy still accepts it; otherwise it issues all of it afresh.
func (p demoPKI) ensure(parties []Party) (created bool, err error) {
	if p.usable(parties) {
		return false, nil
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return false, err
	}
	caKey, caCert, err := p.newCA()
	if err != nil {
		return false, err
	}
	for _, party := range parties {
		for _, purpose := range []certs.Purpose{certs.PurposeSignature, certs.PurposeCipher} {
			if err := p.issue(party, purpose, caKey, caCert); err != nil {
				return false, fmt.Errorf("demo: %s %s key: %w", party.ID, purpose, err)
			}
		}
	}
	return true, nil
}

func (p demoPKI) usable(parties []Party) bool {
	if _, err := certs.LoadCertificates(p.caCertPath()); err != nil {
		return false
	}
	for _, party := range parties {
		var id certs.Identity
		for _, purpose := range []certs.Purpose{certs.PurposeSignature, certs.PurposeCipher} {
			kp, err := p.load(party.ID, purpose)
			if err != nil {
				return false
			}
			if purpose == certs.PurposeSignature {
				id.Signature = kp
			} else {
				id.Cipher = kp
			}
		}
		// Renew well before expiry so a long-running demo never trips over it.
		if id.Check(p.now().Add(30*24*time.Hour)) != nil {
			return false
		}
		// A mailbox's signature certificate is its VHN certificate: it
		// names the mailbox (keys issued by an older demo do not).
		if party.SafeID != "" && !hasUID(id.Signature.Cert, party.SafeID) {
			return false
		}
	}
	return true
}

func (p demoPKI) load(party string, purpose certs.Purpose) (*certs.KeyPair, error) {
	p12, pwFile, _ := p.keystore(party, purpose)
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		return nil, err
	}
	return certs.LoadPKCS12(p12, strings.TrimRight(string(pw), "\r\n"))
}

func (p demoPKI) serial() (*big.Int, error) {
	return rand.Int(p.rand, new(big.Int).Lsh(big.NewInt(1), 126))
}

func (p demoPKI) newCA() (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(p.rand, 3072)
	if err != nil {
		return nil, nil, err
	}
	sn, err := p.serial()
	if err != nil {
		return nil, nil, err
	}
	now := p.now()
	tpl := &x509.Certificate{SerialNumber: sn,
		Subject:   pkix.Name{CommonName: "bebpo-gateway Demo-CA", Organization: []string{"bebpo-gateway demo"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(3, 0, 0),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(p.rand, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeFileAtomic(p.caCertPath(), pemCert(cert), 0o644); err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

func (p demoPKI) issue(party Party, purpose certs.Purpose, caKey *rsa.PrivateKey, ca *x509.Certificate) error {
	key, err := rsa.GenerateKey(p.rand, certs.MinOwnRSABits)
	if err != nil {
		return err
	}
	sn, err := p.serial()
	if err != nil {
		return err
	}
	usage := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	label := "Signatur"
	if purpose == certs.PurposeCipher {
		usage, label = x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment, "Verschluesselung"
	}
	now := p.now()
	tpl := &x509.Certificate{SerialNumber: sn,
		Subject:   pkix.Name{CommonName: party.Name + " (" + label + ")", Organization: []string{"bebpo-gateway demo"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0), KeyUsage: usage, BasicConstraintsValid: true}
	if purpose == certs.PurposeSignature && party.SafeID != "" {
		tpl.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidUID, Value: party.SafeID}}
	}
	der, err := x509.CreateCertificate(p.rand, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	pwBytes := make([]byte, 18)
	if _, err := io.ReadFull(p.rand, pwBytes); err != nil {
		return err
	}
	pw := base64.RawURLEncoding.EncodeToString(pwBytes)
	pfx, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{ca}, pw)
	if err != nil {
		return err
	}
	p12, pwFile, certFile := p.keystore(party.ID, purpose)
	return errors.Join(
		writeFileAtomic(pwFile, []byte(pw+"\n"), 0o600),
		writeFileAtomic(p12, pfx, 0o600),
		writeFileAtomic(certFile, pemCert(cert), 0o644))
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// writeFileAtomic writes a file with its final mode from the start
// (secrets are never briefly readable) and renames it into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return durable.WriteFile(path, data, mode)
}

// oidUID is the LDAP userid attribute: VHN certificates carry the
// mailbox's SAFE-ID in it.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// hasUID reports whether cert's subject carries uid as its UID.
func hasUID(cert *x509.Certificate, uid string) bool {
	for _, n := range cert.Subject.Names {
		if v, ok := n.Value.(string); ok && n.Type.Equal(oidUID) && v == uid {
			return true
		}
	}
	return false
}

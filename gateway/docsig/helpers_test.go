package docsig_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig/docsigtest"
)

// signer is a key and certificate on disk for openssl.
type signer struct {
	cert, key string // PEM files
	c         *x509.Certificate
}

func pkiSigner(t *testing.T, name string) signer {
	return signer{cert: certstest.PKIPath(t, name+".pem"), key: certstest.PKIPath(t, name+".key"), c: certstest.PKICert(t, name)}
}

// issue makes a signer under the given CA of the test PKI (RSA 3072 when
// rsaKey, else ECDSA P-256) and writes it for openssl.
func issue(t *testing.T, ca string, tmpl *x509.Certificate, rsaKey bool) signer {
	t.Helper()
	caKey, caCert := certstest.PKIKey(t, ca)
	var key crypto.Signer
	var err error
	if rsaKey {
		key, err = rsa.GenerateKey(rand.Reader, 3072)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Subject.CommonName == "" {
		tmpl.Subject = pkix.Name{CommonName: "Rechtsanwältin Test", Organization: []string{"Kanzlei Test"}}
	}
	if tmpl.KeyUsage == 0 {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	if tmpl.SerialNumber == nil {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		tmpl.SerialNumber = n
	}
	_, c := certstest.Issue(t, caKey, caCert, tmpl, key)
	dir := t.TempDir()
	s := signer{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"), c: c}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, s.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	write(t, s.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	return s
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// sign makes a detached CMS signature of data with openssl cms -sign,
// carrying the intermediate CA; extra are more openssl arguments.
func sign(t *testing.T, data []byte, s signer, extra ...string) []byte {
	t.Helper()
	return certstest.SignCMS(t, data, s.cert, s.key, append([]string{"-certfile", certstest.PKIPath(t, "intermediate-ca.pem")}, extra...)...)
}

// verifier trusts the test PKI's root for content signers, at the
// machine's time (openssl stamps the signing time with it); revocation
// is asked of nobody and only warns, as the PKI's responders are not
// running here.
func verifier(t testing.TB) *docsig.Verifier {
	return docsigtest.Verifier(t, certs.RevocationPrefer, "root-ca")
}

var ctx = context.Background()

// qcStatements is the QCStatements extension of a qualified certificate
// for electronic signatures on a QSCD (ETSI EN 319 412-5).
func qcStatements(t *testing.T, statements ...asn1.ObjectIdentifier) pkix.Extension {
	t.Helper()
	type st struct {
		ID   asn1.ObjectIdentifier
		Info asn1.RawValue `asn1:"optional"`
	}
	var sts []st
	for _, id := range statements {
		s := st{ID: id}
		if id.Equal(asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}) {
			b, _ := asn1.Marshal([]asn1.ObjectIdentifier{{0, 4, 0, 1862, 1, 6, 1}})
			s.Info = asn1.RawValue{FullBytes: b}
		}
		sts = append(sts, s)
	}
	v, err := asn1.Marshal(sts)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}, Value: v}
}

var (
	qcCompliance = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
	qcSSCD       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	qcType       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
)

func expiredTmpl() *x509.Certificate {
	return &x509.Certificate{NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

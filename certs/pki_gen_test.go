package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var update = flag.Bool("update", false, "regenerate the test PKI under testdata/pki")

// The test PKI's fixed times: everything valid is valid from pkiNotBefore
// to pkiNotAfter, and tests check at refTime, so the fixtures never rot.
var (
	pkiNotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pkiNotAfter  = time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	refTime      = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// URLs the test certificates name; tests route them to an httptest server.
const (
	pkiOCSPURL            = "http://pki.test.invalid/ocsp"
	pkiRootCRLURL         = "http://pki.test.invalid/root.crl"
	pkiIntermediateCRLURL = "http://pki.test.invalid/intermediate.crl"
)

// Serial numbers of the fixtures, fixed so that the CRL, the test OCSP
// responder and the README agree.
const (
	serialRoot = 1 + iota
	serialIntermediate
	serialMailboxSignature
	serialMailboxCipher
	serialIntermediarySignature
	serialIntermediaryCipher
	serialOCSPResponder
	serialOCSPSibling
	serialPeerRSA2048
	serialPeerECDSA
	serialExpired
	serialNotYetValid
	serialRevokedCRL
	serialRevokedOCSP
	serialWrongUsage
	serialNoKeyUsage
	serialRSA1024
	serialSHA1
	serialMD5
	serialUnknownRoot
	serialUnknownCALeaf
	serialTwin
	serialVHNCA
	serialMailboxVHN
	serialVHNNoUID
	serialVHNGeneralCA
	serialSAFECipher
)

var (
	kuSign   = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	kuCipher = x509.KeyUsageKeyEncipherment
	kuCA     = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
)

// intermediaryCipherSKID is the key identifier the pinned intermediary
// cipher certificate and its self-signed twin share.
var intermediaryCipherSKID = []byte{0xb3, 0xb0, 0x05, 0xa1, 0x7e, 0x57, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d}

type pkiGen struct {
	t      *testing.T
	dir    string
	readme []string
}

type issuerKP struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func TestGeneratePKI(t *testing.T) {
	if !*update {
		t.Skip("regenerates testdata/pki; run with -update")
	}
	g := &pkiGen{t: t, dir: filepath.Join(certstest.RepoRoot(t), "testdata", "pki")}
	if err := os.RemoveAll(g.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(g.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spare := g.rsaKey(3072) // shared by negative fixtures whose key does not matter

	root := g.issue("root-ca", "trust anchor (self-signed, 3072-bit RSA)", &x509.Certificate{
		SerialNumber: big.NewInt(serialRoot), Subject: name("bebpo-gateway Test Root CA"),
		KeyUsage: kuCA, IsCA: true, MaxPathLen: 1,
	}, g.rsaKey(3072), nil, true)
	inter := g.issue("intermediate-ca", "intermediate CA under root-ca; issues every leaf below; CRL root.crl", &x509.Certificate{
		SerialNumber: big.NewInt(serialIntermediate), Subject: name("bebpo-gateway Test Intermediate CA"),
		KeyUsage: kuCA, IsCA: true, MaxPathLen: 0, MaxPathLenZero: true,
		CRLDistributionPoints: []string{pkiRootCRLURL},
	}, g.rsaKey(3072), root, true)

	leaf := func(serial int64, cn string, ku x509.KeyUsage) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: name(cn), KeyUsage: ku,
			OCSPServer: []string{pkiOCSPURL}, CRLDistributionPoints: []string{pkiIntermediateCRLURL},
		}
	}
	g.issue("mailbox-signature", "own mailbox signature certificate, RSA 3072, digitalSignature+nonRepudiation (positive)",
		leaf(serialMailboxSignature, "Stadt Erkelenz beBPo Signatur", kuSign), g.rsaKey(3072), inter, true)
	g.issue("mailbox-cipher", "own mailbox cipher certificate, RSA 3072, keyEncipherment (positive)",
		leaf(serialMailboxCipher, "Stadt Erkelenz beBPo Verschluesselung", kuCipher), g.rsaKey(3072), inter, true)
	g.issue("intermediary-signature", "intermediary signature certificate, chains to root-ca (positive)",
		leaf(serialIntermediarySignature, "Test Intermediaer Signatur", kuSign), g.rsaKey(3072), inter, true)
	pinned := &x509.Certificate{
		SerialNumber: big.NewInt(serialIntermediaryCipher), Subject: name("Test Intermediaer Verschluesselung"),
		KeyUsage: kuCipher, SubjectKeyId: intermediaryCipherSKID,
	}
	g.issue("intermediary-cipher", "intermediary cipher certificate, self-signed, trusted only by pinning (positive)",
		pinned, g.rsaKey(3072), nil, true)
	g.issue("ocsp-responder", "delegated OCSP responder of intermediate-ca, OCSPSigning EKU",
		&x509.Certificate{SerialNumber: big.NewInt(serialOCSPResponder), Subject: name("bebpo-gateway Test OCSP Responder"),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}},
		g.rsaKey(3072), inter, true)
	g.issue("ocsp-sibling", "sibling under intermediate-ca WITHOUT OCSPSigning EKU; responses it signs must be rejected",
		&x509.Certificate{SerialNumber: big.NewInt(serialOCSPSibling), Subject: name("bebpo-gateway Test Sibling Not A Responder"),
			KeyUsage: x509.KeyUsageDigitalSignature},
		g.rsaKey(3072), inter, true)
	g.issue("peer-rsa2048", "peer signature certificate with RSA 2048: accepted for peers with a warning, rejected as own key",
		leaf(serialPeerRSA2048, "Peer Legacy RSA 2048", kuSign), g.rsaKey(2048), inter, true)
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	g.issue("peer-ecdsa-p256", "peer signature certificate with ECDSA P-256 (positive)",
		leaf(serialPeerECDSA, "Peer ECDSA P-256", x509.KeyUsageDigitalSignature), p256, inter, false)

	expired := leaf(serialExpired, "Negative Expired", kuSign)
	expired.NotBefore, expired.NotAfter = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g.issue("expired", "NEGATIVE expired: valid 2025-01-01..2026-01-01", expired, spare, inter, false)
	future := leaf(serialNotYetValid, "Negative Not Yet Valid", kuSign)
	future.NotBefore = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	g.issue("not-yet-valid", "NEGATIVE not yet valid: valid from 2027-01-01", future, spare, inter, false)
	revCRL := leaf(serialRevokedCRL, "Negative Revoked In CRL", kuSign)
	revCRL.OCSPServer = nil
	g.issue("revoked-crl", "NEGATIVE revoked: listed in intermediate.crl (names no OCSP responder)", revCRL, spare, inter, false)
	revOCSP := leaf(serialRevokedOCSP, "Negative Revoked By OCSP", kuSign)
	revOCSP.CRLDistributionPoints = nil
	g.issue("revoked-ocsp", "NEGATIVE revoked: the test OCSP responder answers revoked for its serial (names no CRL)", revOCSP, spare, inter, false)
	g.issue("wrong-usage", "NEGATIVE key usage dataEncipherment+keyAgreement: neither signature nor cipher",
		leaf(serialWrongUsage, "Negative Wrong Key Usage", x509.KeyUsageDataEncipherment|x509.KeyUsageKeyAgreement), spare, inter, false)
	g.issue("no-key-usage", "NEGATIVE no key usage extension at all",
		leaf(serialNoKeyUsage, "Negative No Key Usage", 0), spare, inter, false)
	g.issue("rsa1024", "NEGATIVE RSA 1024-bit key", leaf(serialRSA1024, "Negative RSA 1024", kuSign), g.rsaKey(1024), inter, false)
	g.issueWeakHash("sha1", "NEGATIVE signed by intermediate-ca with sha1WithRSAEncryption",
		leaf(serialSHA1, "Negative SHA-1 Signed", kuSign), spare, inter, crypto.SHA1, 5)
	g.issueWeakHash("md5", "NEGATIVE signed by intermediate-ca with md5WithRSAEncryption",
		leaf(serialMD5, "Negative MD5 Signed", kuSign), spare, inter, crypto.MD5, 4)
	unknownRoot := g.issue("unknown-root-ca", "a root CA nobody trusts (also used to sign a foreign OCSP response)", &x509.Certificate{
		SerialNumber: big.NewInt(serialUnknownRoot), Subject: name("Unknown Root CA"), KeyUsage: kuCA, IsCA: true,
	}, g.rsaKey(3072), nil, true)
	g.issue("unknown-ca-leaf", "NEGATIVE signature certificate issued by unknown-root-ca",
		leaf(serialUnknownCALeaf, "Negative Unknown CA", kuSign), spare, unknownRoot, false)
	twin := &x509.Certificate{
		SerialNumber: big.NewInt(serialTwin), Subject: pinned.Subject, KeyUsage: kuCipher, SubjectKeyId: intermediaryCipherSKID,
	}
	g.issue("twin-of-pinned", "NEGATIVE self-signed twin of intermediary-cipher: same subject and key id, different key", twin, spare, nil, false)

	g.crl("intermediate.crl", "CRL of intermediate-ca (DER), lists revoked-crl's serial", inter,
		[]x509.RevocationListEntry{{SerialNumber: big.NewInt(serialRevokedCRL), RevocationTime: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}})
	g.crl("root.crl", "CRL of root-ca (DER), empty", root, nil)
	g.purposeFixtures(inter)
	g.writeReadme()
}

// vhnTestSafeID is the SAFE-ID in the subject UID of mailbox-vhn.pem and
// vhn-general-ca.pem.
const vhnTestSafeID = "DE.Justiz.00000000-0000-4000-8000-000000000001.0001"

// oidUID is the LDAP userid attribute in which beBPo VHN certificates
// carry the mailbox's SAFE-ID.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// purposeFixtures issues the certificates of the per-use trust sets: a VHN
// CA of its own (trusted for nothing but VHN), VHN certificates with and
// without the UID, a VHN look-alike from the general CA, and a cipher
// certificate as SAFE publishes them (self-signed, with signature usages).
func (g *pkiGen) purposeFixtures(inter *issuerKP) {
	vhnCA := g.issue("vhn-ca", "test beBPo VHN CA: a trust anchor of its own, trusted only for VHN (self-signed, RSA 3072)", &x509.Certificate{
		SerialNumber: big.NewInt(serialVHNCA), Subject: name("bebpo-gateway Test beBPo VHN CA"),
		KeyUsage: kuCA, IsCA: true, MaxPathLen: 0, MaxPathLenZero: true,
	}, g.rsaKey(3072), nil, true)
	vhn := func(serial int64, uid string) *x509.Certificate {
		n := pkix.Name{CommonName: "VHN - besonderes elektronisches Behördenpostfach", Province: []string{"Nordrhein-Westfalen"}, Country: []string{"DE"}}
		if uid != "" {
			n.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidUID, Value: uid}}
		}
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: n, KeyUsage: kuSign}
	}
	g.issue("mailbox-vhn", "VHN certificate of the test mailbox, issued by vhn-ca, subject UID "+vhnTestSafeID+", RSA 3072 (positive)",
		vhn(serialMailboxVHN, vhnTestSafeID), g.rsaKey(3072), vhnCA, true)
	g.issue("vhn-no-uid", "NEGATIVE VHN certificate issued by vhn-ca without a subject UID: names no mailbox, so no VHN",
		vhn(serialVHNNoUID, ""), g.rsaKey(3072), vhnCA, true)
	g.issue("vhn-general-ca", "NEGATIVE VHN look-alike with subject UID "+vhnTestSafeID+", issued by intermediate-ca instead of vhn-ca",
		vhn(serialVHNGeneralCA, vhnTestSafeID), g.rsaKey(3072), inter, true)
	g.issue("safe-cipher", "cipher certificate as SAFE publishes them: self-signed, digitalSignature+nonRepudiation+keyEncipherment; trusted only as a recipient cipher key",
		&x509.Certificate{SerialNumber: big.NewInt(serialSAFECipher), Subject: name("Test Postfach Verschluesselung (SAFE)"),
			KeyUsage: kuSign | kuCipher}, g.rsaKey(3072), nil, true)
}

func name(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"bebpo-gateway test PKI"}, Country: []string{"DE"}}
}

func (g *pkiGen) rsaKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		g.t.Fatal(err)
	}
	return k
}

// issue signs tmpl with issuer (nil: self-signed) and writes NAME.pem and,
// if saveKey, NAME.key.
func (g *pkiGen) issue(base, desc string, tmpl *x509.Certificate, key crypto.Signer, issuer *issuerKP, saveKey bool) *issuerKP {
	der := g.create(tmpl, key, issuer)
	c, err := x509.ParseCertificate(der)
	if err != nil {
		g.t.Fatal(err)
	}
	g.writePEM(base+".pem", "CERTIFICATE", der, 0o644, desc)
	if saveKey {
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			g.t.Fatal(err)
		}
		g.writePEM(base+".key", "PRIVATE KEY", p8, 0o600, "private key of "+base+".pem (PKCS#8)")
	}
	return &issuerKP{cert: c, key: key}
}

func (g *pkiGen) create(tmpl *x509.Certificate, key crypto.Signer, issuer *issuerKP) []byte {
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = pkiNotBefore
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = pkiNotAfter
	}
	tmpl.BasicConstraintsValid = true
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		g.t.Fatalf("create %s: %v", tmpl.Subject.CommonName, err)
	}
	return der
}

// issueWeakHash issues a certificate and then re-signs it with a hash Go
// refuses to sign certificates with (SHA-1, MD5). The TBS signature
// algorithm OID differs from sha256WithRSAEncryption only in its last
// byte, so it is patched in place and the TBS signed again.
func (g *pkiGen) issueWeakHash(base, desc string, tmpl *x509.Certificate, key crypto.Signer, issuer *issuerKP, h crypto.Hash, oidLast byte) {
	der := g.create(tmpl, key, issuer)
	c, err := x509.ParseCertificate(der)
	if err != nil {
		g.t.Fatal(err)
	}
	sha256RSA := []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}
	tbs := bytes.Clone(c.RawTBSCertificate)
	i := bytes.Index(tbs, sha256RSA)
	if i < 0 {
		g.t.Fatal("no sha256WithRSAEncryption OID in TBS")
	}
	tbs[i+len(sha256RSA)-1] = oidLast
	hh := h.New()
	hh.Write(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, issuer.key.(*rsa.PrivateKey), h, hh.Sum(nil))
	if err != nil {
		g.t.Fatalf("sign with %v: %v", h, err)
	}
	out, err := asn1.Marshal(struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}{
		TBS: asn1.RawValue{FullBytes: tbs},
		Alg: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, int(oidLast)}, Parameters: asn1.NullRawValue},
		Sig: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		g.t.Fatal(err)
	}
	wc, err := x509.ParseCertificate(out)
	if err != nil {
		g.t.Fatal(err)
	}
	if err := wc.CheckSignatureFrom(issuer.cert); err == nil {
		g.t.Fatalf("%s: Go accepted a %v signature; the fixture would prove nothing", base, h)
	}
	g.writePEM(base+".pem", "CERTIFICATE", out, 0o644, desc)
}

func (g *pkiGen) crl(file, desc string, issuer *issuerKP, entries []x509.RevocationListEntry) {
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: pkiNotBefore, NextUpdate: pkiNotAfter,
		RevokedCertificateEntries: entries,
	}, issuer.cert, issuer.key)
	if err != nil {
		g.t.Fatal(err)
	}
	g.write(file, der, 0o644, desc)
}

func (g *pkiGen) writePEM(file, typ string, der []byte, mode os.FileMode, desc string) {
	g.write(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode, desc)
}

func (g *pkiGen) write(file string, data []byte, mode os.FileMode, desc string) {
	p := filepath.Join(g.dir, file)
	if err := os.WriteFile(p, data, mode); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		g.t.Fatal(err)
	}
	g.readme = append(g.readme, fmt.Sprintf("| `%s` | %s |", file, desc))
}

func (g *pkiGen) writeReadme() {
	var b strings.Builder
	fmt.Fprintf(&b, `# Test PKI

Generated by `+"`make testdata`"+` (`+"`go test ./certs/ -run TestGeneratePKI -update`"+`); do not edit by hand.
Every valid certificate is valid %s to %s; tests check at %s, so nothing here expires in a test.
Certificates name `+"`%s`"+` (OCSP) and `+"`%s`"+` / `+"`%s`"+` (CRLs); tests route these to an in-process server.
Keys are PKCS#8 PEM written with mode 0600; git does not keep that mode, so tests load them from memory
or copy them to a 0600 temporary file. Serial numbers are fixed (root-ca is 1, then in the order below).

| file | what it is |
|---|---|
`, pkiNotBefore.Format("2006-01-02"), pkiNotAfter.Format("2006-01-02"), refTime.Format(time.RFC3339),
		pkiOCSPURL, pkiRootCRLURL, pkiIntermediateCRLURL)
	for _, l := range g.readme {
		b.WriteString(l + "\n")
	}
	if err := os.WriteFile(filepath.Join(g.dir, "README.md"), []byte(b.String()), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

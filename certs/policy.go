package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// Purpose is what a certificate is used for in OSCI: every party holds a
// signature certificate and a cipher (Verschlüsselungs-) certificate.
type Purpose int

const (
	// PurposeSignature needs the digitalSignature or nonRepudiation key usage.
	PurposeSignature Purpose = iota + 1
	// PurposeCipher needs the keyEncipherment key usage.
	PurposeCipher
)

var purposeNames = []string{PurposeSignature: "signature", PurposeCipher: "cipher"}

// String returns the word OSCI uses in certificate Ids: "signature" or "cipher".
func (p Purpose) String() string { return enumName(p, purposeNames, "purpose") }

// MarshalText writes the purpose as its OSCI word.
func (p Purpose) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// ParsePurpose parses "signature" or "cipher".
func ParsePurpose(s string) (Purpose, error) {
	if p, ok := parseEnum[Purpose](s, purposeNames); ok {
		return p, nil
	}
	return 0, fmt.Errorf("%w: unknown purpose %q (want signature or cipher)", ErrBadPolicy, s)
}

// enumName is v's name in names (indexed by value), or kind(v) for a
// value without one: the String of the package's enumerations.
func enumName[T ~int](v T, names []string, kind string) string {
	if v >= 0 && int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, int(v))
}

// parseEnum returns the value whose name in names is s in any case.
func parseEnum[T ~int](s string, names []string) (T, bool) {
	s = strings.ToLower(s)
	for v, n := range names {
		if n != "" && n == s {
			return T(v), true
		}
	}
	return 0, false
}

// RevocationMode says what to do about revocation for one purpose.
type RevocationMode int

const (
	// RevocationDefault takes the purpose's default: RevocationRequire for
	// signatures, RevocationPrefer for cipher certificates.
	RevocationDefault RevocationMode = iota
	// RevocationRequire is fail-closed: without a valid good answer the
	// certificate is rejected with ErrRevocationUnavailable.
	RevocationRequire
	// RevocationPrefer is fail-open: the status is asked, a revoked answer
	// or an invalid (forged, stale) answer rejects, but silence (no
	// responder, unreachable, unknown) only adds a warning.
	RevocationPrefer
	// RevocationOff does not ask at all.
	RevocationOff
)

var revocationModeNames = []string{RevocationDefault: "default", RevocationRequire: "require", RevocationPrefer: "prefer", RevocationOff: "off"}

func (m RevocationMode) String() string { return enumName(m, revocationModeNames, "revocation") }

// ParseRevocationMode parses "require", "prefer", "off" or "default".
func ParseRevocationMode(s string) (RevocationMode, error) {
	if m, ok := parseEnum[RevocationMode](s, revocationModeNames); ok {
		return m, nil
	}
	return 0, fmt.Errorf("%w: unknown revocation mode %q (want off, prefer or require)", ErrBadPolicy, s)
}

// Policy is the algorithm, key-size and revocation policy of a Validator.
// The zero value is the default policy described on each field.
type Policy struct {
	// MinPeerRSABits rejects peer RSA keys below it (default 2048).
	MinPeerRSABits int
	// GoodPeerRSABits is the size from which a peer RSA key draws no
	// warning (default 3000, BSI TR-02102-1). Keys between MinPeerRSABits
	// and this get a warning, or ErrWeakKey with RejectLegacyPeerKeys.
	GoodPeerRSABits int
	// RejectLegacyPeerKeys turns the legacy-key-size warning into ErrWeakKey.
	RejectLegacyPeerKeys bool
	// SignatureRevocation and CipherRevocation are the revocation modes
	// per purpose (defaults: require for signature, prefer for cipher).
	SignatureRevocation RevocationMode
	CipherRevocation    RevocationMode
}

// MinOwnRSABits is the smallest RSA key the gateway accepts for its own
// identities (BSI TR-02102-1 requires 3000; we round up to the next
// standard size).
const MinOwnRSABits = 3072

// RevocationFor returns the effective revocation mode for a purpose.
func (p Policy) RevocationFor(purpose Purpose) RevocationMode {
	m := p.CipherRevocation
	def := RevocationPrefer
	if purpose == PurposeSignature {
		m, def = p.SignatureRevocation, RevocationRequire
	}
	if m == RevocationDefault {
		return def
	}
	return m
}

func (p Policy) minPeer() int {
	if p.MinPeerRSABits > 0 {
		return p.MinPeerRSABits
	}
	return 2048
}

func (p Policy) goodPeer() int {
	if p.GoodPeerRSABits > 0 {
		return p.GoodPeerRSABits
	}
	return 3000
}

// Validate reports a policy that cannot be meant.
func (p Policy) Validate() error {
	switch {
	case p.MinPeerRSABits < 0 || p.GoodPeerRSABits < 0:
		return fmt.Errorf("%w: negative key size", ErrBadPolicy)
	case p.MinPeerRSABits != 0 && p.MinPeerRSABits < 2048:
		return fmt.Errorf("%w: MinPeerRSABits %d is below 2048", ErrBadPolicy, p.MinPeerRSABits)
	case p.goodPeer() < p.minPeer():
		return fmt.Errorf("%w: GoodPeerRSABits %d is below MinPeerRSABits %d", ErrBadPolicy, p.goodPeer(), p.minPeer())
	case p.SignatureRevocation < RevocationDefault || p.SignatureRevocation > RevocationOff,
		p.CipherRevocation < RevocationDefault || p.CipherRevocation > RevocationOff:
		return fmt.Errorf("%w: unknown revocation mode", ErrBadPolicy)
	}
	return nil
}

// CheckAlgorithm rejects certificates signed with SHA-1 or MD5 (or an
// algorithm Go does not know). It says nothing about the signature's
// validity, only about the algorithm.
func CheckAlgorithm(c *x509.Certificate) error {
	switch c.SignatureAlgorithm {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS,
		x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512, x509.PureEd25519:
		return nil
	}
	return fmt.Errorf("%w: certificate %q is signed with %v", ErrWeakAlgorithm, c.Subject.CommonName, c.SignatureAlgorithm)
}

// KeyDescription returns "RSA 3072", "ECDSA P-256", ... for reports.
func KeyDescription(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}

// checkPeerKey applies the peer key policy. It returns a warning for a
// legacy-sized RSA key that the policy accepts.
func (p Policy) checkPeerKey(c *x509.Certificate) (warning string, err error) {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits < p.minPeer():
			return "", fmt.Errorf("%w: RSA %d bits is below the minimum of %d", ErrWeakKey, bits, p.minPeer())
		case bits < p.goodPeer() && p.RejectLegacyPeerKeys:
			return "", fmt.Errorf("%w: RSA %d bits is below %d and legacy keys are rejected", ErrWeakKey, bits, p.goodPeer())
		case bits < p.goodPeer():
			return fmt.Sprintf("RSA key of %d bits is below the %d bits BSI TR-02102-1 requires", bits, p.goodPeer()), nil
		}
		return "", nil
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			return "", nil
		}
		return "", fmt.Errorf("%w: curve %s is not allowed", ErrWeakKey, k.Curve.Params().Name)
	}
	return "", fmt.Errorf("%w: %v keys are not allowed for peers", ErrWeakKey, c.PublicKeyAlgorithm)
}

// CheckOwnKey applies the policy for the gateway's own certificates: RSA
// of at least MinOwnRSABits (OSCI 1.2 peers expect RSA for both
// signature and RSA-OAEP key transport) and no SHA-1/MD5 signature.
func CheckOwnKey(c *x509.Certificate) error {
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: own keys must be RSA, got %v", ErrWeakKey, c.PublicKeyAlgorithm)
	}
	if bits := k.N.BitLen(); bits < MinOwnRSABits {
		return fmt.Errorf("%w: own RSA key of %d bits is below %d", ErrWeakKey, bits, MinOwnRSABits)
	}
	return CheckAlgorithm(c)
}

// CheckKeyUsage checks the key usage bits for a purpose. A certificate
// without a key usage extension is rejected: OSCI certificates carry one,
// and RFC 5280's "any usage" reading would let a cipher key sign.
func CheckKeyUsage(c *x509.Certificate, p Purpose) error {
	var want x509.KeyUsage
	switch p {
	case PurposeSignature:
		want = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	case PurposeCipher:
		want = x509.KeyUsageKeyEncipherment
	default:
		return fmt.Errorf("%w: unknown purpose %v", ErrBadPolicy, p)
	}
	if c.KeyUsage&want == 0 {
		return fmt.Errorf("%w: key usage %s does not allow %s", ErrKeyUsage, KeyUsageString(c.KeyUsage), p)
	}
	return nil
}

// CheckValidity checks the validity window at t.
func CheckValidity(c *x509.Certificate, t time.Time) error {
	if t.Before(c.NotBefore) {
		return fmt.Errorf("%w: valid from %s, checked at %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	if t.After(c.NotAfter) {
		return fmt.Errorf("%w: valid until %s, checked at %s", ErrExpired, c.NotAfter.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	}
	return nil
}

var keyUsageNames = []struct {
	u    x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "nonRepudiation"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

// KeyUsageNames lists the RFC 5280 names of the bits set in u.
func KeyUsageNames(u x509.KeyUsage) []string {
	var out []string
	for _, n := range keyUsageNames {
		if u&n.u != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// KeyUsageString is KeyUsageNames joined by commas, or "none".
func KeyUsageString(u x509.KeyUsage) string {
	if n := KeyUsageNames(u); len(n) > 0 {
		return strings.Join(n, ",")
	}
	return "none"
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
}

// ExtKeyUsageNames lists the extended key usages of c by name (unknown
// ones by OID).
func ExtKeyUsageNames(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsageNames[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("eku(%d)", int(u)))
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}

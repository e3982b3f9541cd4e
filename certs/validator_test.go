package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// testTrust is the operator's configuration in the tests: the test root
// and intermediate as CAs, the intermediary's self-signed cipher
// certificate pinned.
func testTrust(t testing.TB) *TrustStore {
	t.Helper()
	ts := NewTrustStore()
	for _, n := range []string{"root-ca", "intermediate-ca"} {
		if err := ts.AddCA(loadCert(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	ts.Pin(loadCert(t, "intermediary-cipher"))
	return ts
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// noRevocation is the policy for tests that are not about revocation.
var noRevocation = Policy{SignatureRevocation: RevocationOff, CipherRevocation: RevocationOff}

// TestValidateFixtures runs every positive and negative certificate of the
// test PKI through the Validator (revocation is tested separately).
func TestValidateFixtures(t *testing.T) {
	trust := testTrust(t)
	tests := []struct {
		name        string
		cert        string
		purpose     Purpose
		policy      Policy
		wantErr     error
		wantPinned  bool
		wantWarning string
	}{
		{name: "mailbox signature", cert: "mailbox-signature", purpose: PurposeSignature},
		{name: "mailbox cipher", cert: "mailbox-cipher", purpose: PurposeCipher},
		{name: "intermediary signature", cert: "intermediary-signature", purpose: PurposeSignature},
		{name: "pinned self-signed intermediary cipher", cert: "intermediary-cipher", purpose: PurposeCipher, wantPinned: true},
		{name: "peer ecdsa p-256", cert: "peer-ecdsa-p256", purpose: PurposeSignature},
		{name: "peer rsa 2048 accepted with warning", cert: "peer-rsa2048", purpose: PurposeSignature, wantWarning: "2048 bits"},
		{name: "peer rsa 2048 rejected by policy", cert: "peer-rsa2048", purpose: PurposeSignature,
			policy: Policy{RejectLegacyPeerKeys: true}, wantErr: ErrWeakKey},
		{name: "expired", cert: "expired", purpose: PurposeSignature, wantErr: ErrExpired},
		{name: "not yet valid", cert: "not-yet-valid", purpose: PurposeSignature, wantErr: ErrNotYetValid},
		{name: "wrong key usage for signature", cert: "wrong-usage", purpose: PurposeSignature, wantErr: ErrKeyUsage},
		{name: "wrong key usage for cipher", cert: "wrong-usage", purpose: PurposeCipher, wantErr: ErrKeyUsage},
		{name: "no key usage extension", cert: "no-key-usage", purpose: PurposeSignature, wantErr: ErrKeyUsage},
		{name: "signature certificate used as cipher", cert: "mailbox-signature", purpose: PurposeCipher, wantErr: ErrKeyUsage},
		{name: "cipher certificate used as signature", cert: "mailbox-cipher", purpose: PurposeSignature, wantErr: ErrKeyUsage},
		{name: "rsa 1024", cert: "rsa1024", purpose: PurposeSignature, wantErr: ErrWeakKey},
		{name: "sha-1 signed", cert: "sha1", purpose: PurposeSignature, wantErr: ErrWeakAlgorithm},
		{name: "md5 signed", cert: "md5", purpose: PurposeSignature, wantErr: ErrWeakAlgorithm},
		{name: "unknown ca", cert: "unknown-ca-leaf", purpose: PurposeSignature, wantErr: ErrNotTrusted},
		{name: "self-signed twin of pinned certificate", cert: "twin-of-pinned", purpose: PurposeCipher, wantErr: ErrNotTrusted},
		{name: "ocsp sibling is no mailbox certificate", cert: "ocsp-sibling", purpose: PurposeCipher, wantErr: ErrKeyUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := tc.policy
			pol.SignatureRevocation, pol.CipherRevocation = RevocationOff, RevocationOff
			v := &Validator{Trust: trust, Now: fixedClock(refTime), Policy: pol}
			res, err := v.Validate(context.Background(), loadCert(t, tc.cert), nil, tc.purpose)
			if res == nil {
				t.Fatal("nil Result")
			}
			if failedAsWanted(t, err, tc.wantErr) {
				if res.Valid || res.Error == "" {
					t.Fatalf("result of a failed validation: valid=%v error=%q", res.Valid, res.Error)
				}
				if last := res.Checks[len(res.Checks)-1]; last.Outcome != OutcomeFailed {
					t.Fatalf("last check %+v is not failed", last)
				}
				return
			}
			if !res.Valid || res.Pinned != tc.wantPinned {
				t.Fatalf("valid=%v pinned=%v", res.Valid, res.Pinned)
			}
			if tc.wantWarning != "" && !strings.Contains(strings.Join(res.Warnings, "\n"), tc.wantWarning) {
				t.Fatalf("warnings %q lack %q", res.Warnings, tc.wantWarning)
			}
			if tc.wantWarning == "" && len(res.Warnings) != 0 {
				t.Fatalf("unexpected warnings %q", res.Warnings)
			}
		})
	}
}

// TestOfferedCertificatesNeverAddTrust: what a message carries may help
// build a path to a configured root, but can never become a root or a pin.
func TestOfferedCertificatesNeverAddTrust(t *testing.T) {
	rootOnly := NewTrustStore()
	if err := rootOnly.AddCA(loadCert(t, "root-ca")); err != nil {
		t.Fatal(err)
	}
	interOnly := NewTrustStore()
	if err := interOnly.AddCA(loadCert(t, "intermediate-ca")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trust   *TrustStore
		leaf    string
		offered []string
		purpose Purpose
		wantErr error
	}{
		{name: "offered intermediate as path hint", trust: rootOnly, leaf: "mailbox-signature", offered: []string{"intermediate-ca"}, purpose: PurposeSignature},
		{name: "intermediate neither configured nor offered", trust: rootOnly, leaf: "mailbox-signature", purpose: PurposeSignature, wantErr: ErrNotTrusted},
		{name: "configured intermediate is no trust anchor", trust: interOnly, leaf: "mailbox-signature", purpose: PurposeSignature, wantErr: ErrNotTrusted},
		{name: "offered root is not trusted", trust: rootOnly, leaf: "unknown-ca-leaf", offered: []string{"unknown-root-ca"}, purpose: PurposeSignature, wantErr: ErrNotTrusted},
		{name: "offered pinned original does not vouch for its twin", trust: testTrust(t), leaf: "twin-of-pinned", offered: []string{"intermediary-cipher"}, purpose: PurposeCipher, wantErr: ErrNotTrusted},
		{name: "offered twin as its own issuer", trust: testTrust(t), leaf: "twin-of-pinned", offered: []string{"twin-of-pinned"}, purpose: PurposeCipher, wantErr: ErrNotTrusted},
		{name: "self-signed not pinned", trust: rootOnly, leaf: "intermediary-cipher", purpose: PurposeCipher, wantErr: ErrNotTrusted},
		{name: "empty trust store", trust: NewTrustStore(), leaf: "mailbox-signature", offered: []string{"intermediate-ca", "root-ca"}, purpose: PurposeSignature, wantErr: ErrNotTrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var offered []*x509.Certificate
			for _, o := range tc.offered {
				offered = append(offered, loadCert(t, o))
			}
			v := &Validator{Trust: tc.trust, Now: fixedClock(refTime), Policy: noRevocation}
			res, err := v.Validate(context.Background(), loadCert(t, tc.leaf), offered, tc.purpose)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (res.Pinned || len(res.Chain) != 3) {
				t.Fatalf("pinned=%v chain=%q", res.Pinned, res.Chain)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		offered []string
		purpose Purpose
		want    string
		wantErr error
	}{
		{name: "pinned among twin", offered: []string{"twin-of-pinned", "intermediary-cipher"}, purpose: PurposeCipher, want: "intermediary-cipher"},
		{name: "twin alone", offered: []string{"twin-of-pinned"}, purpose: PurposeCipher, wantErr: ErrNotTrusted},
		{name: "signature among its chain", offered: []string{"intermediate-ca", "mailbox-signature"}, purpose: PurposeSignature, want: "mailbox-signature"},
		{name: "cipher among both usages", offered: []string{"mailbox-signature", "mailbox-cipher"}, purpose: PurposeCipher, want: "mailbox-cipher"},
		{name: "reason of the candidate with fitting usage", offered: []string{"wrong-usage", "expired"}, purpose: PurposeSignature, wantErr: ErrExpired},
		{name: "nothing offered", purpose: PurposeSignature, wantErr: ErrNotTrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var offered []*x509.Certificate
			for _, o := range tc.offered {
				offered = append(offered, loadCert(t, o))
			}
			v := &Validator{Trust: testTrust(t), Now: fixedClock(refTime), Policy: noRevocation}
			c, res, err := v.Select(context.Background(), offered, tc.purpose)
			if tc.purpose == PurposeSignature {
				c2, _, err2 := v.SelectSigner(context.Background(), offered)
				if c2 != c || (err2 == nil) != (err == nil) {
					t.Fatalf("SelectSigner differs from Select: %v / %v", err2, err)
				}
			}
			if failedAsWanted(t, err, tc.wantErr) {
				if c != nil {
					t.Fatalf("got %v with error %v", c, err)
				}
				return
			}
			if !c.Equal(loadCert(t, tc.want)) || !res.Valid {
				t.Fatalf("selected %q", c.Subject.CommonName)
			}
		})
	}
}

// TestValidateRealEGVPCertificates validates the certificates of a real
// EGVP message at a time they were valid: the self-signed mailbox cipher
// certificates by pinning, with the 2048-bit warning real peers draw.
func TestValidateRealEGVPCertificates(t *testing.T) {
	dir := filepath.Join(certstest.SharedDir(t), "vectors", "egvp", "TestnachrichtEeb_1", "certificates")
	at := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		file    string
		purpose Purpose
		pin     bool
		at      time.Time
		wantErr error
	}{
		{name: "pinned originator cipher", file: "originator.crt", purpose: PurposeCipher, pin: true, at: at},
		{name: "pinned vhn signature (rsassa-pss sha-512)", file: "originator_transportsignatur.crt", purpose: PurposeSignature, pin: true, at: at},
		{name: "vhn signature without its CA", file: "originator_transportsignatur.crt", purpose: PurposeSignature, at: at, wantErr: ErrNotTrusted},
		{name: "pinned addressee cipher today", file: "addressee.crt", purpose: PurposeCipher, pin: true, at: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), wantErr: ErrExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := LoadCertificates(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			ts := testTrust(t)
			if tc.pin {
				ts.Pin(cs[0])
			}
			v := &Validator{Trust: ts, Now: fixedClock(tc.at)}
			res, err := v.Validate(context.Background(), cs[0], nil, tc.purpose)
			if failedAsWanted(t, err, tc.wantErr) {
				return
			}
			if !res.Pinned || len(res.Warnings) != 1 {
				t.Fatalf("pinned %v, warnings %q", res.Pinned, res.Warnings)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	v := &Validator{Trust: testTrust(t), Now: fixedClock(refTime), Policy: noRevocation}
	res, err := v.Validate(context.Background(), loadCert(t, "peer-rsa2048"), nil, PurposeSignature)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"purpose": "signature", "serial": "9", "valid": true, "pinned": false,
		"checked_at": "2026-06-01T00:00:00Z", "not_after": "2036-01-01T00:00:00Z", "key": "RSA 2048",
	} {
		if back[k] != want {
			t.Errorf("%s = %v, want %v", k, back[k], want)
		}
	}
	var steps []string
	for _, c := range res.Checks {
		steps = append(steps, c.Name+"="+string(c.Outcome))
	}
	want := "algorithm=passed key=warning validity=passed key-usage=passed trust=passed revocation=skipped"
	if got := strings.Join(steps, " "); got != want {
		t.Fatalf("checks %s\nwant   %s", got, want)
	}
	if c, ok := res.Step(StepTrust); !ok || !strings.Contains(c.Detail, "Test Root CA") {
		t.Fatalf("trust step %+v", c)
	}
}

func TestTrustStoreLoad(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"root-ca", "intermediate-ca"} {
		writeFile(t, dir, n+".pem", readPKI(t, n+".pem"), 0o644)
	}
	der := loadCert(t, "unknown-root-ca").Raw
	writeFile(t, dir, "other.der", der, 0o644)
	writeFile(t, dir, "notes.txt", []byte("ignored"), 0o644)
	bundle := writeFile(t, t.TempDir(), "bundle.pem", append(readPKI(t, "root-ca.pem"), readPKI(t, "intermediate-ca.pem")...), 0o644)
	leafFile := certstest.PKIPath(t, "mailbox-signature.pem")
	tests := []struct {
		name                string
		load                func(ts *TrustStore) error
		roots, inters, pins int
		wantErr             error
	}{
		{name: "directory of PEM and DER", load: func(ts *TrustStore) error { return ts.LoadCAs(dir) }, roots: 2, inters: 1},
		{name: "bundle file", load: func(ts *TrustStore) error { return ts.LoadCAs(bundle) }, roots: 1, inters: 1},
		{name: "same CA twice counts once", load: func(ts *TrustStore) error {
			if err := ts.LoadCAs(bundle); err != nil {
				return err
			}
			return ts.LoadCAs(bundle)
		}, roots: 1, inters: 1},
		{name: "leaf is no CA", load: func(ts *TrustStore) error { return ts.LoadCAs(leafFile) }, wantErr: ErrNotTrusted},
		{name: "pins from file", load: func(ts *TrustStore) error { return ts.LoadPins(leafFile) }, pins: 1},
		{name: "empty directory", load: func(ts *TrustStore) error { return ts.LoadPins(t.TempDir()) }, wantErr: ErrNoCertificate},
		{name: "missing file", load: func(ts *TrustStore) error { return ts.LoadCAs(filepath.Join(dir, "nope.pem")) }, wantErr: os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := NewTrustStore()
			err := tc.load(ts)
			if failedAsWanted(t, err, tc.wantErr) {
				return
			}
			r, i, p := ts.Counts()
			if r != tc.roots || i != tc.inters || p != tc.pins {
				t.Fatalf("counts %d/%d/%d", r, i, p)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		wantErr error
	}{
		{name: "zero value", p: Policy{}},
		{name: "strict", p: Policy{MinPeerRSABits: 3072, GoodPeerRSABits: 3072, RejectLegacyPeerKeys: true}},
		{name: "min below 2048", p: Policy{MinPeerRSABits: 1024}, wantErr: ErrBadPolicy},
		{name: "good below min", p: Policy{MinPeerRSABits: 3072, GoodPeerRSABits: 2048}, wantErr: ErrBadPolicy},
		{name: "unknown revocation mode", p: Policy{CipherRevocation: 9}, wantErr: ErrBadPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if (Policy{}).RevocationFor(PurposeSignature) != RevocationRequire || (Policy{}).RevocationFor(PurposeCipher) != RevocationPrefer {
		t.Fatal("default revocation modes: want require for signature, prefer for cipher")
	}
}

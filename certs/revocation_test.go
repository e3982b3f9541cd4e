package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspBehaviour scripts the in-process OCSP responder for one test case.
type ocspBehaviour struct {
	signer      string        // "responder" (default), "issuer", "sibling", "unknown-root"; "-no-cert" suffix: do not embed the signer's certificate
	status      answer        // default: by serial (revoked-ocsp revoked, others good)
	thisUpdate  time.Duration // relative to refTime; default -1h
	nextUpdate  time.Duration // relative to refTime; default +24h; 0 with noNextUpdate
	noNext      bool
	oversize    bool
	httpStatus  int
	delay       time.Duration
	crlStatus   int    // HTTP status for CRL requests; 0 = 200
	crlOverride []byte // served instead of intermediate.crl
}

// answer is what the test responder says about a certificate.
type answer int

const (
	bySerial answer = iota
	answerGood
	answerUnknown
)

// pkiServer is an in-process OCSP responder and CRL server for the test
// PKI. Certificates name pki.test.invalid; routeTo sends those requests here.
type pkiServer struct {
	t      *testing.T
	srv    *httptest.Server
	inter  *KeyPair
	signer map[string]*KeyPair

	mu     sync.Mutex
	b      ocspBehaviour
	base   time.Time // the responder's clock
	counts map[string]int
	// release ends delayed handlers when the test ends, so that Close
	// does not wait for them.
	release chan struct{}
}

func newPKIServer(t *testing.T, b ocspBehaviour) *pkiServer {
	inter := loadKP(t, "intermediate-ca")
	s := &pkiServer{t: t, inter: inter, b: b, base: refTime, counts: map[string]int{}, signer: map[string]*KeyPair{
		"responder":    loadKP(t, "ocsp-responder"),
		"issuer":       inter,
		"sibling":      loadKP(t, "ocsp-sibling"),
		"unknown-root": loadKP(t, "unknown-root-ca"),
	}}
	s.release = make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.release) }) // runs before Close
	return s
}

func (s *pkiServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

func (s *pkiServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts[r.URL.Path]++
	b, base := s.b, s.base
	s.mu.Unlock()
	if b.delay > 0 {
		select {
		case <-time.After(b.delay):
		case <-r.Context().Done():
			return
		case <-s.release:
			return
		}
	}
	switch r.URL.Path {
	case "/ocsp":
		s.serveOCSP(w, r, b, base)
	case "/intermediate.crl", "/root.crl":
		if b.crlStatus != 0 {
			w.WriteHeader(b.crlStatus)
			return
		}
		data := readPKI(s.t, strings.TrimPrefix(r.URL.Path, "/"))
		if b.crlOverride != nil && r.URL.Path == "/intermediate.crl" {
			data = b.crlOverride
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(data)
	default:
		http.NotFound(w, r)
	}
}

func (s *pkiServer) serveOCSP(w http.ResponseWriter, r *http.Request, b ocspBehaviour, base time.Time) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/ocsp-request" {
		http.Error(w, "want POST application/ocsp-request", http.StatusBadRequest)
		return
	}
	if b.httpStatus != 0 {
		w.WriteHeader(b.httpStatus)
		return
	}
	if b.oversize {
		w.Write(bytes.Repeat([]byte{0x30}, DefaultMaxOCSPResponseBytes+1))
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.HashAlgorithm != crypto.SHA256 {
		http.Error(w, "client must use SHA-256 CertIDs", http.StatusBadRequest)
		return
	}
	tmpl := ocsp.Response{SerialNumber: req.SerialNumber, Status: ocsp.Good, IssuerHash: crypto.SHA256,
		ThisUpdate: base.Add(-time.Hour), NextUpdate: base.Add(24 * time.Hour)}
	switch b.status {
	case answerUnknown:
		tmpl.Status = ocsp.Unknown
	case bySerial:
		if req.SerialNumber.Cmp(big.NewInt(serialRevokedOCSP)) == 0 {
			tmpl.Status = ocsp.Revoked
			tmpl.RevokedAt = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			tmpl.RevocationReason = ocsp.KeyCompromise
		}
	}
	if b.thisUpdate != 0 {
		tmpl.ThisUpdate = base.Add(b.thisUpdate)
	}
	if b.nextUpdate != 0 {
		tmpl.NextUpdate = base.Add(b.nextUpdate)
	}
	if b.noNext {
		tmpl.NextUpdate = time.Time{}
	}
	name, noCert := strings.CutSuffix(b.signer, "-no-cert")
	if name == "" {
		name = "responder"
	}
	kp := s.signer[name]
	if !noCert {
		tmpl.Certificate = kp.Cert
	}
	der, err := ocsp.CreateResponse(s.inter.Cert, kp.Cert, tmpl, kp.Key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

// routeTo returns a client whose requests, whatever their host, reach srv.
func routeTo(srv *httptest.Server) *http.Client {
	target, _ := url.Parse(srv.URL)
	base := srv.Client().Transport
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r2 := r.Clone(r.Context())
		r2.URL.Scheme, r2.URL.Host, r2.Host = target.Scheme, target.Host, target.Host
		return base.RoundTrip(r2)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// crlFrom makes a CRL for intermediate-ca's subject signed by signer.
func crlFrom(t *testing.T, signer *KeyPair, this, next time.Time) []byte {
	t.Helper()
	issuer := signer.Cert
	if !bytes.Equal(signer.Cert.RawSubject, loadCert(t, "intermediate-ca").RawSubject) {
		// a forger: same issuer name, wrong key
		fake := *loadCert(t, "intermediate-ca")
		fake.PublicKey = signer.Key.Public()
		issuer = &fake
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(2), ThisUpdate: this, NextUpdate: next}, issuer, signer.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRevocation(t *testing.T) {
	inter := loadKP(t, "intermediate-ca")
	tests := []struct {
		name      string
		cert      string
		purpose   Purpose
		mode      RevocationMode
		b         ocspBehaviour
		maxCRL    int64
		wantErr   error
		wantOCSP  int // requests to /ocsp
		wantCRL   int // requests to /intermediate.crl
		wantWarn  bool
		temporary bool
	}{
		{name: "good from delegated responder", cert: "mailbox-signature", wantOCSP: 1},
		{name: "good signed by issuer with its certificate", cert: "mailbox-signature", b: ocspBehaviour{signer: "issuer"}, wantOCSP: 1},
		{name: "good signed by issuer without certificate", cert: "mailbox-signature", b: ocspBehaviour{signer: "issuer-no-cert"}, wantOCSP: 1},
		{name: "revoked by ocsp", cert: "revoked-ocsp", wantErr: ErrRevoked, wantOCSP: 1},
		{name: "revoked in crl", cert: "revoked-crl", wantErr: ErrRevoked, wantCRL: 1},
		{name: "revoked in crl fails even fail-open", cert: "revoked-crl", mode: RevocationPrefer, wantErr: ErrRevoked, wantCRL: 1},
		{name: "unknown status without crl, fail-closed", cert: "revoked-ocsp", b: ocspBehaviour{status: answerUnknown}, wantErr: ErrRevocationUnavailable, wantOCSP: 1, temporary: true},
		{name: "unknown status falls back to crl", cert: "mailbox-signature", b: ocspBehaviour{status: answerUnknown}, wantOCSP: 1, wantCRL: 1},
		{name: "stale response", cert: "mailbox-signature", b: ocspBehaviour{thisUpdate: -72 * time.Hour, nextUpdate: -48 * time.Hour}, wantErr: ErrBadOCSPResponse, wantOCSP: 1},
		{name: "stale response fails even fail-open", cert: "mailbox-signature", mode: RevocationPrefer, b: ocspBehaviour{thisUpdate: -72 * time.Hour, nextUpdate: -48 * time.Hour}, wantErr: ErrBadOCSPResponse, wantOCSP: 1},
		{name: "old response without nextUpdate", cert: "mailbox-signature", b: ocspBehaviour{thisUpdate: -48 * time.Hour, noNext: true}, wantErr: ErrBadOCSPResponse, wantOCSP: 1},
		{name: "fresh response without nextUpdate", cert: "mailbox-signature", b: ocspBehaviour{thisUpdate: -time.Hour, noNext: true}, wantOCSP: 1},
		{name: "thisUpdate in the future", cert: "mailbox-signature", b: ocspBehaviour{thisUpdate: time.Hour}, wantErr: ErrBadOCSPResponse, wantOCSP: 1},
		{name: "thisUpdate within skew", cert: "mailbox-signature", b: ocspBehaviour{thisUpdate: 2 * time.Minute}, wantOCSP: 1},
		{name: "signed by sibling without OCSPSigning", cert: "revoked-ocsp", b: ocspBehaviour{signer: "sibling", status: answerGood}, wantErr: ErrOCSPSigner, wantOCSP: 1},
		{name: "signed by sibling key without certificate", cert: "revoked-ocsp", b: ocspBehaviour{signer: "sibling-no-cert", status: answerGood}, wantErr: ErrOCSPSigner, wantOCSP: 1},
		{name: "signed by delegated responder key without certificate", cert: "revoked-ocsp", b: ocspBehaviour{signer: "responder-no-cert", status: answerGood}, wantErr: ErrOCSPSigner, wantOCSP: 1},
		{name: "signed by responder of another ca", cert: "revoked-ocsp", b: ocspBehaviour{signer: "unknown-root", status: answerGood}, wantErr: ErrOCSPSigner, wantOCSP: 1},
		{name: "oversized response", cert: "mailbox-signature", b: ocspBehaviour{oversize: true}, wantErr: ErrBadOCSPResponse, wantOCSP: 1},
		{name: "responder down, crl good", cert: "mailbox-signature", b: ocspBehaviour{httpStatus: 503}, wantOCSP: 1, wantCRL: 1},
		{name: "all down fail-closed", cert: "mailbox-signature", b: ocspBehaviour{httpStatus: 503, crlStatus: 503}, wantErr: ErrRevocationUnavailable, wantOCSP: 1, wantCRL: 1, temporary: true},
		{name: "all down fail-open", cert: "mailbox-signature", mode: RevocationPrefer, b: ocspBehaviour{httpStatus: 503, crlStatus: 503}, wantOCSP: 1, wantCRL: 1, wantWarn: true},
		{name: "cipher default is fail-open", cert: "mailbox-cipher", purpose: PurposeCipher, b: ocspBehaviour{httpStatus: 503, crlStatus: 503}, wantOCSP: 1, wantCRL: 1, wantWarn: true},
		{name: "timeout is unavailable", cert: "revoked-ocsp", b: ocspBehaviour{delay: 5 * time.Second}, wantErr: ErrRevocationUnavailable, wantOCSP: 1, temporary: true},
		{name: "stale crl", cert: "revoked-crl", b: ocspBehaviour{crlOverride: crlFrom(t, inter, refTime.Add(-72*time.Hour), refTime.Add(-48*time.Hour))}, wantErr: ErrBadCRL, wantCRL: 1},
		{name: "crl from the future", cert: "revoked-crl", b: ocspBehaviour{crlOverride: crlFrom(t, inter, refTime.Add(time.Hour), refTime.Add(48*time.Hour))}, wantErr: ErrBadCRL, wantCRL: 1},
		{name: "crl signed by a forger", cert: "revoked-crl", b: ocspBehaviour{crlOverride: crlFrom(t, loadKP(t, "unknown-root-ca"), refTime.Add(-time.Hour), refTime.Add(48*time.Hour))}, wantErr: ErrBadCRL, wantCRL: 1},
		{name: "fresh crl without the serial", cert: "revoked-crl", b: ocspBehaviour{crlOverride: crlFrom(t, inter, refTime.Add(-time.Hour), refTime.Add(48*time.Hour))}, wantCRL: 1},
		{name: "oversized crl", cert: "revoked-crl", maxCRL: 100, wantErr: ErrBadCRL, wantCRL: 1},
		{name: "garbage crl", cert: "revoked-crl", b: ocspBehaviour{crlOverride: []byte("<html>captive portal</html>")}, wantErr: ErrBadCRL, wantCRL: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newPKIServer(t, tc.b)
			purpose := tc.purpose
			if purpose == 0 {
				purpose = PurposeSignature
			}
			mode := tc.mode
			if mode == RevocationDefault && purpose == PurposeSignature {
				mode = RevocationRequire
			}
			rc := &RevocationChecker{Client: routeTo(srv.srv), Timeout: 200 * time.Millisecond, MaxCRLBytes: tc.maxCRL}
			v := &Validator{Trust: testTrust(t), Now: fixedClock(refTime), Revocation: rc,
				Policy: Policy{SignatureRevocation: mode, CipherRevocation: RevocationDefault}}
			res, err := v.Validate(context.Background(), loadCert(t, tc.cert), nil, purpose)
			if failedAsWanted(t, err, tc.wantErr) {
				if Temporary(err) != tc.temporary {
					t.Fatalf("Temporary(%v) = %v", err, !tc.temporary)
				}
			} else {
				step, _ := res.Step(StepRevocation)
				if want := map[bool]Outcome{false: OutcomePassed, true: OutcomeWarning}[tc.wantWarn]; step.Outcome != want {
					t.Fatalf("revocation step %+v, want %s", step, want)
				}
			}
			if got := srv.count("/ocsp"); got != tc.wantOCSP {
				t.Errorf("OCSP requests %d, want %d", got, tc.wantOCSP)
			}
			if got := srv.count("/intermediate.crl"); got != tc.wantCRL {
				t.Errorf("CRL requests %d, want %d", got, tc.wantCRL)
			}
		})
	}
}

// TestRevocationCache: good and revoked answers are kept until their
// nextUpdate and asked again after it; failures are not cached.
func TestRevocationCache(t *testing.T) {
	srv := newPKIServer(t, ocspBehaviour{})
	rc := &RevocationChecker{Client: routeTo(srv.srv)}
	now := refTime
	v := &Validator{Trust: testTrust(t), Now: func() time.Time { return now }, Revocation: rc}
	validate := func(cert string) error {
		_, err := v.Validate(context.Background(), loadCert(t, cert), nil, PurposeSignature)
		return err
	}
	for i := 0; i < 3; i++ {
		if err := validate("mailbox-signature"); err != nil {
			t.Fatal(err)
		}
		if err := validate("revoked-ocsp"); !errors.Is(err, ErrRevoked) {
			t.Fatalf("err = %v", err)
		}
		if err := validate("revoked-crl"); !errors.Is(err, ErrRevoked) {
			t.Fatalf("err = %v", err)
		}
	}
	// one OCSP request per certificate; root.crl asked once for the intermediate
	if o, i, r := srv.count("/ocsp"), srv.count("/intermediate.crl"), srv.count("/root.crl"); o != 2 || i != 1 || r != 1 {
		t.Fatalf("requests: ocsp %d, intermediate.crl %d, root.crl %d; want 2, 1, 1", o, i, r)
	}
	now = refTime.Add(25 * time.Hour) // past the OCSP nextUpdate
	srv.mu.Lock()
	srv.base = now
	srv.mu.Unlock()
	if err := validate("mailbox-signature"); err != nil {
		t.Fatal(err)
	}
	if o := srv.count("/ocsp"); o != 3 {
		t.Fatalf("OCSP requests after nextUpdate %d, want 3", o)
	}

	srv.mu.Lock()
	srv.b.httpStatus = 503
	srv.b.crlStatus = 503
	srv.mu.Unlock()
	fresh := &RevocationChecker{Client: routeTo(srv.srv)}
	v.Revocation = fresh
	for i := 0; i < 2; i++ {
		if err := validate("revoked-ocsp"); !errors.Is(err, ErrRevocationUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	if o := srv.count("/ocsp"); o != 5 {
		t.Fatalf("failures must not be cached: OCSP requests %d, want 5", o)
	}
}

func TestRevocationWithoutChecker(t *testing.T) {
	tests := []struct {
		name    string
		mode    RevocationMode
		wantErr error
		want    Outcome
	}{
		{name: "require", mode: RevocationRequire, wantErr: ErrRevocationUnavailable},
		{name: "prefer", mode: RevocationPrefer, want: OutcomeWarning},
		{name: "off", mode: RevocationOff, want: OutcomeSkipped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &Validator{Trust: testTrust(t), Now: fixedClock(refTime), Policy: Policy{SignatureRevocation: tc.mode}}
			res, err := v.Validate(context.Background(), loadCert(t, "mailbox-signature"), nil, PurposeSignature)
			if failedAsWanted(t, err, tc.wantErr) {
				return
			}
			if step, _ := res.Step(StepRevocation); step.Outcome != tc.want {
				t.Fatalf("revocation step %+v", step)
			}
		})
	}
}

func TestRevocationNoPointers(t *testing.T) {
	rc := &RevocationChecker{}
	// the pinned certificate names neither OCSP nor CRL
	_, err := rc.Check(context.Background(), loadCert(t, "intermediary-cipher"), loadCert(t, "intermediate-ca"), refTime)
	if !errors.Is(err, ErrRevocationUnavailable) || !strings.Contains(err.Error(), "names no OCSP responder") {
		t.Fatalf("err = %v", err)
	}
}

// TestRevocationConcurrent shares one checker between goroutines (run
// with -race).
func TestRevocationConcurrent(t *testing.T) {
	srv := newPKIServer(t, ocspBehaviour{})
	v := &Validator{Trust: testTrust(t), Now: fixedClock(refTime), Revocation: &RevocationChecker{Client: routeTo(srv.srv)}}
	leafs := []string{"mailbox-signature", "intermediary-signature", "revoked-ocsp", "revoked-crl"}
	certsByName := map[string]*x509.Certificate{}
	for _, n := range leafs {
		certsByName[n] = loadCert(t, n)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			_, err := v.Validate(context.Background(), certsByName[n], nil, PurposeSignature)
			if revoked := strings.HasPrefix(n, "revoked"); revoked != errors.Is(err, ErrRevoked) || (!revoked && err != nil) {
				errs <- err
			}
		}(leafs[i%len(leafs)])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected result: %v", err)
	}
}

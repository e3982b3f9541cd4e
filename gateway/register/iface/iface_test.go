package iface_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/iface"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/registersim"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// pki makes a CA, a server certificate for 127.0.0.1 and the authority's
// client certificate as a PKCS#12 file (mode 0600).
func pki(t *testing.T) (ca *x509.Certificate, server tls.Certificate, p12 string) {
	t.Helper()
	now := time.Now()
	caKey, ca := certstest.Issue(t, nil, nil, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Register Test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil)
	srvKey, srv := certstest.Issue(t, caKey, ca, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "register"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, nil)
	clKey, cl := certstest.Issue(t, caKey, ca, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "Stadt Erkelenz Vergabestelle"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, nil)
	data, err := pkcs12.Modern.Encode(clKey, cl, []*x509.Certificate{ca}, "geheim")
	if err != nil {
		t.Fatal(err)
	}
	p12 = filepath.Join(t.TempDir(), "vergabe.p12")
	if err := os.WriteFile(p12, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return ca, tls.Certificate{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey}, p12
}

type env struct {
	sim    *registersim.Server
	reg    *register.Register
	poller *register.Poller
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ca, srvCert, p12 := pki(t)
	sim := &registersim.Server{RequireClientCert: true}
	ts := httptest.NewUnstartedServer(sim)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	id, err := certs.LoadPKCS12(p12, "geheim")
	if err != nil {
		t.Fatal(err)
	}
	client, err := iface.New(iface.Config{BaseURL: ts.URL, Identity: id, Roots: pool, Retries: 1, RetryWaitMax: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{sim: sim, now: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	e.reg, err = register.New(st, func() time.Time { return e.now }, nil, register.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e.poller = &register.Poller{Register: e.reg, Adapter: client, Interval: time.Minute,
		Policy: mailbox.RetryPolicy{Initial: time.Minute, Factor: 2, Max: 10 * time.Minute}}
	return e
}

func (e *env) procedure(t *testing.T, number string, vats ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.reg.CreateProcedure(ctx, register.NewProcedure{Number: number, Description: "Straßenbau", Value: 100_000_00, Kind: register.KindPublic}, "clerk"); err != nil {
		t.Fatal(err)
	}
	var cs []register.Company
	for _, v := range vats {
		cs = append(cs, register.Company{Name: "Firma " + v, Address: "Markt 1, Erkelenz", VATID: v})
	}
	if _, err := e.reg.SetBidder(ctx, number, "", cs, "clerk"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Query(ctx, number, register.QueryRequest{Channel: register.ChannelInterface,
		Confirmation: register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true}}, "clerk"); err != nil {
		t.Fatal(err)
	}
}

// run makes rounds while the poller has work due now.
func (e *env) run(t *testing.T) {
	t.Helper()
	for i := 0; i < 10; i++ {
		n, err := e.poller.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func (e *env) queries(t *testing.T, number string) []register.Query {
	t.Helper()
	p, err := e.reg.Store.Procedure(context.Background(), number)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := e.reg.Store.Queries(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func TestImmediateAnswersWithAndWithoutEntries(t *testing.T) {
	e := newEnv(t)
	e.sim.SetOutcome("DE200000002", registersim.Outcome{Entries: true})
	e.procedure(t, "VG-1", "DE100000001", "DE200000002")
	e.run(t)
	qs := e.queries(t, "VG-1")
	for i, q := range qs {
		if q.State != register.QueryAnswered {
			t.Fatalf("query %d %s: %s", q.ID, q.State, q.LastError)
		}
		a, data, err := e.reg.ReadAnswer(context.Background(), q.AnswerID, "clerk")
		if err != nil || a.HasEntries != (i == 1) || !strings.HasPrefix(string(data), "%PDF-") {
			t.Fatalf("answer %d: %+v %v", q.AnswerID, a, err)
		}
	}
	wire, _ := e.sim.Query(qs[0].Ref)
	if wire.Bestaetigung.Text != register.ConfirmationText || wire.Verfahren.Aktenzeichen != "VG-1" || wire.Unternehmen.UStIdNr != "DE100000001" {
		t.Fatalf("the register received %+v", wire)
	}
	if g, _ := e.reg.Gate(context.Background(), "VG-1", "clerk"); g.MayProceed {
		t.Fatalf("gate open with an unassessed entry: %+v", g)
	}
}

func TestDelayedAnswerPickedUpByPolling(t *testing.T) {
	e := newEnv(t)
	e.sim.SetOutcome("DE100000001", registersim.Outcome{Polls: 2})
	e.procedure(t, "VG-2", "DE100000001")
	e.run(t)
	if q := e.queries(t, "VG-2")[0]; q.State != register.QueryPending || q.Ref == "" {
		t.Fatalf("after the first rounds: %+v", q)
	}
	e.run(t) // not due yet: no request
	before := e.sim.Requests()
	e.run(t)
	if e.sim.Requests() != before {
		t.Fatal("polled before the interval")
	}
	for i := 0; i < 2; i++ {
		e.now = e.now.Add(time.Minute)
		e.run(t)
	}
	q := e.queries(t, "VG-2")[0]
	if q.State != register.QueryAnswered || q.AnswerID == 0 {
		t.Fatalf("after polling: %+v", q)
	}
	if e.sim.Queries() != 1 {
		t.Fatalf("the register made %d queries", e.sim.Queries())
	}
}

func TestOutageRetriedWithoutASecondQuery(t *testing.T) {
	e := newEnv(t)
	e.procedure(t, "VG-3", "DE100000001")
	// The register makes the query but the answers are lost, on every
	// try of the first call (retryablehttp repeats it once).
	e.sim.DropResponses(2)
	e.run(t)
	q := e.queries(t, "VG-3")[0]
	if q.State != register.QueryToSend || q.LastError == "" || !q.NextAttemptAt.After(e.now) {
		t.Fatalf("after the outage: %+v", q)
	}
	// Then the register is down altogether for a while.
	e.sim.Down(2)
	e.now = q.NextAttemptAt
	e.run(t)
	q = e.queries(t, "VG-3")[0]
	if q.State != register.QueryToSend {
		t.Fatalf("during the outage: %+v", q)
	}
	e.now = q.NextAttemptAt
	e.run(t)
	q = e.queries(t, "VG-3")[0]
	if q.State != register.QueryAnswered {
		t.Fatalf("after the outage: %+v", q)
	}
	if e.sim.Queries() != 1 {
		t.Fatalf("the register made %d queries, want 1", e.sim.Queries())
	}
	if q.Attempts < 3 {
		t.Fatalf("attempts %d", q.Attempts)
	}
}

func TestRefusalIsPermanentAndJournaled(t *testing.T) {
	e := newEnv(t)
	e.sim.SetOutcome("DE100000001", registersim.Outcome{Refuse: "Abfrageberechtigung fehlt"})
	e.procedure(t, "VG-4", "DE100000001")
	e.run(t)
	q := e.queries(t, "VG-4")[0]
	if q.State != register.QueryRefused || !strings.Contains(q.LastError, "Abfrageberechtigung") {
		t.Fatalf("%+v", q)
	}
	e.now = e.now.Add(24 * time.Hour)
	before := e.sim.Requests()
	e.run(t)
	if e.sim.Requests() != before {
		t.Fatal("a refused query was tried again")
	}
	log, _ := e.reg.Log(context.Background(), "VG-4")
	if log[len(log)-1].Kind != "query_refused" {
		t.Fatalf("last entry %+v", log[len(log)-1])
	}
}

func TestClientRefusesPlainHTTPAndMissingCertificate(t *testing.T) {
	if _, err := iface.New(iface.Config{BaseURL: "http://register.example/"}); !errors.Is(err, iface.ErrInsecureURL) {
		t.Fatalf("plain http: %v", err)
	}
	if _, err := iface.New(iface.Config{BaseURL: "https://register.example/"}); err == nil {
		t.Fatal("https without a client certificate accepted")
	}
}

func TestRegisterRefusesAClientWithoutCertificate(t *testing.T) {
	sim := &registersim.Server{RequireClientCert: true}
	ts := httptest.NewTLSServer(sim)
	defer ts.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	_, srvCert, p12 := pki(t)
	_ = srvCert
	id, err := certs.LoadPKCS12(p12, "geheim")
	if err != nil {
		t.Fatal(err)
	}
	// The server does not ask for a certificate, so none is sent: the
	// simulated register refuses, and the refusal is permanent.
	c, err := iface.New(iface.Config{BaseURL: ts.URL, Identity: id, Roots: pool})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(context.Background(), register.AdapterRequest{Key: "k"})
	if err == nil || register.IsPermanent(err) || sim.Queries() != 0 {
		t.Fatalf("got %v, queries %d", err, sim.Queries())
	}
}

package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/notify"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// Personal data a received test message carries; no notification may.
const (
	caseNumber = "12 O 345/26"
	senderName = "Landgericht Aachen, Richterin Mustermann"
	subject    = "Ladung zum Termin " + caseNumber
	userEmail  = "maria.muster@stadt.example"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// env is a real message store and queue database in one data directory,
// with a service whose recipients are one user of mailbox "rechtsamt".
type env struct {
	dir   string
	mail  *sqlite.Store
	queue *notify.Store
	clock *certstest.Clock
	logs  *observer.ObservedLogs
	log   *zap.Logger
	subs  []notify.Subscriber
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: certstest.NewClock(t0, 0)}
	var err error
	if e.mail, err = sqlite.Open(context.Background(), filepath.Join(e.dir, sqlite.FileName), sqlite.Options{Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.mail.Close() })
	e.openQueue(t)
	core, logs := observer.New(zapcore.InfoLevel)
	e.logs, e.log = logs, zap.New(core)
	e.subs = []notify.Subscriber{{User: "mmuster", Email: userEmail}}
	return e
}

func (e *env) openQueue(t *testing.T) {
	t.Helper()
	q, err := notify.Open(context.Background(), filepath.Join(e.dir, notify.FileName))
	if err != nil {
		t.Fatal(err)
	}
	e.queue = q
	t.Cleanup(func() { q.Close() })
}

// newMailEnv is newEnv with a mail server (offering STARTTLS when withTLS)
// and a service that mails through it, its first round done: it follows
// the journal from its end.
func newMailEnv(t *testing.T, withTLS bool) (*env, *mailServer, *notify.Service) {
	t.Helper()
	e := newEnv(t)
	ms := startMailServer(t, withTLS)
	s := e.service(t, notify.Config{Mailer: ms.mailer()})
	follow(t, s)
	return e, ms, s
}

func (e *env) service(t *testing.T, c notify.Config) *notify.Service {
	t.Helper()
	c.Store, c.Mail, c.Now, c.Logger = e.queue, e.mail, e.clock.Now, e.log
	c.Links = notify.Links{BaseURL: "https://gateway.stadt.example/"}
	c.Recipients = notify.RecipientsFunc(func(_ context.Context, mb string, _ notify.Kind) ([]notify.Subscriber, error) {
		if mb != "rechtsamt" {
			return nil, nil
		}
		return e.subs, nil
	})
	c.Policy = mailbox.RetryPolicy{Initial: time.Minute, Factor: 2, Max: time.Hour, Lifetime: 24 * time.Hour}
	s, err := notify.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// receive stores an incoming message for mailbox and moves it to the
// state the intake engine would (intake_pending or quarantined).
func (e *env) receive(t *testing.T, mb, osciID string, to mailbox.State) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	docs := []mailbox.Document{{Role: mailbox.RoleDocument, Name: "Ladung.pdf", SHA256: strings.Repeat("ab", 32), Size: 10}}
	m, err := e.mail.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: mb, OSCIMessageID: osciID, ContentSHA256: mailbox.IncomingDigest(docs),
		Sender: senderName, Recipient: "DE.BeBPo.erkelenz", Subject: subject, Documents: docs, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return apitest.MoveIncoming(t, e.mail, m.ID, to, e.clock.Now())
}

// follow runs Follow to the end of the journals.
func follow(t *testing.T, s *notify.Service) {
	t.Helper()
	for more := true; more; {
		var err error
		if more, err = s.Follow(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func jobs(t *testing.T, q *notify.Store, state string) []notify.Job {
	t.Helper()
	js, err := q.Jobs(context.Background(), state)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// mailServer is a go-smtp server that refuses MAIL before STARTTLS and
// answers RCPT from a script (nil: accept).
type mailServer struct {
	addr  string
	roots *x509.CertPool

	mu    sync.Mutex
	rcpt  []error // next answers to RCPT, in order
	mails [][]byte
	plain int // MAIL commands refused for want of TLS
}

func startMailServer(t *testing.T, withTLS bool) *mailServer {
	t.Helper()
	caKey, caCert := certstest.PKIKey(t, "intermediate-ca")
	_, root := certstest.PKIKey(t, "root-ca")
	key, cert := certstest.Issue(t, caKey, caCert, &x509.Certificate{SerialNumber: bigOne(), Subject: pkix.Name{CommonName: "mail.stadt.example"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, nil)
	ms := &mailServer{roots: x509.NewCertPool()}
	ms.roots.AddCert(root)
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) { return &mailSession{s: ms, c: c}, nil }))
	srv.Domain = "mail.stadt.example"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw, caCert.Raw}, PrivateKey: key}}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ms
}

func (ms *mailServer) script(errs ...error) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	ms.rcpt = append(ms.rcpt, errs...)
}

func (ms *mailServer) received() [][]byte {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([][]byte(nil), ms.mails...)
}

func (ms *mailServer) mailer() *notify.Mailer {
	return &notify.Mailer{Addr: ms.addr, From: "gateway@stadt.example", RequireSTARTTLS: true,
		TLS: &tls.Config{RootCAs: ms.roots}, HelloName: "gateway.stadt.example", Timeout: 10 * time.Second}
}

type mailSession struct {
	s *mailServer
	c *gosmtp.Conn
}

func (m *mailSession) Reset()        {}
func (m *mailSession) Logout() error { return nil }

func (m *mailSession) Mail(string, *gosmtp.MailOptions) error {
	if _, ok := m.c.TLSConnectionState(); !ok {
		m.s.mu.Lock()
		m.s.plain++
		m.s.mu.Unlock()
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	return nil
}

func (m *mailSession) Rcpt(string, *gosmtp.RcptOptions) error {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if len(m.s.rcpt) == 0 {
		return nil
	}
	err := m.s.rcpt[0]
	m.s.rcpt = m.s.rcpt[1:]
	return err
}

func (m *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	m.s.mails = append(m.s.mails, b)
	return nil
}

// linesWith returns the log lines whose message contains msg.
func linesWith(logs *observer.ObservedLogs, msg string) []observer.LoggedEntry {
	var out []observer.LoggedEntry
	for _, l := range logs.All() {
		if strings.Contains(l.Message, msg) {
			out = append(out, l)
		}
	}
	return out
}

// assertNoPersonalData fails when b holds any of the message's personal
// data.
func assertNoPersonalData(t *testing.T, what string, b []byte) {
	t.Helper()
	for _, s := range []string{caseNumber, "345/26", senderName, "Mustermann", "Ladung", subject} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s carries %q:\n%s", what, s, b)
		}
	}
}

func bigOne() *big.Int { return big.NewInt(7001) }

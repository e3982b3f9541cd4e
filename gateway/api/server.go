package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/metrics"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// PollStatus tells readiness how each mailbox's last poll went; the daemon
// implements it.
type PollStatus interface {
	LastPoll(mailbox string) (ok bool, at time.Time)
}

// Mailbox is one of our mailboxes as the API knows it.
type Mailbox struct {
	Name         string
	SafeID       string
	PollInterval time.Duration
	// Organisation names the mailbox as the sender of XJustiz records
	// (its business card's organisation); empty: its name.
	Organisation string
}

// Limits bound what a request may cost. Zero fields take the defaults.
type Limits struct {
	Submit         submit.Limits
	MaxJSONBytes   int64 // JSON request bodies; default 1 MiB
	MaxImportBytes int64 // address book import files; default 16 MiB
	PageLimit      int   // default page size of lists; default 50 (max 500)
	// MaxUploadBytes bounds the bytes of the submissions (POST
	// /v1/messages) being uploaded at once; default 256 MiB. Past it a
	// submission is answered 503 with Retry-After, unless it is at most
	// SmallUploadBytes (default 1 MiB) or nothing else is in flight.
	MaxUploadBytes   int64
	SmallUploadBytes int64
	// PollStaleAfter is how many poll intervals may pass without a
	// successful poll before /readyz fails; default 3 (at least 1 minute).
	PollStaleAfter int
	// AuditInterval is how often refused unauthenticated requests are
	// journaled as one summary; default 1 minute.
	AuditInterval time.Duration
}

func (l Limits) withDefaults() Limits {
	l.Submit = l.Submit.WithDefaults()
	return limit.Fill(l, Limits{MaxJSONBytes: 1 << 20, MaxImportBytes: 16 << 20, PageLimit: 50,
		MaxUploadBytes: 256 << 20, SmallUploadBytes: 1 << 20, PollStaleAfter: 3, AuditInterval: time.Minute})
}

// Deps is everything the admin API needs; the daemon builds it.
type Deps struct {
	Store       mailbox.Store
	Blobs       mailbox.BlobStore
	AddressBook *addressbook.Book
	// DataDir is the gateway's data directory; the readiness write probe
	// runs in it.
	DataDir   string
	Mailboxes []Mailbox
	// Tokens authenticate bearer requests; client certificates verified by
	// the TLS layer (APITLSConfig) authenticate too.
	Tokens *TokenSet
	Logger *zap.Logger // nil: no logging
	Poll   PollStatus  // nil: no mailbox counts as polled
	// Reprocessor returns the bridge that reads a parked delivery of one
	// of our mailboxes again (POST /v1/messages/{id}/reprocess); nil: the
	// route answers 503.
	Reprocessor func(mailbox string) (mailbox.Reprocessor, error)
	// Intermediaries tells each configured intermediary's health (GET
	// /v1/intermediaries, the status and the metrics); nil: none shown.
	Intermediaries func() []intermediaries.View
	// DocumentSignatures verifies the documents' own signatures of a
	// message to a court before it is queued, with the trust in force
	// (submit.Config.DocumentSignatures); nil: not checked.
	DocumentSignatures func() (*docsig.Verifier, error)
	// Register is the Wettbewerbsregister workflow (/v1/register/...,
	// procurement role only); nil: those routes answer 503.
	Register *register.Register
	Now      func() time.Time
	Limits   Limits
	// EEB serves the eEB tasks and the courts' answers (/v1/eeb/...,
	// messages, status); nil: those routes answer 503.
	EEB *eeb.Service
}

// Server is the admin HTTP API. It is a value the daemon constructs and
// serves; it holds no goroutines of its own.
type Server struct {
	d       Deps
	lim     Limits
	mux     *http.ServeMux
	sub     *submit.Submitter
	uploads *UploadBudget
	m       *metrics.Gateway
	metrics http.Handler
	ref     refusedCounts
	// routes are the patterns registered, in order.
	routes []string
}

// New builds the API server.
func New(d Deps) (*Server, error) {
	if d.Store == nil || d.Blobs == nil || d.AddressBook == nil || d.DataDir == "" || len(d.Mailboxes) == 0 {
		return nil, errors.New("api: server needs store, blobs, address book, data directory and mailboxes")
	}
	if d.Tokens == nil {
		d.Tokens = &TokenSet{}
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	lim := d.Limits.withDefaults()
	names := make([]string, len(d.Mailboxes))
	senders := map[string]string{}
	for i, m := range d.Mailboxes {
		names[i] = m.Name
		if m.Organisation != "" {
			senders[m.Name] = m.Organisation
		}
	}
	// The ERVB pre-flight spools what it must read twice beside the
	// gateway's other spools, never in a shared temporary directory.
	spool := ""
	if d.DataDir != "" {
		spool = filepath.Join(d.DataDir, "spool")
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("api: spool: %w", err)
		}
	}
	sub, err := submit.New(submit.Config{Store: d.Store, Blobs: d.Blobs, AddressBook: d.AddressBook,
		Mailboxes: names, Senders: senders, Limits: lim.Submit, Now: d.Now, TempDir: spool,
		DocumentSignatures: d.DocumentSignatures})
	if err != nil {
		return nil, err
	}
	s := &Server{d: d, lim: lim, mux: http.NewServeMux(), sub: sub, uploads: NewUploadBudget(lim.MaxUploadBytes, lim.SmallUploadBytes)}
	s.m = metrics.NewGateway(d.Store)
	s.metrics = s.m.Handler(d.Logger)
	if d.Intermediaries != nil {
		s.m.WatchIntermediaries(d.Intermediaries)
	}
	s.m.WatchDirectory(func() []addressbook.ExpirySummary { return d.AddressBook.Expiries(d.Now()) })
	s.register()
	return s, nil
}

// Uploads returns the upload byte budget, which the outgoing folder
// shares by waiting for it.
func (s *Server) Uploads() *UploadBudget { return s.uploads }

// Submitter returns the submission path, for the outgoing folder.
func (s *Server) Submitter() *submit.Submitter { return s.sub }

// Metrics returns the hooks the daemon reports polls, intermediary errors,
// fetch notices and certificate expiry through.
func (s *Server) Metrics() *metrics.Gateway { return s.m }

// apiHandler is a route; an error it returns is answered as problem+json.
type apiHandler func(w http.ResponseWriter, r *http.Request) error

// Routes returns the patterns of every route the server serves
// ("GET /v1/messages/{id}"), in the order they were registered.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Route returns the pattern of the route r matches, "" for none (an
// unknown path, or a method the path does not allow).
func (s *Server) Route(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	return pattern
}

func (s *Server) register() {
	s.public("GET /healthz", s.getHealthz)
	s.public("GET /readyz", s.getReadyz)
	s.public("GET /metrics", s.getMetrics)

	s.private("POST /v1/messages", s.postMessage)
	s.private("GET /v1/messages", s.listMessages)
	s.private("GET /v1/messages/{id}", s.getMessage)
	s.private("GET /v1/messages/{id}/documents/{n}", s.getDocument)
	s.private("POST /v1/messages/{id}/requeue", s.operate(mailbox.OpRequeue))
	s.private("POST /v1/messages/{id}/hold", s.operate(mailbox.OpHold))
	s.private("POST /v1/messages/{id}/release", s.operate(mailbox.OpRelease))
	s.private("POST /v1/messages/{id}/delete", s.operate(mailbox.OpDelete))
	s.private("POST /v1/messages/{id}/reprocess", s.reprocess)
	s.private("POST /v1/mailboxes/{mailbox}/fetches/{osciMessageId}/clear", s.clearFetch)
	s.private("GET /v1/status", s.getStatus)
	s.private("GET /v1/intermediaries", s.getIntermediaries)
	s.private("GET /v1/messages/{id}/evidence", s.getEvidence)
	s.private("GET /v1/eeb/tasks", s.eebRoute(s.listTasks))
	s.private("GET /v1/eeb/tasks/{task}", s.eebRoute(s.getTask))
	s.private("POST /v1/eeb/tasks/{task}/acknowledge", s.eebRoute(s.acknowledgeTask))
	s.private("POST /v1/eeb/tasks/{task}/reject", s.eebRoute(s.rejectTask))
	s.private("GET /v1/eeb/replies", s.eebRoute(s.listReplies))

	s.private("GET /v1/addressbook", s.listAddresses)
	s.private("POST /v1/addressbook", s.postAddress)
	s.private("POST /v1/addressbook/import", s.importAddresses)
	s.private("GET /v1/addressbook/{safeId}", s.getAddress)
	s.private("PUT /v1/addressbook/{safeId}", s.putAddress)
	s.private("DELETE /v1/addressbook/{safeId}", s.deleteAddress)

	s.registerRoutes()
}

// public routes carry no message data: health, readiness, metrics. They
// are not authenticated (probes and scrapers reach them on the loopback
// interface) and not journaled (they would flood the journal).
func (s *Server) public(pattern string, h apiHandler) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

// private routes need a principal and are journaled.
func (s *Server) private(pattern string, h apiHandler) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		actor := s.authenticate(rec, r)
		if actor == "" {
			return
		}
		// Deferred so that a download cut off on purpose (http.ErrAbortHandler) is journaled too.
		defer func() { s.audit(r, actor, rec.status()) }()
		if err := h(rec, r); err != nil {
			s.fail(rec, r, err)
		}
	}))
}

// authenticate returns the principal r's credentials name. Without valid
// credentials it answers 401, journals the refusal and returns "".
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) string {
	actor := s.d.Tokens.principal(r)
	if actor == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bebpo-gateway"`)
		writeProblem(w, http.StatusUnauthorized, "a valid bearer token or client certificate is required", "Authorization")
		s.refused(r, http.StatusUnauthorized)
	}
	return actor
}

// Handler returns the API's HTTP handler. Requests no route matches get a
// problem+json 404 or 405 (after authentication, so unauthenticated
// callers learn nothing about the routes). Every request is counted in
// the metrics by its route pattern, method and status, once, however it
// ended (a download cut off on purpose included).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The duration is measured on the monotonic clock, not Deps.Now:
		// it is only reported, and must not move an injected test clock.
		start := time.Now()
		pattern := s.Route(r)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() { s.m.Request(metrics.RoutePath(pattern), r.Method, rec.status(), time.Since(start)) }()
		s.serve(rec, r, pattern)
	})
}

// serve routes r; pattern is the route it matches, "" for none.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, pattern string) {
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	actor := s.authenticate(w, r)
	if actor == "" {
		return
	}
	probe := &statusRecorder{ResponseWriter: discardWriter{h: http.Header{}}}
	s.mux.ServeHTTP(probe, r)
	status := probe.status()
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.Header().Get("Allow"))
		writeProblem(w, status, fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path), "method")
	} else {
		status = http.StatusNotFound
		writeProblem(w, status, fmt.Sprintf("no resource at %s", r.URL.Path), "path")
	}
	s.audit(r, actor, status)
}

// unauthenticatedActor tells a request without credentials from one with
// credentials that did not match (a wrong or revoked token), for the audit.
func unauthenticatedActor(r *http.Request) string {
	if r.Header.Get("Authorization") != "" {
		return "invalid-credentials"
	}
	return "anonymous"
}

// maxAuditPath bounds the request path a journal entry keeps.
const maxAuditPath = 256

// auditPath is the request path as the journal keeps it: at most
// maxAuditPath bytes, cut at a character boundary and marked.
func auditPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if len(p) <= maxAuditPath {
		return p
	}
	cut := maxAuditPath
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "…(" + strconv.Itoa(len(p)) + " bytes)"
}

// audit journals who did what with which outcome: never bodies or tokens.
func (s *Server) audit(r *http.Request, actor string, status int) {
	var id int64
	if v := r.PathValue("id"); v != "" {
		id, _ = strconv.ParseInt(v, 10, 64)
	}
	s.journal(r.Context(), mailbox.EventInput{At: s.d.Now(), MessageID: id, Kind: "api", Detail: map[string]string{
		"actor": actor, "method": r.Method, "path": auditPath(r), "status": strconv.Itoa(status)}})
}

func (s *Server) journal(ctx context.Context, e mailbox.EventInput) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.d.Store.Append(ctx, e); err != nil {
		s.d.Logger.Error("api audit entry not journaled", zap.Error(err), zap.String("kind", e.Kind))
	}
}

// refused counts a request without valid credentials. Anyone who reaches
// the API can send those, so they are not journaled one by one: they are
// counted by kind and status, with a few truncated sample paths, and
// journaled and logged as one summary per AuditInterval (FlushRefused).
// What unauthenticated callers can make the gateway store is thereby
// bounded by time, not by how many requests they send.
func (s *Server) refused(r *http.Request, status int) {
	s.ref.mu.Lock()
	key := unauthenticatedActor(r) + " " + strconv.Itoa(status)
	if s.ref.counts == nil {
		s.ref.counts, s.ref.since = map[string]int{}, s.d.Now()
	}
	s.ref.counts[key]++
	if len(s.ref.samples) < maxRefusedSamples {
		s.ref.samples = append(s.ref.samples, r.Method+" "+auditPath(r))
	}
	due := s.d.Now().Sub(s.ref.since) >= s.lim.AuditInterval
	s.ref.mu.Unlock()
	if due {
		s.FlushRefused(r.Context())
	}
}

// maxRefusedSamples bounds the sample paths of one summary.
const maxRefusedSamples = 5

// refusedCounts is the summary of unauthenticated requests being built.
type refusedCounts struct {
	mu      sync.Mutex
	since   time.Time
	counts  map[string]int // "anonymous 401" → n
	samples []string
}

// FlushRefused journals and logs the summary of unauthenticated requests
// counted since the last flush, if there were any. The daemon calls it
// every AuditInterval and when it stops.
func (s *Server) FlushRefused(ctx context.Context) {
	s.ref.mu.Lock()
	counts, samples, since := s.ref.counts, s.ref.samples, s.ref.since
	s.ref.counts, s.ref.samples = nil, nil
	s.ref.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	detail := map[string]string{"since": since.UTC().Format(time.RFC3339), "samples": strings.Join(samples, "\n")}
	total := 0
	keys := make([]string, 0, len(counts))
	for k, n := range counts {
		detail[k] = strconv.Itoa(n)
		total += n
		keys = append(keys, k)
	}
	detail["total"] = strconv.Itoa(total)
	s.journal(ctx, mailbox.EventInput{At: s.d.Now(), Kind: "api_refused", Detail: detail})
	s.d.Logger.Warn("api requests refused for missing or invalid credentials", zap.Int("count", total),
		zap.Strings("kinds", keys), zap.Time("since", since))
}

// HTTPServer returns an http.Server for the API with the timeouts and
// header limits set; tlsCfg may be nil (loopback without TLS).
func (s *Server) HTTPServer(addr string, tlsCfg *tls.Config) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// Uploads of up to 200 MB and downloads over slow links.
		ReadTimeout:    15 * time.Minute,
		WriteTimeout:   15 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       zap.NewStdLog(s.d.Logger.Named("http")),
	}
}

// TLSConfig builds the server TLS configuration from the api section:
// nil without tls_cert; with client_ca, client certificates are verified
// against it when offered (bearer tokens keep working).
func TLSConfig(c config.APIConfig) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	// The key file is refused when group or others may read it, like
	// every key of the gateway.
	keyPEM, err := certs.ReadSecretFile(c.TLSKey, false)
	if err != nil {
		return nil, fmt.Errorf("api: TLS key: %w", err)
	}
	certPEM, err := os.ReadFile(c.TLSCert)
	if err != nil {
		return nil, fmt.Errorf("api: TLS certificate: %w", err)
	}
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("api: TLS key pair: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{kp}}
	if c.ClientCA != "" {
		pem, err := os.ReadFile(c.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("api: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("api: client CA %s holds no PEM certificate", c.ClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func (s *Server) getMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metrics.ServeHTTP(w, r)
	return nil
}

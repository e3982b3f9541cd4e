package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite/sqlitetest"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// T0 is inside the validity of the test PKI (testdata/pki).
var T0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	Token     = "ops-token-0123456789abcdef"
	Recipient = "DE.Justiz.3e8f3c7a-0d0c-4f6e-9a51-2f1d8c0b7a11.1234"
	Mailbox   = "stadt"
)

// RepoRoot walks up from the package directory to the one holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	return certstest.RepoRoot(t)
}

// PKIPEM reads a certificate of the test PKI.
func PKIPEM(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(certstest.PKIPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// PollMap is an api.PollStatus as the daemon reports it: last outcome per mailbox.
type PollMap struct {
	mu sync.Mutex
	m  map[string]pollEntry
}

type pollEntry struct {
	ok bool
	at time.Time
}

func (p *PollMap) LastPoll(mb string) (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.m[mb]
	return e.ok, e.at
}

func (p *PollMap) Set(mb string, ok bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]pollEntry{}
	}
	p.m[mb] = pollEntry{ok, at}
}

// Env is a running API on a real SQLite store and blob store.
type Env struct {
	Dir   string
	Store *sqlite.Store
	Blobs *mailbox.Blobs
	Book  *addressbook.Book
	Srv   *api.Server
	TS    *httptest.Server
	Clock *certstest.Clock
	Poll  *PollMap
	// EEB, its codec, and Register are set by WithEEB and WithRegister.
	EEB      *eeb.Service
	Codec    *xjustiz.Codec
	Register *register.Register
}

// NewEnv starts the API (limits lim) on fresh stores in a temporary
// directory; everything is closed when the test ends.
func NewEnv(t testing.TB, lim api.Limits, opts ...Option) *Env {
	t.Helper()
	dir := t.TempDir()
	clock := certstest.NewClock(T0, time.Millisecond) // distinct creation times
	var o options
	for _, f := range opts {
		f(&o)
	}
	st, blobs, book := OpenStores(t, dir, clock.Now, o.book...)
	tokens := "ops:" + Token + "\n"
	if o.register || o.procurement {
		tokens += "vergabe:" + ProcurementToken + ":" + api.RoleProcurement + "\n"
	}
	toks := LoadTokens(t, dir, tokens)
	poll := &PollMap{}
	e := &Env{Dir: dir, Store: st, Blobs: blobs, Book: book, Clock: clock, Poll: poll}
	mailboxes := []api.Mailbox{{Name: Mailbox, SafeID: "DE.BeBPo.erkelenz", PollInterval: time.Minute}, {Name: "ordnungsamt", PollInterval: time.Minute}}
	if o.eeb {
		e.openEEB(t, mailboxes)
	}
	if o.register {
		e.Register = OpenRegister(t, dir, clock.Now)
	}
	srv, err := api.New(api.Deps{Logger: o.logger, Store: st, Blobs: blobs, AddressBook: book, DataDir: dir,
		Mailboxes: mailboxes, Tokens: toks, Poll: poll, Now: clock.Now, Limits: lim, Reprocessor: o.reprocessor,
		EEB: e.EEB, Register: e.Register})
	if err != nil {
		t.Fatal(err)
	}
	e.Srv = srv
	e.TS = httptest.NewServer(srv.Handler())
	t.Cleanup(e.TS.Close)
	return e
}

// OpenStores opens the SQLite store, the blob store (OpenMail) and the
// address book in dir (with bookOpts), as a data directory holds them.
func OpenStores(t testing.TB, dir string, now func() time.Time, bookOpts ...addressbook.Option) (*sqlite.Store, *mailbox.Blobs, *addressbook.Book) {
	t.Helper()
	st, blobs := OpenMail(t, dir, now)
	book, err := addressbook.Open(filepath.Join(dir, config.AddressBookFile), now, bookOpts...)
	if err != nil {
		t.Fatal(err)
	}
	return st, blobs, book
}

// OpenMail opens the SQLite store and the blob store in dir as the
// daemon does; closed when the test ends.
func OpenMail(t testing.TB, dir string, now func() time.Time) (*sqlite.Store, *mailbox.Blobs) {
	t.Helper()
	return sqlitetest.Open(t, dir, now)
}

// LoadTokens writes content as the tokens file dir/tokens (mode 0600)
// and loads it.
func LoadTokens(t testing.TB, dir, content string) *api.TokenSet {
	t.Helper()
	path := filepath.Join(dir, "tokens")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	toks, err := api.LoadTokens(path, false)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// AddRecipient puts the test recipient (self-signed pinned cipher
// certificate) into the address book.
func (e *Env) AddRecipient(t testing.TB) {
	t.Helper()
	if _, err := e.Book.Add(context.Background(), addressbook.Recipient{SafeID: Recipient, Name: "Amtsgericht Erkelenz",
		CipherCert: PKIPEM(t, "intermediary-cipher.pem")}); err != nil {
		t.Fatal(err)
	}
}

// Do sends a request with the test token.
func (e *Env) Do(t testing.TB, method, path string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.TS.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.TS.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// DoJSON sends JSON and decodes the answer into out (if not nil).
func (e *Env) DoJSON(t testing.TB, method, path string, in, out any) *http.Response {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	resp := e.Do(t, method, path, body, map[string]string{"Content-Type": "application/json"})
	if out != nil && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

// MessageCount returns how many messages the store holds.
func (e *Env) MessageCount(t testing.TB) int {
	t.Helper()
	ms, err := e.Store.List(context.Background(), mailbox.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// BlobTemps returns the temporary files left in the blob store.
func (e *Env) BlobTemps(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.Dir, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	return out
}

// Doc is one document of a MultipartBody.
type Doc struct {
	Name, Content string
}

// MultipartBody builds a POST /v1/messages body; msg is JSON-encoded
// unless it is a string (sent as is); a nil msg sends no message part.
func MultipartBody(t testing.TB, msg any, docs ...Doc) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if msg != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="message"`)
		h.Set("Content-Type", "application/json")
		w, _ := mw.CreatePart(h)
		if s, ok := msg.(string); ok {
			io.WriteString(w, s)
		} else {
			json.NewEncoder(w).Encode(msg)
		}
	}
	for _, d := range docs {
		w, err := mw.CreateFormFile("document", d.Name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, d.Content)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// ProblemOf decodes a problem+json answer and checks its media type.
func ProblemOf(t testing.TB, resp *http.Response) api.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json", resp.StatusCode, ct)
	}
	var p api.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// OKMessage is a valid request to the test recipient.
func OKMessage() submit.MessageRequest {
	return submit.MessageRequest{To: Recipient, Subject: "Az. 12 C 345/26 Klageerwiderung", CaseNumberRecipient: "12 C 345/26"}
}

// SubmitN submits n messages with one document each ("Dok_<i>.pdf" holding
// "content <i>") through the API and returns their ids.
func (e *Env) SubmitN(t testing.TB, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := 0; i < n; i++ {
		body, ct := MultipartBody(t, OKMessage(), Doc{fmt.Sprintf("Dok_%d.pdf", i), fmt.Sprintf("content %d", i)})
		resp := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
		var acc api.SubmitResponse
		if resp.StatusCode != 202 || json.NewDecoder(resp.Body).Decode(&acc) != nil {
			t.Fatalf("submit: %d", resp.StatusCode)
		}
		ids = append(ids, acc.ID)
	}
	return ids
}

// Confirm moves the submitted message id, the only one due, through
// id_assigned and sending to confirmed (OSCI id govapp_1), as the send
// engine and the Laufzettel polling do.
func (e *Env) Confirm(t testing.TB, id int64) {
	t.Helper()
	ctx := context.Background()
	for _, to := range []mailbox.State{mailbox.StateIDAssigned, mailbox.StateSending, mailbox.StateConfirmed} {
		now := e.Clock.Now()
		ms, err := e.Store.ClaimDue(ctx, mailbox.Out, now.Add(time.Hour), "w", time.Minute, 1)
		if err != nil || len(ms) != 1 {
			t.Fatalf("claim %v", err)
		}
		next := now
		if to == mailbox.StateConfirmed {
			next = time.Time{}
		}
		if _, err := e.Store.Apply(ctx, mailbox.Change{ID: id, Owner: "w", Token: ms[0].LeaseToken, To: to, OSCIMessageID: "govapp_1", Now: now, Next: next}); err != nil {
			t.Fatal(err)
		}
	}
}

// NewEnvWithRecipient is NewEnv with default limits and the test
// recipient in the address book.
func NewEnvWithRecipient(t testing.TB) *Env {
	t.Helper()
	e := NewEnv(t, api.Limits{})
	e.AddRecipient(t)
	return e
}

// Option changes how NewEnv builds the API.
type Option func(*options)

type options struct {
	logger                     *zap.Logger
	reprocessor                func(string) (mailbox.Reprocessor, error)
	eeb, register, procurement bool
	book                       []addressbook.Option
}

// WithIntermediaries gives the address book the configured intermediaries
// bebpo (https://bebpo.example/osci) and justiz-nrw
// (https://justiz-nrw.example/osci).
func WithIntermediaries() Option {
	cfg := &config.Config{Intermediaries: []config.IntermediaryConfig{
		{Name: "bebpo", URL: "https://bebpo.example/osci"}, {Name: "justiz-nrw", URL: "https://justiz-nrw.example/osci"}}}
	return func(o *options) { o.book = append(o.book, addressbook.WithIntermediaries(cfg)) }
}

// WithLogger gives the API server logger l.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithReprocessor gives the API server the bridges that read parked
// deliveries again.
func WithReprocessor(r func(mailbox string) (mailbox.Reprocessor, error)) Option {
	return func(o *options) { o.reprocessor = r }
}

// LockedWriter writes into W under Mu, so that a test can read W (under
// Mu) while a daemon or the demo logs into it.
type LockedWriter struct {
	W  io.Writer
	Mu *sync.Mutex
}

func (l LockedWriter) Write(p []byte) (int, error) {
	l.Mu.Lock()
	defer l.Mu.Unlock()
	return l.W.Write(p)
}

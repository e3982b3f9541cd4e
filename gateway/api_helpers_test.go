package gateway

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// apiT0 is inside the validity of the test PKI (testdata/pki).
var apiT0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

const (
	apiToken     = "ops-token-0123456789abcdef"
	apiRecipient = "DE.Justiz.3e8f3c7a-0d0c-4f6e-9a51-2f1d8c0b7a11.1234"
	apiMailbox   = "stadt"
)

// apiRepoRoot walks up from the package directory to the one holding go.mod.
func apiRepoRoot(t testing.TB) string {
	t.Helper()
	return certstest.RepoRoot(t)
}

// pkiPEM reads a certificate of the test PKI.
func pkiPEM(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(apiRepoRoot(t), "testdata", "pki", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // distinct creation times
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// pollMap is a PollStatus as the daemon reports it: last outcome per mailbox.
type pollMap struct {
	mu sync.Mutex
	m  map[string]pollEntry
}

type pollEntry struct {
	ok bool
	at time.Time
}

func (p *pollMap) LastPoll(mb string) (bool, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.m[mb]
	return e.ok, e.at
}

func (p *pollMap) set(mb string, ok bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[string]pollEntry{}
	}
	p.m[mb] = pollEntry{ok, at}
}

// apiEnv is a running API on a real SQLite store and blob store.
type apiEnv struct {
	dir   string
	st    *sqlite.Store
	blobs *mailbox.Blobs
	book  *AddressBook
	srv   *APIServer
	ts    *httptest.Server
	clock *testClock
	poll  *pollMap
}

func newAPIEnv(t *testing.T, lim APILimits) *apiEnv {
	t.Helper()
	return newAPIEnvTB(t, lim)
}

// newAPIEnvB is newAPIEnv for benchmarks, with the test recipient.
func newAPIEnvB(b *testing.B) *apiEnv {
	b.Helper()
	e := newAPIEnvTB(b, APILimits{})
	if _, err := e.book.Add(context.Background(), Recipient{SafeID: apiRecipient, Name: "Amtsgericht Erkelenz",
		CipherCert: pkiPEM(b, "intermediary-cipher.pem")}); err != nil {
		b.Fatal(err)
	}
	return e
}

func newAPIEnvTB(t testing.TB, lim APILimits) *apiEnv {
	t.Helper()
	dir := t.TempDir()
	clock := &testClock{t: apiT0}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, sqlite.FileName), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := mailbox.OpenBlobs(filepath.Join(dir, "blobs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	book, err := OpenAddressBook(filepath.Join(dir, AddressBookFile), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokPath, []byte("ops:"+apiToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	toks, err := LoadTokens(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	poll := &pollMap{}
	srv, err := NewAPIServer(APIDeps{Store: st, Blobs: blobs, AddressBook: book, DataDir: dir,
		Mailboxes: []APIMailbox{{Name: apiMailbox, SafeID: "DE.BeBPo.erkelenz", PollInterval: time.Minute}, {Name: "ordnungsamt", PollInterval: time.Minute}},
		Tokens:    toks, Poll: poll, Now: clock.Now, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &apiEnv{dir: dir, st: st, blobs: blobs, book: book, srv: srv, ts: ts, clock: clock, poll: poll}
}

// addRecipient puts the test recipient (self-signed pinned cipher
// certificate) into the address book.
func (e *apiEnv) addRecipient(t *testing.T) {
	t.Helper()
	if _, err := e.book.Add(context.Background(), Recipient{SafeID: apiRecipient, Name: "Amtsgericht Erkelenz",
		CipherCert: pkiPEM(t, "intermediary-cipher.pem")}); err != nil {
		t.Fatal(err)
	}
}

// do sends a request with the test token.
func (e *apiEnv) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// doJSON sends JSON and decodes the answer into out (if not nil).
func (e *apiEnv) doJSON(t *testing.T, method, path string, in, out any) *http.Response {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	resp := e.do(t, method, path, body, map[string]string{"Content-Type": "application/json"})
	if out != nil && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp
}

// messageCount returns how many messages the store holds.
func (e *apiEnv) messageCount(t *testing.T) int {
	t.Helper()
	ms, err := e.st.List(context.Background(), mailbox.Filter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// blobTemps returns the temporary files left in the blob store.
func (e *apiEnv) blobTemps(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.dir, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	return out
}

type testDoc struct {
	name, content string
}

// multipartBody builds a POST /v1/messages body; msg is JSON-encoded
// unless it is a string (sent as is); a nil msg sends no message part.
func multipartBody(t *testing.T, msg any, docs ...testDoc) (*bytes.Buffer, string) {
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
		w, err := mw.CreateFormFile("document", d.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, d.content)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

// problemOf decodes a problem+json answer and checks its media type.
func problemOf(t *testing.T, resp *http.Response) Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json", resp.StatusCode, ct)
	}
	var p Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

func okMessage() MessageRequest {
	return MessageRequest{To: apiRecipient, Subject: "Az. 12 C 345/26 Klageerwiderung", CaseNumberRecipient: "12 C 345/26"}
}

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/metrics"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// The evidence page is text/html, which the validator reads as text.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) }

// loadOpenAPI reads and validates docs/openapi.yaml.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(apitest.RepoRoot(t), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// documented lists the operations of doc as ServeMux patterns.
func documented(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// Every route the server registers is documented, and every documented
// route is served.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	e := apitest.NewEnv(t, api.Limits{})
	served := e.Srv.Routes()
	sort.Strings(served)
	want := documented(doc)
	if strings.Join(served, "\n") != strings.Join(want, "\n") {
		t.Errorf("routes served and documented differ:\nserved only: %v\ndocumented only: %v", minus(served, want), minus(want, served))
	}
	// Route finds each of them for a request of its shape.
	for _, p := range served {
		method, path, _ := strings.Cut(p, " ")
		r := httptest.NewRequest(method, strings.NewReplacer("{", "x", "}", "").Replace(path), nil)
		if got := e.Srv.Route(r); got != p {
			t.Errorf("Route(%s %s) = %q, want %q", method, r.URL.Path, got, p)
		}
	}
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

// validator checks every request and answer that passes through it
// against the document: the request's parameters and JSON body, the
// answer's status (explicitly documented), media type, headers and body.
type validator struct {
	t   *testing.T
	doc *openapi3.T
	srv *api.Server
	h   http.Handler
	cov *coverage
}

// coverage records the statuses each route answered, across servers.
type coverage struct {
	mu      sync.Mutex
	checked map[string]map[int]bool // pattern -> statuses seen
}

func (c *coverage) add(pattern string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checked[pattern] == nil {
		c.checked[pattern] = map[int]bool{}
	}
	c.checked[pattern][status] = true
}

func (c *coverage) seen(pattern string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.checked[pattern]) > 0
}

func (v *validator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pattern := v.srv.Route(r)
	rec := httptest.NewRecorder()
	if pattern == "" {
		v.h.ServeHTTP(rec, r)
		copyResponse(w, rec)
		return
	}
	method, path, _ := strings.Cut(pattern, " ")
	item := v.doc.Paths.Value(path)
	var op *openapi3.Operation
	if item != nil {
		op = item.GetOperation(method)
	}
	if op == nil {
		v.t.Errorf("%s is served but not documented", pattern)
		v.h.ServeHTTP(rec, r)
		copyResponse(w, rec)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams(path, r.URL.EscapedPath()),
		Route:   &routers.Route{Spec: v.doc, Path: path, PathItem: item, Method: method, Operation: op},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	in.Options.ExcludeRequestBody = mt != "application/json" // multipart, CSV and document bodies: the handlers' tests check them
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	// Only well-formed requests are held to the document; the refusals
	// of malformed ones are checked below like any answer.
	r.Body = io.NopCloser(bytes.NewReader(body))
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	r.Body = io.NopCloser(bytes.NewReader(body))
	v.h.ServeHTTP(rec, r)
	if reqErr != nil && rec.Code < 400 {
		v.t.Errorf("%s %s: the server accepted (%d) a request the document forbids: %v", r.Method, r.URL, rec.Code, reqErr)
	}
	if op.Responses.Status(rec.Code) == nil {
		v.t.Errorf("%s answered %d, which the document does not list", pattern, rec.Code)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		v.t.Errorf("%s %s: answer %d does not match the document: %v\n%s", r.Method, r.URL, rec.Code, err, rec.Body.Bytes())
	}
	v.cov.add(pattern, rec.Code)
	copyResponse(w, rec)
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// harness calls a server through the validator.
type harness struct {
	t      *testing.T
	ts     *httptest.Server
	client *http.Client
}

func newHarness(t *testing.T, doc *openapi3.T, srv *api.Server, cov *coverage) *harness {
	ts := httptest.NewServer(&validator{t: t, doc: doc, srv: srv, h: srv.Handler(), cov: cov})
	t.Cleanup(ts.Close)
	return &harness{t: t, ts: ts, client: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
}

// do sends a request with the test token unless hdr sets Authorization
// (an empty value removes a header).
func (h *harness) do(method, path string, body io.Reader, hdr map[string]string) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, ok := hdr["Authorization"]; !ok {
		req.Header.Set("Authorization", "Bearer "+apitest.Token)
	}
	for k, val := range hdr {
		if val == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, val)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (h *harness) expect(want int, method, path string, body io.Reader, hdr map[string]string) []byte {
	h.t.Helper()
	got, b := h.do(method, path, body, hdr)
	if got != want {
		h.t.Errorf("%s %s: %d, want %d: %s", method, path, got, want, b)
	}
	return b
}

// expectJSON sends v as JSON (with the extra headers hdr) and decodes a
// successful answer into out when it is not nil.
func (h *harness) expectJSON(want int, method, path string, v any, out any, hdr ...string) {
	h.t.Helper()
	var body io.Reader
	if v != nil {
		if s, ok := v.(string); ok {
			body = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(v)
			body = bytes.NewReader(b)
		}
	}
	m := map[string]string{"Content-Type": "application/json"}
	for i := 0; i+1 < len(hdr); i += 2 {
		m[hdr[i]] = hdr[i+1]
	}
	b := h.expect(want, method, path, body, m)
	if out != nil && want < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Errorf("%s %s: %v", method, path, err)
		}
	}
}

// pathParams reads the values of pattern's wildcards from an escaped
// path, so that a value holding an escaped "/" stays one segment.
func pathParams(pattern, escaped string) map[string]string {
	out := map[string]string{}
	ps, vs := strings.Split(pattern, "/"), strings.Split(escaped, "/")
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && i < len(vs) {
			v, err := url.PathUnescape(vs[i])
			if err != nil {
				v = vs[i]
			}
			out[strings.Trim(p, "{}")] = v
		}
	}
	return out
}

// The answers of the real handlers match the document: every route is
// called at least once, the main ones with their refusals, and every
// answer is validated.
func TestOpenAPIMatchesHandlers(t *testing.T) {
	doc := loadOpenAPI(t)
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithEEB(), apitest.WithRegister())
	e.AddRecipient(t)
	cov := &coverage{checked: map[string]map[int]bool{}}
	hs := newHarness(t, doc, e.Srv, cov)
	do, expect := hs.do, hs.expect
	jsonBody := func(v any) (io.Reader, map[string]string) {
		b, _ := json.Marshal(v)
		return bytes.NewReader(b), map[string]string{"Content-Type": "application/json"}
	}

	expect(200, "GET", "/healthz", nil, nil)
	expect(503, "GET", "/readyz", nil, nil)
	expect(200, "GET", "/metrics", nil, nil)

	// POST /v1/messages: accepted, replayed, and refused.
	body, ct := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "Klage.pdf", Content: "%PDF-1.4 x"})
	var acc api.SubmitResponse
	json.Unmarshal(expect(202, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": "k-1"}), &acc)
	body, ct = apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "Klage.pdf", Content: "%PDF-1.4 x"})
	expect(202, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": "k-1"})
	body, ct = apitest.MultipartBody(t, nil, apitest.Doc{Name: "Klage.pdf", Content: "x"})
	expect(400, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	unknown := apitest.OKMessage()
	unknown.To = "DE.Justiz.unknown.1"
	body, ct = apitest.MultipartBody(t, unknown, apitest.Doc{Name: "Klage.pdf", Content: "x"})
	expect(422, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	body, ct = apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "Klage final.pdf", Content: "x"})
	expect(400, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	expect(401, "POST", "/v1/messages", strings.NewReader(""), map[string]string{"Authorization": ""})
	id := acc.ID

	// Listing and one message.
	expect(200, "GET", "/v1/messages?direction=out&limit=1", nil, nil)
	expect(200, "GET", "/v1/messages?state=queued,held", nil, nil)
	expect(400, "GET", "/v1/messages?direction=sideways", nil, nil)
	expect(400, "GET", "/v1/messages?limit=0", nil, nil)
	expect(200, "GET", fmt.Sprintf("/v1/messages/%d", id), nil, nil)
	expect(400, "GET", "/v1/messages/abc", nil, nil)
	expect(404, "GET", "/v1/messages/999999", nil, nil)
	expect(200, "GET", fmt.Sprintf("/v1/messages/%d/documents/0", id), nil, nil)
	expect(404, "GET", fmt.Sprintf("/v1/messages/%d/documents/7", id), nil, nil)

	// Operator actions.
	b, h := jsonBody(api.OperateRequest{Reason: "Anlage fehlt"})
	expect(200, "POST", fmt.Sprintf("/v1/messages/%d/hold", id), b, h)
	expect(409, "POST", fmt.Sprintf("/v1/messages/%d/hold", id), nil, nil)
	expect(200, "POST", fmt.Sprintf("/v1/messages/%d/release", id), nil, nil)
	expect(200, "POST", fmt.Sprintf("/v1/messages/%d/requeue", id), nil, nil)
	expect(400, "POST", fmt.Sprintf("/v1/messages/%d/requeue", id), strings.NewReader(`{"why":1}`), map[string]string{"Content-Type": "application/json"})
	expect(200, "POST", fmt.Sprintf("/v1/messages/%d/delete", id), nil, nil)
	expect(404, "POST", "/v1/messages/999999/reprocess", nil, nil)
	in, err := e.Store.InsertIncoming(context.Background(), mailbox.NewIncoming{Mailbox: apitest.Mailbox, OSCIMessageID: "govapp_1",
		ContentSHA256: strings.Repeat("c", 64), Size: 1, Sender: apitest.Recipient})
	if err != nil {
		t.Fatal(err)
	}
	expect(503, "POST", fmt.Sprintf("/v1/messages/%d/reprocess", in.ID), nil, nil) // this server has no bridge
	expect(200, "POST", "/v1/mailboxes/stadt/fetches/govapp_2/clear", nil, nil)
	expect(422, "POST", "/v1/mailboxes/nowhere/fetches/govapp_2/clear", nil, nil)

	// Service.
	expect(200, "GET", "/v1/status", nil, nil)
	expect(200, "GET", "/v1/intermediaries", nil, nil)
	expect(401, "GET", "/v1/status", nil, map[string]string{"Authorization": "Bearer wrong-token-0123456789"})

	// Address book.
	expect(200, "GET", "/v1/addressbook", nil, nil)
	var entry map[string]any
	json.Unmarshal(expect(200, "GET", "/v1/addressbook/"+apitest.Recipient, nil, nil), &entry)
	expect(404, "GET", "/v1/addressbook/DE.Justiz.none.1", nil, nil)
	cert := apitest.PKIPEM(t, "intermediary-cipher.pem")
	b, h = jsonBody(map[string]string{"safeId": apitest.Recipient, "name": "Amtsgericht Erkelenz", "cipherCert": cert})
	expect(409, "POST", "/v1/addressbook", b, h)
	b, h = jsonBody(map[string]string{"safeId": "DE.Justiz.lg.2", "name": "Landgericht", "cipherCert": cert})
	expect(201, "POST", "/v1/addressbook", b, h)
	b, h = jsonBody(map[string]string{"name": "Landgericht Mönchengladbach", "cipherCert": cert})
	expect(200, "PUT", "/v1/addressbook/DE.Justiz.lg.2", b, h)
	b, h = jsonBody(map[string]string{"safeId": "DE.Justiz.other.1", "name": "x", "cipherCert": cert})
	expect(400, "PUT", "/v1/addressbook/DE.Justiz.lg.2", b, h)
	b, h = jsonBody(map[string]string{"safeId": "DE.Justiz.lg.3", "name": "x", "cipherCert": "not a certificate"})
	expect(422, "POST", "/v1/addressbook", b, h)
	b, h = jsonBody([]map[string]string{{"safeId": "DE.Justiz.lg.4", "name": "Landgericht 4", "cipherCert": cert}})
	expect(200, "POST", "/v1/addressbook/import", b, h)
	expect(400, "POST", "/v1/addressbook/import", strings.NewReader("x"), map[string]string{"Content-Type": "application/xml"})
	expect(204, "DELETE", "/v1/addressbook/DE.Justiz.lg.2", nil, nil)
	expect(404, "DELETE", "/v1/addressbook/DE.Justiz.lg.2", nil, nil)

	// Proof of filing, eEB, messages to courts and the register.
	exerciseEvidence(t, hs, e)
	exerciseEEB(t, hs, e)
	exerciseCourtSubmissions(t, hs)
	exerciseRegister(t, hs, e)
	// A gateway without the eEB service and the register answers 503.
	bare := apitest.NewEnv(t, api.Limits{}, apitest.WithProcurementToken())
	bare.AddRecipient(t)
	exerciseUnconfigured(newHarness(t, doc, bare.Srv, cov))

	// No route: problem answers outside the document's paths.
	if got, b := do("GET", "/v1/nothing", nil, nil); got != 404 || !bytes.Contains(b, []byte(`"field":"path"`)) {
		t.Errorf("unknown route: %d %s", got, b)
	}

	// Every documented route was called and validated.
	for _, p := range documented(doc) {
		if !cov.seen(p) {
			t.Errorf("%s was not exercised", p)
		}
	}
	// The request metric names the route pattern, not the method.
	_, m := do("GET", "/metrics", nil, nil)
	if want := `bebpo_api_requests_total{method="GET",route="` + metrics.RoutePath("GET /v1/messages/{id}") + `",status="404"} 1`; !bytes.Contains(m, []byte(want)) {
		t.Errorf("metrics lack %s", want)
	}
}

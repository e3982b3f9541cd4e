package iface

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
)

// Errors of the client.
var (
	ErrInsecureURL = errors.New("iface: the interface URL must be https")
	ErrProtocol    = errors.New("iface: unexpected answer from the register")
)

// Config is the client's configuration. Limits are typed fields with
// defaults.
type Config struct {
	BaseURL string
	// Identity is the authority's software certificate with its key
	// (certs.LoadPKCS12).
	Identity *certs.KeyPair
	// Roots verify the register's server certificate (nil: system roots).
	Roots *x509.CertPool
	// RequestTimeout bounds one request (default 60 s); Retries the
	// retries of one call (default 3), waiting at most RetryWaitMax
	// (default 10 s).
	RequestTimeout time.Duration
	Retries        int
	RetryWaitMax   time.Duration
	// AllowHTTP permits plain http to a loopback address (tests).
	AllowHTTP bool
}

// Client implements register.Adapter.
type Client struct {
	base string
	http *retryablehttp.Client
}

var _ register.Adapter = (*Client)(nil)

// New checks cfg and builds the client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("iface: base URL %q is not an absolute URL", cfg.BaseURL)
	}
	if u.Scheme != "https" && !(cfg.AllowHTTP && u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("%w: %s", ErrInsecureURL, u.Redacted())
	}
	if cfg.Identity == nil && u.Scheme == "https" {
		return nil, errors.New("iface: the interface needs the authority's certificate (PKCS#12)")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = time.Minute
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 3
	}
	if cfg.RetryWaitMax <= 0 {
		cfg.RetryWaitMax = 10 * time.Second
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.Roots}
	if cfg.Identity != nil {
		chain := [][]byte{cfg.Identity.Cert.Raw}
		for _, c := range cfg.Identity.Chain {
			chain = append(chain, c.Raw)
		}
		tlsCfg.Certificates = []tls.Certificate{{Certificate: chain, PrivateKey: cfg.Identity.Key, Leaf: cfg.Identity.Cert}}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Transport: tr, Timeout: cfg.RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rc.RetryMax, rc.RetryWaitMin, rc.RetryWaitMax = cfg.Retries, 200*time.Millisecond, cfg.RetryWaitMax
	rc.CheckRetry = checkRetry
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{base: strings.TrimSuffix(u.String(), "/"), http: rc}, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkRetry repeats connection failures and what retryStatus names: a
// POST may be repeated because the idempotency key makes it one query.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return true, nil
	}
	return retryStatus(resp.StatusCode), nil
}

// Submit makes the query (idempotent on req.Key).
func (c *Client) Submit(ctx context.Context, req register.AdapterRequest) (string, error) {
	body, err := json.Marshal(toWire(req))
	if err != nil {
		return "", err
	}
	hr, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.base+PathQueries, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set(HeaderIdempotencyKey, req.Key)
	var out SubmitWire
	if err := c.do(hr, &out, submitOK...); err != nil {
		return "", err
	}
	if out.Referenz == "" {
		return "", fmt.Errorf("%w: accepted without a reference", ErrProtocol)
	}
	return out.Referenz, nil
}

// Poll asks for the answer to a query.
func (c *Client) Poll(ctx context.Context, ref string) (register.AdapterResult, error) {
	hr, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, c.base+PathQueries+"/"+url.PathEscape(ref), nil)
	if err != nil {
		return register.AdapterResult{}, err
	}
	var st StatusWire
	if err := c.do(hr, &st, pollOK...); err != nil {
		return register.AdapterResult{}, err
	}
	switch st.Status { // wire.go 3
	case StatusPending:
		return register.AdapterResult{State: register.AdapterPending}, nil
	case StatusAnswered:
		if len(st.Auskunft) == 0 {
			return register.AdapterResult{}, fmt.Errorf("%w: answered without a document", ErrProtocol)
		}
		ct := st.ContentType
		if ct == "" {
			ct = "application/pdf"
		}
		return register.AdapterResult{State: register.AdapterAnswered, HasEntries: st.Eintragungen, Document: st.Auskunft, ContentType: ct}, nil
	case StatusRefused:
		return register.AdapterResult{State: register.AdapterRefused, Reason: st.Grund}, nil
	}
	return register.AdapterResult{}, fmt.Errorf("%w: status %q", ErrProtocol, st.Status)
}

// do sends hr and decodes a JSON answer with one of the ok statuses. A
// refusal (refusalStatus) keeps the register's reason; a body is
// otherwise never kept.
func (c *Client) do(hr *retryablehttp.Request, out any, ok ...int) error {
	resp, err := c.http.Do(hr)
	if err != nil {
		return fmt.Errorf("iface: %s %s: %w", hr.Method, redacted(hr.URL), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return fmt.Errorf("iface: %s %s: reading the answer: %w", hr.Method, redacted(hr.URL), err)
	}
	if len(body) > MaxAnswerBytes {
		return fmt.Errorf("%w: answer larger than %d bytes", ErrProtocol, MaxAnswerBytes)
	}
	for _, s := range ok {
		if resp.StatusCode == s {
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("%w: %s %s: undecodable answer", ErrProtocol, hr.Method, redacted(hr.URL))
			}
			return nil
		}
	}
	if refusalStatus(resp.StatusCode) {
		var e ErrorWire
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("%w: %s (HTTP %d)", register.ErrRefused, e.Grund, resp.StatusCode)
	}
	return fmt.Errorf("iface: %s %s: HTTP %d", hr.Method, redacted(hr.URL), resp.StatusCode)
}

// redacted shows the URL without credentials and without the query
// reference (the path after /abfragen/).
func redacted(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	if i := strings.Index(c.Path, PathQueries+"/"); i >= 0 {
		c.Path = c.Path[:i+len(PathQueries)] + "/…"
		c.RawPath = ""
	}
	return c.Redacted()
}

package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Webhooks posts notifications to webhooks with go-retryablehttp: a few
// quick retries of a connection failure, 429 or 5xx within one attempt;
// the queue retries the attempt later. Only https URLs on AllowedHosts
// are posted to (http only to the loopback interface); redirects are not
// followed.
type Webhooks struct {
	AllowedHosts []string // host names, compared case-insensitively
	TLS          *tls.Config
	Timeout      time.Duration // one request (default 15s)
	Retries      int           // quick retries within one attempt (default 2)
	RetryWaitMax time.Duration // default 2s

	client *retryablehttp.Client
}

// DefaultWebhookTimeout bounds one webhook request when Webhooks.Timeout is 0.
const DefaultWebhookTimeout = 15 * time.Second

func (w *Webhooks) http() *retryablehttp.Client {
	if w.client != nil {
		return w.client
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = w.TLS
	timeout, retries, wait := w.Timeout, w.Retries, w.RetryWaitMax
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	if retries == 0 {
		retries = 2
	}
	if wait <= 0 {
		wait = 2 * time.Second
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rc.RetryMax, rc.RetryWaitMin, rc.RetryWaitMax = max(retries, 0), min(100*time.Millisecond, wait), wait
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	w.client = rc
	return rc
}

// CheckURL refuses a webhook URL that is not https (or http to the
// loopback interface) or whose host is not allowed; ErrHostRefused.
func (w *Webhooks) CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%w: not a URL", ErrHostRefused)
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(host):
	default:
		return nil, fmt.Errorf("%w: %s is not https", ErrHostRefused, u.Scheme)
	}
	for _, h := range w.AllowedHosts {
		if strings.EqualFold(h, host) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrHostRefused, host)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HTTPError is a webhook's refusal: its status code. 408, 425, 429 and
// 5xx are temporary; any other status outside 2xx (a redirect too) is
// permanent.
type HTTPError struct{ Status int }

func (e *HTTPError) Error() string { return fmt.Sprintf("notify: webhook answered %d", e.Status) }

// Temporary reports a status worth trying again later.
func (e *HTTPError) Temporary() bool {
	return e.Status == 408 || e.Status == 425 || e.Status == 429 || e.Status >= 500
}

// Unwrap makes a permanent status ErrPermanent.
func (e *HTTPError) Unwrap() error {
	if e.Temporary() {
		return nil
	}
	return ErrPermanent
}

// Post sends body to the webhook at raw.
func (w *Webhooks) Post(ctx context.Context, raw string, body []byte) error {
	u, err := w.CheckURL(raw)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http().Do(req)
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &HTTPError{Status: resp.StatusCode}
	}
	return nil
}

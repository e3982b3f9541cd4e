package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"strings"
	"time"
)

// HTTP intake errors. A redirect also matches ErrIntakeRejected.
var (
	ErrIntakeRedirect = errors.New("mailbox: intake endpoint answered with a redirect, which is not followed")
	ErrIntakeInsecure = errors.New("mailbox: plain http intake URL outside this host")
)

// HTTPIntake posts each message to a DMS endpoint as multipart/form-data:
// one part per file of a folder entry (field name = the path inside the
// entry, e.g. "dokumente/Klage.pdf"), the manifest last. The header
// Idempotency-Key carries the OSCI MessageId, so the endpoint can answer a
// repeated POST with the entry it already made.
//
// Only a 2xx answer to that POST at URL confirms the hand-over. Redirects
// are never followed: a 3xx is a failure (ErrIntakeRedirect), as the entry
// did not reach whatever answers at the other address. Every failure is
// retried per Retry and then returned as an error, after which the intake
// engine retries later. Each request may take Timeout(size of the entry):
// BaseTimeout plus TimeoutPerMiB for every MiB begun, so a large delivery
// to a slow endpoint is not cut off at a fixed limit. The URL must be
// https, or http to a loopback address (localhost, 127.0.0.0/8, ::1);
// plain http elsewhere is refused (ErrIntakeInsecure), without a request,
// unless AllowInsecureHTTP is set.
type HTTPIntake struct {
	URL string
	// Client carries the transport settings (TLS, proxy); its redirect
	// policy and Timeout are replaced by the rules above. Default: a plain
	// client.
	Client *http.Client
	Header http.Header // extra headers (e.g. Authorization read from a secret file)
	Retry  RetryPolicy // within one Deliver; default 4 tries from 1 s
	// BaseTimeout (default 60 s) and TimeoutPerMiB (default 5 s, i.e. at
	// least about 200 KiB/s) make the timeout of one request.
	BaseTimeout   time.Duration
	TimeoutPerMiB time.Duration
	// AllowInsecureHTTP permits a plain http URL to another host (a
	// trusted network segment); the entry and the headers then travel
	// unencrypted.
	AllowInsecureHTTP bool
	Rand              io.Reader
	Now               func() time.Time
	// Sleep waits between tries; tests replace it. Default: a timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate checks the URL: absolute, https, or http to a loopback address
// unless AllowInsecureHTTP.
func (h *HTTPIntake) Validate() error {
	u, err := url.Parse(h.URL)
	if err != nil || u.Host == "" || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%w: intake URL %q must be an absolute http or https URL", ErrInvalidInput, h.URL)
	}
	if u.Scheme == "http" && !h.AllowInsecureHTTP && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%w: %s (use https, or allow plain http explicitly)", ErrIntakeInsecure, u.Host)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Timeout is how long one request with an entry of size bytes may take.
func (h *HTTPIntake) Timeout(size int64) time.Duration {
	base, per := h.BaseTimeout, h.TimeoutPerMiB
	if base <= 0 {
		base = 60 * time.Second
	}
	if per <= 0 {
		per = 5 * time.Second
	}
	mib := (size + 1<<20 - 1) >> 20
	return base + time.Duration(mib)*per
}

// Name returns "http".
func (h *HTTPIntake) Name() string { return "http" }

// IdempotencyHeader is the request header carrying the MessageId.
const IdempotencyHeader = "Idempotency-Key"

// Deliver posts the entry until the endpoint confirms it with a 2xx.
func (h *HTTPIntake) Deliver(ctx context.Context, m *IntakeMessage) (IntakeRecord, error) {
	if err := h.Validate(); err != nil {
		return IntakeRecord{}, err
	}
	files, err := entryFiles(m)
	if err != nil {
		return IntakeRecord{}, err
	}
	sums := map[string]string{}
	for _, f := range files {
		sums[f.Path] = f.sha256()
	}
	manifest := Manifest(sums)
	files = append(files, entryFile{Path: FileManifest, ContentType: "text/plain; charset=utf-8", Data: manifest})
	var size int64
	for _, f := range files {
		size += f.size()
	}
	timeout := h.Timeout(size)
	ms := sha256.Sum256(manifest)
	pol := h.Retry
	if pol.Initial == 0 {
		pol = RetryPolicy{Initial: time.Second, Factor: 2, Max: 30 * time.Second, MaxTries: 4, Jitter: EqualJitter}
	}
	var last error
	for try := 1; ; try++ {
		loc, err := h.post(ctx, m.Metadata.MessageID, files, ms, timeout)
		if err == nil {
			now := time.Now
			if h.Now != nil {
				now = h.Now
			}
			return IntakeRecord{Sink: h.Name(), Location: loc, ManifestSHA256: hex.EncodeToString(ms[:]), DeliveredAt: now().UTC()}, nil
		}
		last = err
		if ctx.Err() != nil || (pol.MaxTries > 0 && try >= pol.MaxTries) {
			return IntakeRecord{}, fmt.Errorf("intake http after %d tries: %w", try, last)
		}
		if err := h.sleep(ctx, pol.Delay(try, h.Rand)); err != nil {
			return IntakeRecord{}, fmt.Errorf("intake http: %w (last: %w)", err, last)
		}
	}
}

func (h *HTTPIntake) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// post sends one request, streaming the files; it returns the endpoint's
// Location header (or the URL) on a 2xx.
func (h *HTTPIntake) post(ctx context.Context, id string, files []entryFile, ms [32]byte, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	// A boundary derived from the manifest keeps repeated POSTs identical.
	if err := mw.SetBoundary("bebpo-" + hex.EncodeToString(ms[:16])); err != nil {
		return "", err
	}
	go func() {
		pw.CloseWithError(writeParts(mw, files))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, pr)
	if err != nil {
		pr.Close()
		return "", fmt.Errorf("intake http: %w", err)
	}
	for k, vs := range h.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(IdempotencyHeader, id)
	var c http.Client
	if h.Client != nil {
		c = *h.Client
	}
	c.Timeout = 0 // the request's context carries the size-based one
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	pr.Close()
	if err != nil {
		return "", fmt.Errorf("intake http: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		return "", fmt.Errorf("%w: %w: status %d", ErrIntakeRejected, ErrIntakeRedirect, resp.StatusCode)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("%w: status %d", ErrIntakeRejected, resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		return loc, nil
	}
	return h.URL, nil
}

func writeParts(mw *multipart.Writer, files []entryFile) error {
	for _, f := range files {
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, f.Path, path.Base(f.Path)))
		ct := f.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		hdr.Set("Content-Type", ct)
		w, err := mw.CreatePart(hdr)
		if err != nil {
			return err
		}
		r, err := f.open()
		if err != nil {
			return err
		}
		_, err = hashingCopy(w, r, f.sha256())
		r.Close()
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

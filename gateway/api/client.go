package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// Client talks to a running gateway's admin API.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8440
	Token   string
	HTTP    *http.Client
	// Progress, when set, is told the bytes of a submission sent so far
	// and its total (Send).
	Progress func(sent, total int64)
	// Jitter spreads the waits after a 503: it returns how much to add to
	// a wait of d (default: up to half of d, at random).
	Jitter func(d time.Duration) time.Duration
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Problem Problem
	// RetryAfter is what a 503 answer's Retry-After header asked for.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Problem.Detail
	if msg == "" {
		msg = e.Problem.Title
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("api: %d %s: %s", e.Status, http.StatusText(e.Status), msg)
}

// ErrDownloadCorrupt is returned when a downloaded document does not match
// the SHA-256 the gateway announced.
var ErrDownloadCorrupt = errors.New("api: downloaded document does not match its SHA-256")

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// send performs a request and decodes a JSON answer into out (may be nil).
func (c *Client) send(req *http.Request, out any) error {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readAPIError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out)
}

func readAPIError(resp *http.Response) error {
	e := &Error{Status: resp.StatusCode}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &e.Problem) != nil {
		e.Problem.Detail = strings.TrimSpace(string(data))
	}
	return e
}

func (c *Client) doJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

// Send submits a message with the files as documents, streaming them
// with their length announced, so the gateway's upload budget counts
// them right. A gateway that is busy (503 with Retry-After) is asked
// again after the time it names, plus jitter, until ctx ends; a
// non-empty idempotency key makes a repeat return the first message.
func (c *Client) Send(ctx context.Context, m submit.MessageRequest, files []string, idempotencyKey string) (SubmitResponse, error) {
	var out SubmitResponse
	sizes := make([]int64, len(files))
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return out, err
		}
		sizes[i] = fi.Size()
	}
	boundary := multipart.NewWriter(io.Discard).Boundary()
	var cw countingWriter
	if err := writeSendBody(&cw, boundary, m, files, sizes); err != nil {
		return out, err
	}
	for {
		err := c.sendOnce(ctx, m, files, idempotencyKey, boundary, cw.n, &out)
		wait, busy := retryAfter(err)
		if !busy {
			return out, err
		}
		if c.Jitter != nil {
			wait += c.Jitter(wait)
		} else {
			wait += time.Duration(rand.Int64N(int64(wait)/2 + 1))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, fmt.Errorf("%w (gave up waiting: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// sendOnce makes one submission request of length bytes.
func (c *Client) sendOnce(ctx context.Context, m submit.MessageRequest, files []string, key, boundary string, length int64, out *SubmitResponse) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeSendBody(pw, boundary, m, files, nil)) }()
	var body io.Reader = pr
	if c.Progress != nil {
		body = &progressReader{r: pr, total: length, report: c.Progress}
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/messages", body)
	if err != nil {
		pr.Close()
		return err
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	err = c.send(req, out)
	pr.Close()
	return err
}

// retryAfter reports whether err is a busy gateway's 503 and how long it
// asked to wait.
func retryAfter(err error) (time.Duration, bool) {
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.RetryAfter <= 0 {
		return 0, false
	}
	return ae.RetryAfter, true
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r      io.Reader
	sent   int64
	total  int64
	report func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	if n > 0 {
		p.report(p.sent, p.total)
	}
	return n, err
}

// writeSendBody writes the multipart body to w. With sizes set it writes
// the framing only and counts the files by their sizes: how long the body
// will be.
func writeSendBody(w io.Writer, boundary string, m submit.MessageRequest, files []string, sizes []int64) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(pw).Encode(m); err != nil {
		return err
	}
	for i, f := range files {
		var size int64 = -1
		if sizes != nil {
			size = sizes[i]
		}
		if err := writeFilePart(mw, w, f, size); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeFilePart writes one document part; with size >= 0 it writes the
// part's header only and counts size bytes on w (a countingWriter).
func writeFilePart(mw *multipart.Writer, w io.Writer, path string, size int64) error {
	name := filepath.Base(path)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "document", "filename": name}))
	ct := mime.TypeByExtension(filepath.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if cw, ok := w.(*countingWriter); ok && size >= 0 {
		cw.n += size
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(pw, f)
	return err
}

// ListMessages returns one page; q holds direction, state, mailbox, after, limit.
func (c *Client) ListMessages(ctx context.Context, q url.Values) (MessageList, error) {
	var out MessageList
	path := "/v1/messages"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return out, c.doJSON(ctx, http.MethodGet, path, nil, &out)
}

// NextPage follows a list's next link.
func (c *Client) NextPage(ctx context.Context, next string) (MessageList, error) {
	var out MessageList
	return out, c.doJSON(ctx, http.MethodGet, next, nil, &out)
}

// GetMessage returns a message with its process card and events.
func (c *Client) GetMessage(ctx context.Context, id int64) (MessageView, error) {
	var out MessageView
	return out, c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/v1/messages/%d", id), nil, &out)
}

// Operate runs requeue, hold or release.
func (c *Client) Operate(ctx context.Context, id int64, op, reason string) (MessageView, error) {
	var out MessageView
	var in any
	if reason != "" {
		in = OperateRequest{Reason: reason}
	}
	return out, c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/v1/messages/%d/%s", id, op), in, &out)
}

// Reprocess reads a parked delivery again (POST /v1/messages/{id}/reprocess).
func (c *Client) Reprocess(ctx context.Context, id int64) (MessageView, error) {
	var out MessageView
	return out, c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/v1/messages/%d/reprocess", id), nil, &out)
}

// ClearFetch forgets the reads counted for a delivery no longer read
// (POST /v1/mailboxes/{mailbox}/fetches/{osciMessageId}/clear).
func (c *Client) ClearFetch(ctx context.Context, mailboxName, osciMessageID string) error {
	var out ClearFetchResponse
	return c.doJSON(ctx, http.MethodPost, "/v1/mailboxes/"+url.PathEscape(mailboxName)+"/fetches/"+url.PathEscape(osciMessageID)+"/clear", nil, &out)
}

// Download writes document n of message id to w and checks it against the
// SHA-256 the gateway sends; it returns the file name the gateway gives.
func (c *Client) Download(ctx context.Context, id int64, n int, w io.Writer) (name, sum string, err error) {
	req, err := c.newRequest(ctx, http.MethodGet, fmt.Sprintf("/v1/messages/%d/documents/%d", id, n), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Accept", "*/*")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", readAPIError(resp)
	}
	if _, p, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		name = p["filename"]
	}
	want := resp.Header.Get("X-Content-SHA256")
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), resp.Body); err != nil {
		return name, "", err
	}
	sum = hex.EncodeToString(h.Sum(nil))
	if want == "" || sum != want {
		return name, sum, fmt.Errorf("%w: got %s, announced %q", ErrDownloadCorrupt, sum, want)
	}
	return name, sum, nil
}

// Status returns readiness and a summary.
func (c *Client) Status(ctx context.Context) (StatusReport, error) {
	var out StatusReport
	return out, c.doJSON(ctx, http.MethodGet, "/v1/status", nil, &out)
}

// Addresses lists the address book.
func (c *Client) Addresses(ctx context.Context) ([]addressbook.Recipient, error) {
	var out AddressList
	return out.Entries, c.doJSON(ctx, http.MethodGet, "/v1/addressbook", nil, &out)
}

// LookupAddresses returns the entries Book.Lookup finds for text.
func (c *Client) LookupAddresses(ctx context.Context, text string) ([]addressbook.Recipient, error) {
	var out AddressList
	return out.Entries, c.doJSON(ctx, http.MethodGet, "/v1/addressbook?q="+url.QueryEscape(text), nil, &out)
}

// Address returns one entry.
func (c *Client) Address(ctx context.Context, safeID string) (addressbook.Recipient, error) {
	var out addressbook.Recipient
	return out, c.doJSON(ctx, http.MethodGet, "/v1/addressbook/"+url.PathEscape(safeID), nil, &out)
}

// AddAddress creates an entry.
func (c *Client) AddAddress(ctx context.Context, r addressbook.Recipient) (addressbook.Recipient, error) {
	var out addressbook.Recipient
	return out, c.doJSON(ctx, http.MethodPost, "/v1/addressbook", r, &out)
}

// UpdateAddress replaces an entry.
func (c *Client) UpdateAddress(ctx context.Context, r addressbook.Recipient) (addressbook.Recipient, error) {
	var out addressbook.Recipient
	return out, c.doJSON(ctx, http.MethodPut, "/v1/addressbook/"+url.PathEscape(r.SafeID), r, &out)
}

// DeleteAddress removes an entry.
func (c *Client) DeleteAddress(ctx context.Context, safeID string) error {
	return c.doJSON(ctx, http.MethodDelete, "/v1/addressbook/"+url.PathEscape(safeID), nil, nil)
}

// ImportAddresses uploads a JSON or CSV file of entries; with dryRun the
// gateway only reports what would change.
func (c *Client) ImportAddresses(ctx context.Context, data []byte, contentType string, dryRun bool) (addressbook.ImportResult, error) {
	var out addressbook.ImportResult
	path := "/v1/addressbook/import"
	if dryRun {
		path += "?dryRun=true"
	}
	req, err := c.newRequest(ctx, http.MethodPost, path, bytes.NewReader(data))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", contentType)
	return out, c.send(req, &out)
}

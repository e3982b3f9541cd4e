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
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// Client talks to a running gateway's admin API.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8440
	Token   string
	HTTP    *http.Client
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Problem Problem
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

// Send submits a message with the files as documents, streaming them.
// A non-empty idempotency key makes a repeat return the first message.
func (c *Client) Send(ctx context.Context, m submit.MessageRequest, files []string, idempotencyKey string) (SubmitResponse, error) {
	var out SubmitResponse
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return out, err
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeSendBody(mw, m, files)) }()
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/messages", pr)
	if err != nil {
		pr.Close()
		return out, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	err = c.send(req, &out)
	pr.Close()
	return out, err
}

func writeSendBody(mw *multipart.Writer, m submit.MessageRequest, files []string) error {
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
	for _, f := range files {
		if err := writeFilePart(mw, f); err != nil {
			return err
		}
	}
	return mw.Close()
}

func writeFilePart(mw *multipart.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
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

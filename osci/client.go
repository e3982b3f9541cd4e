package osci

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// ErrInsecureURL refuses a plain http endpoint that is not on this machine.
var ErrInsecureURL = errors.New("osci: client: plain http to a host that is not loopback")

// ClientConfig configures a Client for one mailbox identity.
type ClientConfig struct {
	// URL is the intermediary's OSCI endpoint: https, or http only to a
	// loopback host (localhost, 127.0.0.0/8, ::1) unless AllowInsecureHTTP.
	URL string
	// AllowInsecureHTTP permits plain http to any host. The OSCI messages
	// stay signed and encrypted, but on the way anyone reads the traffic
	// pattern and can answer in the intermediary's name with everything
	// that is not signed (HTTP status, SOAP faults). For test networks only.
	AllowInsecureHTTP bool
	// Signature signs orders (ClientSignature); Cipher receives the
	// intermediary's transport-encrypted responses and content for us.
	Signature, Cipher *certs.KeyPair
	// SignatureAlgorithm is the method of our ClientSignature; the zero
	// value is rsa-sha256, what the reference library and the current
	// EGVP clients send (see the package doc).
	SignatureAlgorithm xmlsec.SignatureAlgorithm
	// IntermediaryCipher is the certificate orders are encrypted to.
	IntermediaryCipher *x509.Certificate
	// IntermediaryKeys decides which certificates may sign responses.
	IntermediaryKeys xmlsec.KeySelector
	Languages        string    // DesiredLanguages, default "de"
	Features         []Feature // announced features, default DefaultFeatures()

	MIME MIMELimits
	XML  xmlsec.Limits
	// RequestTimeout bounds one HTTP exchange, upload and response
	// included; default 10 minutes (200 MB messages).
	RequestTimeout time.Duration
	// ConnectRetries is how often a request that provably did not reach
	// the intermediary is repeated (dial/TLS failures, 429, 503); default 3.
	ConnectRetries int
	// RetryWaitMax caps the wait between such retries, Retry-After
	// included; default 30 s. Waits carry up to 25 % jitter.
	RetryWaitMax time.Duration

	Rand     io.Reader // challenges, boundaries, keys; required
	SpoolDir string    // request spools and ciphertext ("" = system temp dir)
	// HTTPClient is the transport to use (default: a pooled client).
	HTTPClient *http.Client
}

// Validate reports a configuration that cannot work.
func (c ClientConfig) Validate() error {
	if err := checkURL(c.URL, c.AllowInsecureHTTP); err != nil {
		return err
	}
	switch {
	case c.Signature == nil || c.Signature.Cert == nil || c.Signature.Key == nil:
		return errors.New("osci: client: no signature key")
	case c.Cipher == nil || c.Cipher.Cert == nil || c.Cipher.Key == nil:
		return errors.New("osci: client: no cipher key")
	case c.IntermediaryCipher == nil:
		return errors.New("osci: client: no intermediary cipher certificate")
	case c.IntermediaryKeys == nil:
		return errors.New("osci: client: no key selector for the intermediary's signature")
	case c.SignatureAlgorithm.URI() == "":
		return fmt.Errorf("osci: client: unknown signature algorithm %s", c.SignatureAlgorithm)
	case c.Rand == nil:
		return errors.New("osci: client: no randomness")
	case c.RequestTimeout < 0 || c.ConnectRetries < 0 || c.RetryWaitMax < 0:
		return errors.New("osci: client: negative timeout or retry count")
	}
	if _, ok := c.Cipher.Key.(crypto.Decrypter); !ok {
		return errors.New("osci: client: cipher key cannot decrypt")
	}
	return nil
}

// checkURL admits https, and http to a loopback host or when allowed.
func checkURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("osci: client: no URL")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("osci: client: URL %q is not an absolute http(s) URL", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return fmt.Errorf("osci: client: URL scheme %q, want https", u.Scheme)
	case allowHTTP || strings.EqualFold(u.Hostname(), "localhost"):
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInsecureURL, u.Redacted())
}

// Client sends OSCI orders of one mailbox identity to one intermediary. It
// retries only what provably did not reach the intermediary; anything else
// that fails after the request was sent is reported as ambiguous
// (IsAmbiguous), and the caller resolves it (a store by its process card).
type Client struct {
	cfg  ClientConfig
	http *retryablehttp.Client
}

// NewClient checks cfg and returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Languages == "" {
		cfg.Languages = "de"
	}
	if cfg.Features == nil {
		cfg.Features = DefaultFeatures()
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Minute
	}
	if cfg.ConnectRetries == 0 {
		cfg.ConnectRetries = 3
	}
	if cfg.RetryWaitMax == 0 {
		cfg.RetryWaitMax = 30 * time.Second
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	if cfg.HTTPClient != nil {
		rc.HTTPClient = cfg.HTTPClient
	}
	rc.RetryMax = cfg.ConnectRetries
	rc.RetryWaitMin = 200 * time.Millisecond
	rc.RetryWaitMax = cfg.RetryWaitMax
	rc.CheckRetry = checkRetry
	rc.Backoff = backoff(cfg.Rand)
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{cfg: cfg, http: rc}, nil
}

// notReached reports whether err proves that no request byte reached the
// intermediary: name resolution, the connection or the TLS handshake failed.
func notReached(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	return errors.As(err, &dns) || errors.As(err, &verify) || errors.As(err, &alert) ||
		errors.As(err, &record) || errors.As(err, &unknown) || errors.As(err, &host)
}

func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return notReached(err), nil
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable, nil
}

// backoff doubles from min, honours Retry-After, caps at max and adds up to
// 25 % jitter (never beyond max).
func backoff(rand io.Reader) retryablehttp.Backoff {
	return func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		d := min << uint(attempt)
		if resp != nil {
			if ra, ok := retryAfter(resp); ok {
				d = ra
			}
		}
		if d > max || d <= 0 {
			d = max
		}
		var b [1]byte
		_, _ = io.ReadFull(rand, b[:])
		d += d / 4 * time.Duration(b[0]) / 255
		if d > max {
			d = max
		}
		return d
	}
}

func retryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t), true
	}
	return 0, false
}

// exchange is one order and its response.
type exchange struct {
	req         *Message
	attachments []Attachment // octets as transmitted; Body re-opened via open
	open        xmlsec.AttachmentResolver
	sink        AttachmentStore // receives the response's attachments
	// whole, when set, learns on failure whether the response arrived
	// completely with status 200 (its failure is one of its content).
	whole *bool
}

// AttachmentStore keeps the attachments of a response as received and gives
// them back for signature checks and content decryption.
type AttachmentStore interface {
	AttachmentSink
	Open(contentID string) (io.ReadCloser, error)
}

func (c *Client) request(m *Message) {
	m.Languages = c.cfg.Languages
	m.Features = c.cfg.Features
	if m.NonIntermediary.Get(CipherOriginator) == nil {
		m.NonIntermediary = append(Certificates{NewCertEntry(CipherOriginator, 0, c.cfg.Cipher.Cert)}, m.NonIntermediary...)
	}
	m.NonIntermediary = append(m.NonIntermediary, NewCertEntry(SignatureOriginator, 0, c.cfg.Signature.Cert))
}

// do sends x and returns the verified response. Errors: *TransportError
// (see Stage), or *UnverifiedError for a SOAP fault or a response whose
// signature did not verify (both ambiguous: the order may have been
// executed).
func (c *Client) do(ctx context.Context, x exchange) (*Verified, *Incoming, error) {
	c.request(x.req)
	var cids []string
	for _, a := range x.attachments {
		cids = append(cids, a.ContentID)
	}
	env, err := x.req.SignedEnvelope(Signer{Key: c.cfg.Signature.Key, Certificate: c.cfg.Signature.Cert, Algorithm: c.cfg.SignatureAlgorithm, Rand: c.cfg.Rand}, x.open, cids...)
	if err != nil {
		return nil, nil, err
	}
	framed, err := FrameMessage(WriteOptions{Rand: c.cfg.Rand, EncryptTo: c.cfg.IntermediaryCipher, SpoolDir: c.cfg.SpoolDir}, env, x.attachments...)
	if err != nil {
		return nil, nil, err
	}
	defer framed.Close()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	body := retryablehttp.ReaderFunc(func() (io.Reader, error) { return framed.NewReader(), nil })
	hreq, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, body)
	if err != nil {
		return nil, nil, err
	}
	hreq.Header.Set("Content-Type", "text/xml")
	resp, err := c.http.Do(hreq)
	if err != nil {
		stage := StageSent
		if notReached(err) {
			stage = StageConnect
		}
		return nil, nil, &TransportError{Stage: stage, Err: err}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return nil, nil, &TransportError{Stage: StageRejected, StatusCode: resp.StatusCode, Err: errors.New(resp.Status)}
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError:
		// A 500 may carry a SOAP fault; other statuses are not OSCI answers.
		return nil, nil, &TransportError{Stage: StageSent, StatusCode: resp.StatusCode, Err: errors.New(resp.Status)}
	}
	in, err := c.readResponse(resp.Body, x.sink)
	var fault *FaultError
	switch {
	case in != nil && in.Message != nil && in.Message.Type == TypeFault && errors.As(err, &fault):
		err = &UnverifiedError{Err: fault}
	case err != nil:
		err = &TransportError{Stage: StageSent, StatusCode: resp.StatusCode, Err: err}
	default:
		var v *Verified
		if v, err = c.verifyResponse(ctx, in, x.sink); err == nil {
			return v, in, nil
		}
		err = &UnverifiedError{Err: err}
	}
	if x.whole != nil {
		*x.whole = resp.StatusCode == http.StatusOK && drained(resp.Body, c.maxResponse())
	}
	return nil, in, err
}

// readResponse reads a response body: MIME, transport decryption with our
// cipher key (required), parsing. A SOAP fault returns its *FaultError
// with the Incoming.
func (c *Client) readResponse(body io.Reader, sink AttachmentStore) (*Incoming, error) {
	var s AttachmentSink
	if sink != nil {
		s = sink
	}
	return ReadMessage(body, ReadOptions{
		MIME: c.cfg.MIME, XML: c.cfg.XML, RequireEncryption: true, Sink: s,
		Decrypter: &xmlenc.Decrypter{Key: c.cfg.Cipher.Key.(crypto.Decrypter), SpoolDir: c.cfg.SpoolDir},
	})
}

// verifyResponse checks the SupplierSignature of a response read by
// readResponse with the intermediary's keys and returns only what it signed.
func (c *Client) verifyResponse(ctx context.Context, in *Incoming, sink AttachmentStore) (*Verified, error) {
	var ids []string
	for _, a := range in.Entity.Attachments {
		ids = append(ids, a.Header.ContentID)
	}
	var open xmlsec.AttachmentResolver
	if sink != nil {
		open = sink.Open
	}
	return in.Message.Verify(ctx, VerifyOptions{Keys: c.cfg.IntermediaryKeys, Attachments: open, AttachmentIDs: ids})
}

// maxResponse is the most octets of a response body read to learn whether
// it arrived whole.
func (c *Client) maxResponse() int64 {
	return c.cfg.MIME.withDefaults().MaxTotalBytes + 64<<10
}

// drained reads what is left of a response body that could not be read,
// at most max octets, and reports whether it ended cleanly: the response
// arrived whole, and its failure is one of its content, not of the line.
func drained(body io.Reader, max int64) bool {
	n, err := io.Copy(io.Discard, io.LimitReader(body, max+1))
	return err == nil && n <= max
}

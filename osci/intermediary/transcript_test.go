package intermediary

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"

	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Transcripts: every HTTP exchange between our client and the simulator, as
// recorded on the wire and decrypted here with the keys the test holds (the
// simulator's cipher key for orders, the client's for responses). They are
// byte-stable because clock and randomness are injected everywhere:
// challenges, ConversationIds, MessageIds, boundaries, AES keys and IVs, and
// the RSA-OAEP seeds (crypto/rsa ignores a caller's random source only for key
// generation; EncryptOAEP and SignPSS draw from the reader they are given).
// Signatures are rsa-sha256 (PKCS#1 v1.5). Nothing is replaced by a
// placeholder; the SHA-256 of each body's wire octets is recorded as well.

// wireExchange is one HTTP exchange as it crossed the wire.
type wireExchange struct {
	who     string // whose client sent it: its cipher key decrypts the response
	path    string
	ctype   string
	req     []byte
	rtErr   error // no response
	status  int
	rctype  string
	resp    []byte
	bodyErr error // the response body broke off
}

// recorder is an http.RoundTripper that keeps each exchange's octets and
// hands the client exactly what arrived, including a body that breaks off.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []*wireExchange
}

type recordingTransport struct {
	r   *recorder
	who string
}

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	x := &wireExchange{who: rt.who, path: req.URL.Path, ctype: req.Header.Get("Content-Type"), req: body}
	rt.r.mu.Lock()
	rt.r.log = append(rt.r.log, x)
	rt.r.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body, out.ContentLength, out.GetBody = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
	resp, err := rt.r.next.RoundTrip(out)
	if err != nil {
		x.rtErr = err
		return nil, err
	}
	x.status, x.rctype = resp.StatusCode, resp.Header.Get("Content-Type")
	x.resp, x.bodyErr = io.ReadAll(resp.Body)
	resp.Body.Close()
	var rest io.Reader = bytes.NewReader(x.resp)
	if x.bodyErr != nil {
		rest = io.MultiReader(rest, errReader{x.bodyErr})
	}
	resp.Body = io.NopCloser(rest)
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func (r *recorder) since(n int) []*wireExchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*wireExchange(nil), r.log[n:]...)
}

// transcript is one recorded run against a fresh simulator.
type transcript struct {
	t         *testing.T
	sim       *Server
	srv       *httptest.Server
	rec       *recorder
	out       strings.Builder
	step      int
	n         int                // exchanges taken from the recorder
	exchanges int                // exchanges rendered
	sent      []osci.MessageType // order types of the last step
}

func newTranscript(t *testing.T, title string, faults ...Fault) *transcript {
	sim, srv := newSimulator(t, faults...)
	tr := &transcript{t: t, sim: sim, srv: srv, rec: &recorder{next: srv.Client().Transport}}
	fmt.Fprintf(&tr.out, "# %s\n", title)
	for _, f := range faults {
		fmt.Fprintf(&tr.out, "# injected fault: %s\n", describeFault(f))
	}
	tr.out.WriteString("# Each HTTP exchange as recorded on the wire, with the SHA-256 of the body octets: MIME headers\n" +
		"# and SOAP parts verbatim (CRLF shown as LF), the transport-encrypted part decrypted with the\n" +
		"# recipient's cipher key, attachments as size and SHA-256. \"=\" lines summarize a SOAP part,\n" +
		"# \"==>\" lines say what the client made of the step.\n")
	return tr
}

func describeFault(f Fault) string {
	kinds := map[FaultKind]string{FaultDelay: "delay", FaultStatus: "http status", FaultDropMidBody: "connection dropped mid-body",
		FaultTruncateXML: "truncated xml", FaultWrongSignature: "wrong signature", FaultWrongSequence: "wrong sequence number", FaultSOAP: "soap fault",
		FaultFeedback: "signed feedback"}
	s := fmt.Sprintf("%s on %s", kinds[f.Kind], f.Type)
	if f.Nth > 0 {
		s += fmt.Sprintf(" #%d", f.Nth)
	}
	switch f.Kind {
	case FaultDelay:
		s += fmt.Sprintf(" (%v)", f.Delay)
	case FaultStatus:
		s += fmt.Sprintf(" (%d, after executing: %v)", f.Status, f.AfterExecute)
	case FaultSOAP:
		s += fmt.Sprintf(" (%s, after executing: %v)", f.Code, f.AfterExecute)
	case FaultFeedback:
		s += fmt.Sprintf(" (%s)", f.Code)
	}
	return s
}

// client returns a client of who whose exchanges are recorded.
func (tr *transcript) client(who string, cfg func(*osci.ClientConfig)) *osci.Client {
	c := clientConfig(tr.t, tr.srv.URL, who)
	c.HTTPClient = &http.Client{Transport: recordingTransport{r: tr.rec, who: who}}
	if cfg != nil {
		cfg(&c)
	}
	cl, err := osci.NewClient(c)
	if err != nil {
		tr.t.Fatal(err)
	}
	return cl
}

// do runs one client operation and records its exchanges and outcome;
// tr.sent holds the order types it sent.
func (tr *transcript) do(title string, op func() error) error {
	tr.t.Helper()
	tr.step++
	err := op()
	xs := tr.rec.since(tr.n)
	tr.n += len(xs)
	fmt.Fprintf(&tr.out, "\n######## step %d: %s\n", tr.step, title)
	tr.sent = nil
	for _, x := range xs {
		tr.sent = append(tr.sent, tr.render(x))
	}
	fmt.Fprintf(&tr.out, "\n==> client: %s\n", outcome(err))
	return err
}

func (tr *transcript) note(format string, args ...any) {
	fmt.Fprintf(&tr.out, "==> "+format+"\n", args...)
}

func (tr *transcript) finish(name string) {
	if tr.t.Failed() {
		return
	}
	certstest.Golden(tr.t, filepath.Join(certstest.RepoRoot(tr.t), "testdata", "osci", filepath.FromSlash(name)), []byte(tr.out.String()), *update)
}

// render writes one exchange and returns the order's type.
func (tr *transcript) render(x *wireExchange) osci.MessageType {
	w := &tr.out
	tr.exchanges++
	idx := tr.exchanges
	path := x.path
	if path == "" {
		path = "/"
	}
	fmt.Fprintf(w, "\n>>> request %d: %s POST %s, Content-Type %q, %d octets, SHA-256 %x\n", idx, x.who, path, x.ctype, len(x.req), sha256.Sum256(x.req))
	typ := tr.entity(w, x.req, decrypter(tr.t, "osci_manager_cipher_4096"), false, 0)
	switch {
	case x.rtErr != nil:
		fmt.Fprintf(w, "<<< no response: %s\n", describeWireErr(x.rtErr))
		return typ
	default:
		fmt.Fprintf(w, "<<< response %d: HTTP %d, Content-Type %q, %d octets, SHA-256 %x", idx, x.status, x.rctype, len(x.resp), sha256.Sum256(x.resp))
		if x.bodyErr != nil {
			fmt.Fprintf(w, ", then the body broke off: %s", describeWireErr(x.bodyErr))
		}
		w.WriteString("\n")
	}
	if len(x.resp) > 0 {
		tr.entity(w, x.resp, decrypter(tr.t, x.who+"_cipher_4096"), x.bodyErr != nil, 0)
	}
	return typ
}

func describeWireErr(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout (context deadline exceeded)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	}
	return fmt.Sprintf("%T", err)
}

var (
	boundaryParam = regexp.MustCompile(`boundary=([^;\s]+)`)
	contentID     = regexp.MustCompile(`(?im)^Content-ID:\s*<([^>]*)>`)
)

// entity writes a MIME entity: headers and SOAP parts verbatim, attachments
// by size and hash, the transport-encrypted part decrypted with key. It
// returns the type of the innermost message.
func (tr *transcript) entity(w *strings.Builder, b []byte, key *xmlenc.Decrypter, cut bool, depth int) osci.MessageType {
	head, rest, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	writeLines(w, "| ", head)
	if !ok {
		fmt.Fprintf(w, "[entity headers end here: %d octets, cut]\n", len(b))
		return osci.TypeUnknown
	}
	w.WriteString("|\n")
	m := boundaryParam.FindSubmatch(head)
	if m == nil {
		fmt.Fprintf(w, "[no boundary; %d octets of body]\n", len(rest))
		return osci.TypeUnknown
	}
	delim := []byte("--" + string(m[1]))
	typ := osci.TypeUnknown
	var outer []byte
	if !bytes.HasPrefix(rest, delim) {
		fmt.Fprintf(w, "[body does not start with the boundary: %d octets]\n", len(rest))
		return typ
	}
	rest = rest[len(delim):]
	for n := 1; ; n++ {
		if bytes.HasPrefix(rest, []byte("--")) {
			if tail := rest[2:]; !bytes.Equal(tail, []byte("\r\n")) {
				fmt.Fprintf(w, "[closing delimiter followed by %d octets]\n", len(tail))
			}
			fmt.Fprintf(w, "[end of %s]\n", map[int]string{0: "entity", 1: "decrypted entity"}[depth])
			return typ
		}
		rest = bytes.TrimPrefix(rest, []byte("\r\n"))
		ph, body, ok := bytes.Cut(rest, []byte("\r\n\r\n"))
		fmt.Fprintf(w, "--- part %d\n", n)
		writeLines(w, "| ", ph)
		if !ok {
			fmt.Fprintf(w, "[part headers cut after %d octets]\n", len(rest))
			return typ
		}
		w.WriteString("|\n")
		end := bytes.Index(body, append([]byte("\r\n"), delim...))
		complete := end >= 0
		if complete {
			rest = body[end+2+len(delim):]
			body = body[:end]
		}
		cid := ""
		if c := contentID.FindSubmatch(ph); c != nil {
			cid = string(c[1])
		}
		switch cid {
		case osci.SOAPContentID:
			writeLines(w, "  ", body)
			if !complete {
				fmt.Fprintf(w, "[SOAP part cut after %d octets]\n", len(body))
				return typ
			}
			outer = body
			typ = tr.summary(w, body)
		case osci.EncryptedContentID:
			if !complete || cut {
				fmt.Fprintf(w, "[IV, ciphertext and tag: %d octets received, cut; cannot be authenticated or decrypted]\n", len(body))
				return typ
			}
			fmt.Fprintf(w, "[IV, ciphertext and tag: %d octets; decrypted:]\n", len(body))
			plain, err := decryptTransport(outer, body, key)
			if err != nil {
				fmt.Fprintf(w, "[decryption failed: %v]\n", errors.Is(err, xmlenc.ErrDecrypt))
				tr.t.Errorf("transport decryption of a recorded message: %v", err)
				return typ
			}
			typ = tr.entity(w, plain, key, false, depth+1)
		default:
			sum := sha256.Sum256(body)
			fmt.Fprintf(w, "[attachment: %d octets, SHA-256 %x]\n", len(body), sum)
			if !complete {
				fmt.Fprintf(w, "[attachment cut]\n")
				return typ
			}
		}
	}
}

func writeLines(w *strings.Builder, prefix string, b []byte) {
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		w.WriteString(strings.TrimRight(prefix+l, " ") + "\n")
	}
}

type bytesPart []byte

func (p bytesPart) OpenPart(cid string) (io.ReadCloser, error) {
	if cid != osci.EncryptedContentID {
		return nil, fmt.Errorf("no part %q", cid)
	}
	return io.NopCloser(bytes.NewReader(p)), nil
}

// decryptTransport decrypts the cid:osci_enc part of a soapMessageEncrypted
// envelope.
func decryptTransport(envelope, part []byte, key *xmlenc.Decrypter) ([]byte, error) {
	doc, err := xmlsec.ParseBytes(envelope, xmlsec.Limits{})
	if err != nil {
		return nil, err
	}
	ed := doc.FindElement("//EncryptedData")
	if ed == nil {
		return nil, errors.New("no EncryptedData")
	}
	dec := *key
	dec.Parts = bytesPart(part)
	var plain bytes.Buffer
	if _, err := dec.DecryptTo(&plain, ed); err != nil {
		return nil, err
	}
	return plain.Bytes(), nil
}

// summary writes the ControlBlock, Feedback and process cards of a SOAP part.
func (tr *transcript) summary(w *strings.Builder, soap []byte) osci.MessageType {
	m, err := osci.Parse(soap, xmlsec.Limits{})
	var fe *osci.FaultError
	switch {
	case errors.As(err, &fe):
		fmt.Fprintf(w, "= SOAP fault: code %s, server %v, text %q\n", fe.Code, fe.Server, fe.Text)
		return osci.TypeFault
	case err != nil:
		fmt.Fprintf(w, "= does not parse: %s\n", classify(err))
		return osci.TypeUnknown
	}
	if m.Type == osci.TypeMessageEncrypted {
		fmt.Fprintf(w, "= soapMessageEncrypted\n")
		return m.Type
	}
	cb := m.ControlBlock
	fmt.Fprintf(w, "= %s; ControlBlock: Response %q, Challenge %q, ConversationId %q, SequenceNumber %d\n",
		m.Type, cb.Response, cb.Challenge, cb.ConversationID, cb.SequenceNumber)
	for _, f := range m.Feedback {
		fmt.Fprintf(w, "= Feedback %s %q\n", f.Code, f.Text)
	}
	if m.MessageID != "" {
		fmt.Fprintf(w, "= MessageId %s\n", m.MessageID)
	}
	for _, pc := range m.ProcessCards {
		p := pc.ProcessCard
		fmt.Fprintf(w, "= ProcessCard %s: creation %s, forwarding %s, reception %s, inspections %d\n",
			pc.MessageID, stamp(p.Creation), stamp(p.Forwarding), stamp(p.Reception), len(pc.Inspections))
	}
	return m.Type
}

func stamp(t *osci.Timestamp) string {
	if t == nil {
		return "-"
	}
	return osci.FormatTime(t.Time)
}

// outcome says what the client made of an operation: the error, its class
// (temporary, permanent, ambiguous) without run-dependent text.
func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return fmt.Sprintf("error %s, class %s", describe(err), class(err))
}

// class is ok, ambiguous (may have been executed: resolve, do not repeat),
// temporary (not executed, may succeed when repeated) or permanent.
func class(err error) string {
	switch {
	case err == nil:
		return "ok"
	case osci.IsAmbiguous(err):
		return "ambiguous"
	case osci.Temporary(err):
		return "temporary"
	}
	return "permanent"
}

// describe names an error by its type and the sentinels it wraps.
func describe(err error) string {
	var te *osci.TransportError
	var fe *osci.FaultError
	var fb *osci.FeedbackError
	s := ""
	switch {
	case errors.As(err, &fb):
		s = fmt.Sprintf("feedback(%s)", fb.Code)
	case errors.As(err, &fe) && errors.Is(err, osci.ErrUnverified):
		s = fmt.Sprintf("unverified fault(%s)", fe.Code)
	case errors.As(err, &fe):
		s = fmt.Sprintf("fault(%s)", fe.Code)
	case errors.Is(err, osci.ErrUnverified):
		s = "unverified answer"
	case errors.As(err, &te):
		stage := map[osci.Stage]string{osci.StageConnect: "connect", osci.StageRejected: "rejected", osci.StageSent: "sent"}[te.Stage]
		s = fmt.Sprintf("transport(stage=%s, http=%d)", stage, te.StatusCode)
	default:
		s = "unclassified"
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"mime truncated", osci.ErrMIMETruncated}, {"signature invalid", osci.ErrSignature}, {"dialog mismatch", osci.ErrDialogMismatch},
		{"session closed", osci.ErrSessionClosed}, {"unacknowledged", osci.ErrUnacknowledged}, {"timeout", context.DeadlineExceeded},
		{"unexpected EOF", io.ErrUnexpectedEOF}, {"missing SOAP part", osci.ErrMissingSOAPPart}, {"mime malformed", osci.ErrMIME},
	} {
		if errors.Is(err, c.err) {
			s += ": " + c.name
		}
	}
	return s
}

package intermediary

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Config configures a simulator.
type Config struct {
	Cipher    *certs.KeyPair // decrypts orders (the certificate clients encrypt to)
	Signature *certs.KeyPair // signs responses
	DataDir   string         // deliveries as received; created if missing
	Now       func() time.Time
	Rand      io.Reader
	MIME      osci.MIMELimits
	XML       xmlsec.Limits
	Faults    []Fault
	// Log, when set, receives one line per order and the reason of every
	// fault (no message content, no keys).
	Log func(format string, args ...any)
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Cipher == nil || c.Cipher.Key == nil || c.Cipher.Cert == nil:
		return errors.New("intermediary: no cipher key")
	case c.Signature == nil || c.Signature.Key == nil || c.Signature.Cert == nil:
		return errors.New("intermediary: no signature key")
	case c.DataDir == "":
		return errors.New("intermediary: no data directory")
	case c.Now == nil || c.Rand == nil:
		return errors.New("intermediary: no clock or randomness")
	}
	if _, ok := c.Cipher.Key.(crypto.Decrypter); !ok {
		return errors.New("intermediary: cipher key cannot decrypt")
	}
	return nil
}

// Server is the simulator; it is an http.Handler for any path.
type Server struct {
	cfg Config

	mu         sync.Mutex // one order at a time: the dialog table is the simulator's state
	issued     map[string]bool
	used       map[string]bool
	deliveries map[string]*delivery
	order      []string
	dialogs    map[string]*dialog
	nextConv   int64
	counts     map[osci.MessageType]int
	seq        int
}

type delivery struct {
	id         string
	mailbox    string // hex SHA-256 of the addressee's cipher certificate
	originator string // hex SHA-256 of the originator's cipher certificate
	dir        string
	content    []byte
	atts       []string // Content-IDs, files in dir
	sums       [][]byte // SHA-256 of each of atts, taken when it was received
	certs      osci.Certificates
	card       osci.ProcessCardBundle
}

type dialog struct {
	sd      *osci.SupplierDialog
	fetcher string // hex SHA-256 of the client's cipher certificate
	cipher  *x509.Certificate
	pending string // delivery handed out, awaiting the next order (Reception)
}

// New checks cfg and returns a simulator with empty state.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("intermediary: %w", err)
	}
	return &Server{cfg: cfg, issued: map[string]bool{}, used: map[string]bool{}, deliveries: map[string]*delivery{},
		dialogs: map[string]*dialog{}, counts: map[osci.MessageType]int{}}, nil
}

func fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return certs.Fingerprint(c)
}

// request is one order being answered.
type request struct {
	in      *osci.Incoming
	msg     *osci.Message // verified when signed
	atts    *osci.DirAttachments
	tmp     string
	client  *x509.Certificate // CipherCertificateOriginator: responses are encrypted to it
	encrypt bool
	fault   *Fault // injected for this order, or nil
}

// ServeHTTP answers one OSCI order. The order is read (and decrypted)
// before the simulator's lock is taken, and the answer is prepared under
// the lock into a spool and sent after it: a client that sends or reads
// slowly holds up only itself. The body is read at most up to the MIME
// limit (MIMELimits.MaxTotalBytes).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "OSCI orders are POSTed", http.StatusMethodNotAllowed)
		return
	}
	tmp, err := os.MkdirTemp(filepath.Join(s.cfg.DataDir, "tmp"), "req-")
	if err != nil {
		http.Error(w, "spool", http.StatusInternalServerError)
		return
	}
	defer os.RemoveAll(tmp)
	req := &request{tmp: tmp, atts: &osci.DirAttachments{Dir: tmp}}
	in, err := osci.ReadMessage(http.MaxBytesReader(w, r.Body, s.maxBody()), osci.ReadOptions{MIME: s.cfg.MIME, XML: s.cfg.XML, Sink: req.atts,
		Decrypter: &xmlenc.Decrypter{Key: s.cfg.Cipher.Key.(crypto.Decrypter), SpoolDir: tmp}})
	rp := s.handle(r.Context(), req, in, err)
	defer rp.close()
	rp.send(w)
}

// maxBody is the most octets read of a request body.
func (s *Server) maxBody() int64 {
	return limit.Fill(s.cfg.MIME, osci.DefaultMIMELimits()).MaxTotalBytes + 64<<10 // an epilogue after the closing delimiter
}

// handle answers an order read by ServeHTTP, holding the lock except
// while an injected delay waits.
func (s *Server) handle(ctx context.Context, req *request, in *osci.Incoming, err error) *reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if err != nil {
		code := osci.FaultCode(err)
		if errors.Is(err, xmlenc.ErrDecrypt) {
			code = osci.CodeDecryptFailed
		}
		s.logf("request %d: fault %s: %v", s.seq, code, err)
		return s.faultReply(code)
	}
	if in.Message.Type.IsResponse() || in.Message.Type == osci.TypeFault {
		return s.faultReply(osci.CodeInvalidMessage)
	}
	req.in, req.msg, req.encrypt = in, in.Message, in.Encrypted || in.Message.Type == osci.TypeInitDialog
	req.client = in.Message.NonIntermediary.Get(osci.CipherOriginator)
	s.counts[req.msg.Type]++
	f := s.fault(req.msg.Type)
	switch {
	case f == nil:
	case f.Kind == FaultDelay:
		s.mu.Unlock()
		waited := f.wait(ctx)
		s.mu.Lock()
		if !waited {
			return &reply{}
		}
	case f.Kind == FaultStatus && !f.AfterExecute:
		return &reply{status: f.Status}
	case f.Kind == FaultSOAP && !f.AfterExecute:
		return s.faultReply(f.Code)
	}
	req.fault = f
	resp, atts, err := s.answer(ctx, req)
	if err != nil {
		s.logf("request %d: %s conversation %q sequence %d: fault %s: %v", s.seq, req.msg.Type,
			req.msg.ControlBlock.ConversationID, req.msg.ControlBlock.SequenceNumber, osci.FaultCode(err), err)
		return s.faultReply(osci.FaultCode(err))
	}
	if f != nil && f.Kind == FaultSOAP {
		s.logf("request %d: %s executed, answered with fault %s", s.seq, req.msg.Type, f.Code)
		return s.faultReply(f.Code)
	}
	s.logf("request %d: %s conversation %q sequence %d: feedback %v", s.seq, req.msg.Type,
		req.msg.ControlBlock.ConversationID, req.msg.ControlBlock.SequenceNumber, feedbackCodes(resp.Feedback))
	return s.respond(req, resp, atts, f)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		s.cfg.Log(format, args...)
	}
}

// faultReply is an unsigned SOAP fault.
func (s *Server) faultReply(c osci.Code) *reply {
	var b bytes.Buffer
	_ = osci.WriteMessage(&b, osci.WriteOptions{Rand: s.cfg.Rand}, osci.FaultEnvelope(c, ""))
	return &reply{small: b.Bytes()}
}

// respond signs the response, encrypts it to the client and spools it,
// applying a response fault.
func (s *Server) respond(req *request, resp *osci.Message, d *delivery, f *Fault) *reply {
	if f != nil && f.Kind == FaultStatus && f.AfterExecute {
		return &reply{status: f.Status}
	}
	resp.Intermediary = osci.Certificates{osci.NewCertEntry(osci.SignatureIntermediary, 0, s.cfg.Signature.Cert)}
	if f != nil && f.Kind == FaultWrongSequence {
		resp.ControlBlock.SequenceNumber++
	}
	var atts []osci.Attachment
	var cids []string
	open := func(cid string) (io.ReadCloser, error) { return nil, fmt.Errorf("no attachment %q", cid) }
	if d != nil {
		// The response's signature digests each attachment as stored,
		// with the digest taken when it was received.
		open = func(cid string) (io.ReadCloser, error) {
			f, err := os.Open(attachmentPath(d.dir, cid))
			if err != nil {
				return nil, err
			}
			if i := slices.Index(d.atts, cid); i >= 0 && d.sums[i] != nil {
				return xmlsec.WithKnownDigest(f, crypto.SHA256, d.sums[i]), nil
			}
			return f, nil
		}
		for _, cid := range d.atts {
			fh, err := os.Open(attachmentPath(d.dir, cid))
			if err != nil {
				return s.faultReply(osci.CodeInternal)
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				return s.faultReply(osci.CodeInternal)
			}
			atts = append(atts, osci.Attachment{ContentID: cid, Size: st.Size(), Body: fh})
			cids = append(cids, cid)
		}
	}
	env, err := resp.SignedEnvelope(osci.Signer{Key: s.cfg.Signature.Key, Certificate: s.cfg.Signature.Cert, Rand: s.cfg.Rand}, open, cids...)
	if err != nil {
		return s.faultReply(osci.CodeInternal)
	}
	if f != nil && f.Kind == FaultWrongSignature {
		env = corruptSignature(env)
	}
	o := osci.WriteOptions{Rand: s.cfg.Rand, SpoolDir: req.tmp}
	if req.encrypt {
		if req.client == nil {
			return s.faultReply(osci.CodeClientCipherMissing)
		}
		o.EncryptTo = req.client
	}
	rp := &reply{}
	if o.EncryptTo != nil {
		// The ciphertext is sent from its spool; no second copy is made.
		fr, err := osci.FrameMessage(o, env, atts...)
		if err != nil {
			return s.faultReply(osci.CodeInternal)
		}
		rp.framed = fr
	} else {
		spool, err := os.CreateTemp(req.tmp, "resp-")
		if err != nil {
			return s.faultReply(osci.CodeInternal)
		}
		rp.body = spool
		if err := osci.WriteMessage(spool, o, env, atts...); err != nil {
			rp.close()
			return s.faultReply(osci.CodeInternal)
		}
	}
	if f != nil && (f.Kind == FaultDropMidBody || f.Kind == FaultTruncateXML) {
		rp.cut = f.cutAt()
	}
	return rp
}

// reply is an answer prepared under the lock, sent after it.
type reply struct {
	status int      // an HTTP status without body; 0: 200
	small  []byte   // a body in memory (faults)
	body   *os.File // a spooled body
	framed *osci.Framed
	cut    int // > 0: send only this many octets, then hang up
}

func (rp *reply) send(w http.ResponseWriter) {
	switch {
	case rp.status != 0:
		w.WriteHeader(rp.status)
	case rp.small != nil:
		_, _ = w.Write(rp.small)
	case rp.framed != nil:
		if rp.cut > 0 && rp.framed.Size() > int64(rp.cut) {
			_, _ = io.CopyN(w, rp.framed.NewReader(), int64(rp.cut))
			hangUp(w)
			return
		}
		_, _ = io.Copy(w, rp.framed.NewReader())
	case rp.body != nil:
		if _, err := rp.body.Seek(0, io.SeekStart); err != nil {
			hangUp(w)
			return
		}
		st, err := rp.body.Stat()
		switch {
		case err != nil:
			hangUp(w)
		case rp.cut > 0 && st.Size() > int64(rp.cut):
			_, _ = io.CopyN(w, rp.body, int64(rp.cut))
			hangUp(w)
		default:
			_, _ = io.Copy(w, rp.body)
		}
	}
}

func (rp *reply) close() {
	if rp.body != nil {
		rp.body.Close()
	}
	if rp.framed != nil {
		rp.framed.Close()
	}
}

func attachmentPath(dir, cid string) string {
	s := sha256.Sum256([]byte(cid))
	return filepath.Join(dir, "attachments", hex.EncodeToString(s[:]))
}

// offeredKey accepts the certificate a message offers for its own signature,
// within its validity period: the simulator checks possession, not identity.
type offeredKey struct{ now func() time.Time }

func (k offeredKey) SelectSigner(_ context.Context, offered []*x509.Certificate) (*x509.Certificate, *certs.Result, error) {
	if len(offered) == 0 {
		return nil, nil, errors.New("intermediary: no signer certificate offered")
	}
	c := offered[0]
	if t := k.now(); t.Before(c.NotBefore) || t.After(c.NotAfter) {
		return nil, nil, certs.ErrExpired
	}
	return c, &certs.Result{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		Fingerprint: fingerprint(c), Purpose: certs.PurposeSignature}, nil
}

func feedbackCodes(f osci.Feedback) []string {
	var out []string
	for _, e := range f {
		out = append(out, e.Code.String())
	}
	return out
}

package intermediary

import (
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
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
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

// ServeHTTP answers one OSCI order.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "OSCI orders are POSTed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	tmp := filepath.Join(s.cfg.DataDir, "tmp", fmt.Sprintf("req-%d", s.seq))
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		http.Error(w, "spool", http.StatusInternalServerError)
		return
	}
	defer os.RemoveAll(tmp)
	req := &request{tmp: tmp, atts: &osci.DirAttachments{Dir: tmp}}
	in, err := osci.ReadMessage(r.Body, osci.ReadOptions{MIME: s.cfg.MIME, XML: s.cfg.XML, Sink: req.atts,
		Decrypter: &xmlenc.Decrypter{Key: s.cfg.Cipher.Key.(crypto.Decrypter), SpoolDir: tmp}})
	if err != nil {
		code := osci.FaultCode(err)
		if errors.Is(err, xmlenc.ErrDecrypt) {
			code = osci.CodeDecryptFailed
		}
		s.logf("request %d: fault %s: %v", s.seq, code, err)
		s.writeFault(w, code)
		return
	}
	if in.Message.Type.IsResponse() || in.Message.Type == osci.TypeFault {
		s.writeFault(w, osci.CodeInvalidMessage)
		return
	}
	req.in, req.msg, req.encrypt = in, in.Message, in.Encrypted || in.Message.Type == osci.TypeInitDialog
	req.client = in.Message.NonIntermediary.Get(osci.CipherOriginator)
	s.counts[req.msg.Type]++
	f := s.fault(req.msg.Type)
	if f != nil && f.before(r.Context(), w) {
		return
	}
	if f != nil && f.Kind == FaultSOAP && !f.AfterExecute {
		s.writeFault(w, f.Code)
		return
	}
	req.fault = f
	resp, atts, err := s.answer(r.Context(), req)
	if err != nil {
		s.logf("request %d: %s conversation %q sequence %d: fault %s: %v", s.seq, req.msg.Type,
			req.msg.ControlBlock.ConversationID, req.msg.ControlBlock.SequenceNumber, osci.FaultCode(err), err)
		s.writeFault(w, osci.FaultCode(err))
		return
	}
	if f != nil && f.Kind == FaultSOAP {
		s.logf("request %d: %s executed, answered with fault %s", s.seq, req.msg.Type, f.Code)
		s.writeFault(w, f.Code)
		return
	}
	s.logf("request %d: %s conversation %q sequence %d: feedback %v", s.seq, req.msg.Type,
		req.msg.ControlBlock.ConversationID, req.msg.ControlBlock.SequenceNumber, feedbackCodes(resp.Feedback))
	s.respond(w, req, resp, atts, f)
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Log != nil {
		s.cfg.Log(format, args...)
	}
}

func (s *Server) writeFault(w http.ResponseWriter, c osci.Code) {
	_ = osci.WriteMessage(w, osci.WriteOptions{Rand: s.cfg.Rand}, osci.FaultEnvelope(c, ""))
}

// respond signs the response, encrypts it to the client and writes it,
// applying a response fault.
func (s *Server) respond(w http.ResponseWriter, req *request, resp *osci.Message, d *delivery, f *Fault) {
	if f != nil && f.Kind == FaultStatus && f.AfterExecute {
		w.WriteHeader(f.Status)
		return
	}
	resp.Intermediary = osci.Certificates{osci.NewCertEntry(osci.SignatureIntermediary, 0, s.cfg.Signature.Cert)}
	if f != nil && f.Kind == FaultWrongSequence {
		resp.ControlBlock.SequenceNumber++
	}
	var atts []osci.Attachment
	var cids []string
	open := func(cid string) (io.ReadCloser, error) { return nil, fmt.Errorf("no attachment %q", cid) }
	if d != nil {
		open = func(cid string) (io.ReadCloser, error) { return os.Open(attachmentPath(d.dir, cid)) }
		for _, cid := range d.atts {
			fh, err := os.Open(attachmentPath(d.dir, cid))
			if err != nil {
				s.writeFault(w, osci.CodeInternal)
				return
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				s.writeFault(w, osci.CodeInternal)
				return
			}
			atts = append(atts, osci.Attachment{ContentID: cid, Size: st.Size(), Body: fh})
			cids = append(cids, cid)
		}
	}
	env, err := resp.SignedEnvelope(osci.Signer{Key: s.cfg.Signature.Key, Certificate: s.cfg.Signature.Cert, Rand: s.cfg.Rand}, open, cids...)
	if err != nil {
		s.writeFault(w, osci.CodeInternal)
		return
	}
	if f != nil && f.Kind == FaultWrongSignature {
		env = corruptSignature(env)
	}
	o := osci.WriteOptions{Rand: s.cfg.Rand, SpoolDir: req.tmp}
	if req.encrypt {
		if req.client == nil {
			s.writeFault(w, osci.CodeClientCipherMissing)
			return
		}
		o.EncryptTo = req.client
	}
	out := io.Writer(w)
	if f != nil && (f.Kind == FaultDropMidBody || f.Kind == FaultTruncateXML) {
		out = &cutWriter{w: w, left: f.cutAt()}
	}
	if err := osci.WriteMessage(out, o, env, atts...); err != nil {
		if cw, ok := out.(*cutWriter); ok && cw.left <= 0 {
			hangUp(w)
		}
		return
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

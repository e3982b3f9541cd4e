package osci

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// WriteOptions say how WriteMessage frames a message.
type WriteOptions struct {
	Rand io.Reader // boundary, keys, IVs
	// EncryptTo, when set, transport-encrypts the whole entity to this cipher
	// certificate (the intermediary's for orders, the client's
	// CipherCertificateOriginator for responses).
	EncryptTo *x509.Certificate
	// SpoolDir holds the ciphertext while the envelope that must precede it
	// is finished ("" = system temporary directory). It holds ciphertext
	// only, and only of a message larger than SpoolMemory.
	SpoolDir string
}

// SpoolMemory is how much ciphertext a framed message keeps in memory
// before it goes to a file in SpoolDir: orders and answers without large
// attachments never touch the disk.
const SpoolMemory = 256 << 10

// WriteMessage writes envelope and attachments as the HTTP body of an OSCI
// message: plain, or transport-encrypted (soapMessageEncrypted: an envelope
// with one EncryptedData whose CipherReference names the cid:osci_enc part,
// which holds IV‖ciphertext‖tag of the complete inner MIME entity; the inner
// and outer entity share the boundary, as the reference library writes them).
// Attachments stream; memory use does not depend on their size.
func WriteMessage(w io.Writer, o WriteOptions, envelope []byte, atts ...Attachment) error {
	if o.EncryptTo == nil {
		boundary, err := NewBoundary(o.Rand)
		if err != nil {
			return err
		}
		return writeEntity(w, boundary, envelope, atts)
	}
	f, err := FrameMessage(o, envelope, atts...)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f.NewReader())
	return err
}

// Framed is a transport-encrypted message ready for the wire: the bytes
// before the ciphertext, the ciphertext in a spool (memory up to
// SpoolMemory, then a file), the bytes after it. Sending it reads the
// spool once; nothing copies it into a second file first.
type Framed struct {
	head, tail []byte
	spool      *spool
	n          int64 // ciphertext octets in spool
}

// spool keeps what is written in memory up to max bytes and beyond that
// in a temporary file in dir, the memory written to it first.
type spool struct {
	dir  string
	max  int
	buf  bytes.Buffer
	file *os.File
	w    *behind.Writer // writes file beside the encryption; ended by written
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.buf.Len()+len(p) <= s.max {
		return s.buf.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "osci-enc-*")
		if err != nil {
			return 0, fmt.Errorf("osci: spool: %w", err)
		}
		s.file, s.w = f, behind.New(f)
		if _, err := s.w.Write(s.buf.Bytes()); err != nil {
			return 0, fmt.Errorf("osci: spool: %w", err)
		}
		s.buf = bytes.Buffer{}
	}
	n, err := s.w.Write(p)
	if err != nil {
		return n, fmt.Errorf("osci: spool: %w", err)
	}
	return n, nil
}

// written waits until everything written is in the file: only then may
// it be read.
func (s *spool) written() error {
	if s.w == nil {
		return nil
	}
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("osci: spool: %w", err)
	}
	return nil
}

func (s *spool) readerAt() io.ReaderAt {
	if s.file != nil {
		return s.file
	}
	return bytes.NewReader(s.buf.Bytes())
}

// Close removes the file, if there is one.
func (s *spool) Close() error {
	if s.file == nil {
		return nil
	}
	_ = s.written() // the writing goroutine ends before the file goes
	err := s.file.Close()
	return errors.Join(err, os.Remove(s.file.Name()))
}

// FrameMessage is WriteMessage with EncryptTo set (required), kept as a
// Framed to be sent (more than once if a request is repeated) and then
// closed.
func FrameMessage(o WriteOptions, envelope []byte, atts ...Attachment) (*Framed, error) {
	if o.EncryptTo == nil {
		return nil, errors.New("osci: framing a message needs a recipient to encrypt to")
	}
	boundary, err := NewBoundary(o.Rand)
	if err != nil {
		return nil, err
	}
	spool := &spool{dir: o.SpoolDir, max: SpoolMemory}
	f := &Framed{spool: spool}
	enc := &xmlenc.Encrypter{Recipients: []xmlenc.Recipient{{Cert: o.EncryptTo}}, MimeType: "Multipart/Related", Rand: o.Rand}
	var (
		ed *etree.Element
		n  int64
	)
	if small(envelope, atts) {
		// Every order and answer without large attachments: the entity is
		// written in memory, in this goroutine.
		var plain bytes.Buffer
		if err = writeEntity(&plain, boundary, envelope, atts); err == nil {
			ed, n, err = enc.EncryptStream(spool, &plain, EncryptedContentID)
		}
	} else {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writeEntity(pw, boundary, envelope, atts)) }()
		ed, n, err = enc.EncryptStream(spool, pr, EncryptedContentID)
		pr.CloseWithError(err) // stops the writer goroutine if encryption failed early
	}
	if err == nil {
		err = spool.written()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("osci: transport encryption: %w", err)
	}
	f.n = n
	var outer bytes.Buffer
	outer.WriteString(`<soap:Envelope xmlns:ds="` + NSDS + `" xmlns:soap="` + NSSoap + `" xmlns:xenc="` + NSXenc +
		`" xmlns:xsi="` + NSXSI + `" xsi:schemaLocation="` + TypeMessageEncrypted.SchemaLocation() + `"><soap:Body>`)
	writeEtree(&outer, ed)
	outer.WriteString("</soap:Body></soap:Envelope>")
	// The frame is written around an empty attachment whose first read
	// marks where the ciphertext goes.
	var frame bytes.Buffer
	mark := &frameMark{frame: &frame, at: -1}
	mw := NewMIMEWriter(&frame, boundary)
	if err := mw.WriteSOAP(outer.Bytes(), true); err != nil {
		f.Close()
		return nil, err
	}
	if err := mw.WriteAttachment(Attachment{ContentID: EncryptedContentID, Encoding: EncodingBinary, Size: -1, Body: mark}); err != nil {
		f.Close()
		return nil, err
	}
	if err := mw.Close(); err != nil {
		f.Close()
		return nil, err
	}
	if mark.at < 0 {
		f.Close()
		return nil, errors.New("osci: framing: the attachment body was not read")
	}
	b := frame.Bytes()
	f.head, f.tail = b[:mark.at], b[mark.at:]
	return f, nil
}

// small says whether an entity of envelope and atts is known to fit
// SpoolMemory (every attachment's size given).
func small(envelope []byte, atts []Attachment) bool {
	total := int64(len(envelope))
	for _, a := range atts {
		if a.Size < 0 {
			return false
		}
		total += a.Size
	}
	return total <= SpoolMemory/2 // room for MIME headers and base64
}

// frameMark is an empty body that records how much of frame was written
// when it was first read.
type frameMark struct {
	frame *bytes.Buffer
	at    int
}

func (m *frameMark) Read([]byte) (int, error) {
	if m.at < 0 {
		m.at = m.frame.Len()
	}
	return 0, io.EOF
}

// Size is the length of the whole body in octets.
func (f *Framed) Size() int64 { return int64(len(f.head)) + f.n + int64(len(f.tail)) }

// NewReader returns the whole body from its start; its Len is what is
// left, so an HTTP client sends it with a Content-Length, as the
// reference library's requests carry.
func (f *Framed) NewReader() io.Reader {
	return &framedReader{r: io.MultiReader(bytes.NewReader(f.head), io.NewSectionReader(f.spool.readerAt(), 0, f.n), bytes.NewReader(f.tail)), left: f.Size()}
}

// Close removes the spool.
func (f *Framed) Close() error { return f.spool.Close() }

type framedReader struct {
	r    io.Reader
	left int64
}

func (r *framedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.left -= int64(n)
	return n, err
}

func (r *framedReader) Len() int { return int(r.left) }

// ReadOptions say what ReadMessage accepts.
type ReadOptions struct {
	MIME MIMELimits
	XML  xmlsec.Limits
	// Decrypter decrypts transport-encrypted messages (our cipher key).
	// Nil refuses them. Its Parts field is set by ReadMessage.
	Decrypter *xmlenc.Decrypter
	// RequireEncryption refuses plain messages (ErrNotEncrypted).
	RequireEncryption bool
	// Sink receives the attachments of the (inner) message.
	Sink AttachmentSink
}

// Incoming is a message as read from the wire: parsed, not yet verified.
type Incoming struct {
	Message   *Message
	Entity    *Entity // the (inner) entity: SOAP part and attachments
	Encrypted bool
}

// ReadMessage reads an OSCI HTTP body: the MIME entity, and if it is
// transport-encrypted the inner entity after decryption (the ciphertext is
// spooled and authenticated before any plaintext byte is parsed). A SOAP
// fault returns its *FaultError together with the Incoming.
func ReadMessage(r io.Reader, o ReadOptions) (*Incoming, error) {
	mr, err := NewMIMEReader(r, o.MIME)
	if err != nil {
		return nil, err
	}
	h, soap, err := readSOAPPart(mr)
	if err != nil {
		return nil, err
	}
	m, perr := Parse(soap, o.XML)
	if m == nil || m.Type != TypeMessageEncrypted {
		if o.RequireEncryption && (m == nil || m.Type != TypeFault) {
			return nil, ErrNotEncrypted
		}
		if perr != nil && m == nil {
			return nil, perr
		}
		e, err := readRest(mr, &Entity{Boundary: mr.Boundary(), SOAPHeader: h, SOAP: soap}, o.Sink)
		if err != nil {
			return nil, err
		}
		return &Incoming{Message: m, Entity: e}, perr
	}
	inner, err := decryptInner(mr, m, o)
	if err != nil {
		return nil, err
	}
	im, perr := Parse(inner.SOAP, o.XML)
	if im == nil {
		return nil, perr
	}
	return &Incoming{Message: im, Entity: inner, Encrypted: true}, perr
}

type onePart struct{ r io.Reader }

func (o onePart) OpenPart(cid string) (io.ReadCloser, error) {
	if o.r == nil || cid != EncryptedContentID {
		return nil, fmt.Errorf("%w: cipher reference cid:%s", ErrEncryption, cid)
	}
	return io.NopCloser(o.r), nil
}

func decryptInner(mr *MIMEReader, m *Message, o ReadOptions) (*Entity, error) {
	if o.Decrypter == nil {
		return nil, fmt.Errorf("%w: no decryption key", ErrEncryption)
	}
	ed, err := encryptedBody(m)
	if err != nil {
		return nil, err
	}
	p, err := mr.NextPart()
	if err != nil {
		return nil, fmt.Errorf("%w: cipher part: %w", ErrEncryption, err)
	}
	if p.Header.ContentID != EncryptedContentID {
		return nil, fmt.Errorf("%w: second part is %q", ErrEncryption, p.Header.ContentID)
	}
	dec := *o.Decrypter
	// A cipher part up to SpoolMemory (every order and answer without
	// large attachments) is decrypted whole and authenticated before its
	// entity is read, in this goroutine; a larger one streams through a
	// second goroutine.
	body := p.Decoded()
	head, err := io.ReadAll(io.LimitReader(body, SpoolMemory+1))
	if err != nil {
		return nil, fmt.Errorf("osci: cipher part: %w", err)
	}
	var inner *Entity
	if len(head) <= SpoolMemory {
		dec.Parts = onePart{bytes.NewReader(head)}
		var plain bytes.Buffer
		if _, err := dec.DecryptTo(&plain, ed); err != nil {
			return nil, fmt.Errorf("osci: transport decryption: %w", err)
		}
		if inner, err = ReadEntity(&plain, o.MIME, o.Sink); err != nil {
			return nil, err
		}
	} else if inner, err = decryptStreaming(&dec, onePart{io.MultiReader(bytes.NewReader(head), body)}, ed, o); err != nil {
		return nil, err
	}
	if _, err := mr.NextPart(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: parts after cid:osci_enc", ErrEncryption)
	}
	return inner, nil
}

// decryptStreaming decrypts a large cipher part on a second goroutine
// while its entity is read; nothing of it counts unless the decryption
// authenticated to its end.
func decryptStreaming(dec *xmlenc.Decrypter, part onePart, ed *etree.Element, o ReadOptions) (*Entity, error) {
	dec.Parts = part
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := dec.DecryptTo(pw, ed)
		pw.CloseWithError(err)
		done <- err
	}()
	inner, rerr := ReadEntity(pr, o.MIME, o.Sink)
	if rerr == nil {
		// An epilogue after the closing delimiter is allowed; drain a little.
		_, _ = io.Copy(io.Discard, io.LimitReader(pr, 1<<16))
	}
	pr.CloseWithError(errors.New("osci: inner entity abandoned"))
	derr := <-done
	if rerr != nil {
		if derr != nil && errors.Is(derr, xmlenc.ErrDecrypt) {
			return nil, fmt.Errorf("osci: transport decryption: %w", derr)
		}
		return nil, rerr
	}
	if derr != nil {
		return nil, fmt.Errorf("osci: transport decryption: %w", derr)
	}
	return inner, nil
}

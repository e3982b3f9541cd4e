package osci

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Content-IDs and transfer encodings used by OSCI's MIME framing.
const (
	SOAPContentID      = "osci@message" // Content-ID of the SOAP part
	EncryptedContentID = "osci_enc"     // Content-ID of the transport-encrypted part

	EncodingSOAP       = "8bit"   // SOAP part
	EncodingAttachment = "8-bit"  // attachments (sic, as the reference library writes)
	EncodingBinary     = "binary" // the transport-encrypted part
	EncodingBase64     = "base64"
)

// NewBoundary returns a boundary as the reference library makes them:
// "MIME_boundary_" followed by the base64 of 24 random bytes.
func NewBoundary(rand io.Reader) (string, error) {
	var b [24]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("osci: boundary: %w", err)
	}
	return "MIME_boundary_" + base64.StdEncoding.EncodeToString(b[:]), nil
}

// MIMEWriter writes an OSCI Multipart/Related entity: the MIME headers at the
// start of the (HTTP) body, the SOAP part, then the attachments, each streamed.
// Every line ends in CRLF. Call WriteSOAP first, then WriteAttachment per
// attachment, then Close.
type MIMEWriter struct {
	w        io.Writer
	boundary string
	state    int // 0 nothing written, 1 soap written, 2 closed
	err      error
}

// NewMIMEWriter returns a writer with the given boundary (see NewBoundary).
func NewMIMEWriter(w io.Writer, boundary string) *MIMEWriter {
	return &MIMEWriter{w: w, boundary: boundary}
}

// Boundary returns the boundary in use.
func (m *MIMEWriter) Boundary() string { return m.boundary }

func (m *MIMEWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

// WriteSOAP writes the entity headers and the SOAP part. xml is the envelope
// without the XML declaration, which WriteSOAP writes as the library does
// (followed by an empty line). When withLength is set (the transport-encrypted
// envelope), the part carries a Content-Length and ends with an extra CRLF, as
// the library writes it.
func (m *MIMEWriter) WriteSOAP(xml []byte, withLength bool) error {
	if m.state != 0 {
		return errors.New("osci: mime: soap part written twice")
	}
	m.state = 1
	m.printf("MIME-Version: 1.0\r\nContent-Type: Multipart/Related; boundary=%s; type=text/xml\r\n\r\n", m.boundary)
	m.printf("--%s\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Transfer-Encoding: %s\r\nContent-ID: <%s>\r\n",
		m.boundary, EncodingSOAP, SOAPContentID)
	body := append([]byte(XMLDeclaration), xml...)
	if withLength {
		body = append(body, "\r\n"...)
		m.printf("Content-Length: %d\r\n", len(body))
	}
	m.printf("\r\n")
	if m.err == nil {
		_, m.err = m.w.Write(body)
	}
	m.printf("\r\n")
	return m.err
}

// Attachment describes a binary MIME part to write.
type Attachment struct {
	ContentID   string // without angle brackets
	ContentType string // default application/octet-stream
	Encoding    string // default EncodingAttachment ("8-bit"); EncodingBinary, EncodingBase64
	// Size is the number of octets Body yields; it is written as Content-Length
	// when >= 0 and checked after copying. Use -1 to omit Content-Length.
	Size int64
	Body io.Reader
}

// WriteAttachment streams one attachment part. With EncodingBase64 the body
// is encoded in CRLF lines of 76 characters (xmlsec.NewBase64Writer).
func (m *MIMEWriter) WriteAttachment(a Attachment) error {
	if m.state != 1 {
		return errors.New("osci: mime: attachment before soap part or after close")
	}
	if strings.ContainsAny(a.ContentID, "\r\n<>") {
		return fmt.Errorf("%w: content-id %q", ErrMIME, a.ContentID)
	}
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	enc := a.Encoding
	if enc == "" {
		enc = EncodingAttachment
	}
	m.printf("--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: %s\r\nContent-ID: <%s>\r\n", m.boundary, ct, enc, a.ContentID)
	if a.Size >= 0 && enc != EncodingBase64 {
		m.printf("Content-Length: %s\r\n", strconv.FormatInt(a.Size, 10))
	}
	m.printf("\r\n")
	if m.err != nil {
		return m.err
	}
	var n int64
	var err error
	if enc == EncodingBase64 {
		enc := xmlsec.NewBase64Writer(m.w, "\r\n")
		n, err = io.Copy(enc, a.Body)
		if err == nil {
			err = enc.Close()
		}
	} else {
		n, err = io.Copy(m.w, a.Body)
	}
	if err != nil {
		m.err = fmt.Errorf("osci: mime: attachment %q: %w", a.ContentID, err)
		return m.err
	}
	if a.Size >= 0 && n != a.Size {
		m.err = fmt.Errorf("%w: attachment %q has %d octets, declared %d", ErrMIME, a.ContentID, n, a.Size)
		return m.err
	}
	m.printf("\r\n")
	return m.err
}

// Close writes the closing delimiter.
func (m *MIMEWriter) Close() error {
	if m.state != 1 {
		return errors.New("osci: mime: close before soap part or twice")
	}
	m.state = 2
	m.printf("--%s--\r\n", m.boundary)
	return m.err
}

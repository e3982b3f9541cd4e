package osci

import (
	"errors"
	"fmt"
	"io"
)

// AttachmentSink receives the attachments of an entity while they stream, for
// example into files. Attachment must read r to its end (r yields the decoded
// octets) or return an error, which aborts the read.
type AttachmentSink interface {
	Attachment(h PartHeader, r io.Reader) error
}

// SinkFunc adapts a function to AttachmentSink.
type SinkFunc func(h PartHeader, r io.Reader) error

// Attachment calls f.
func (f SinkFunc) Attachment(h PartHeader, r io.Reader) error { return f(h, r) }

// AttachmentInfo describes an attachment handed to the sink.
type AttachmentInfo struct {
	Header PartHeader
	Size   int64 // decoded octets
}

// Entity is a read MIME entity: the SOAP part in memory (bounded by
// MIMELimits.MaxSOAPBytes), attachments described after the sink took them.
type Entity struct {
	Boundary    string
	SOAPHeader  PartHeader
	SOAP        []byte // the SOAP part's content, XML declaration included
	Attachments []AttachmentInfo
}

// ReadEntity reads an OSCI MIME entity: the first part must be the SOAP part
// (Content-ID <osci@message>); every further part is passed to sink. A nil
// sink refuses attachments. Content-IDs must be unique.
func ReadEntity(r io.Reader, lim MIMELimits, sink AttachmentSink) (*Entity, error) {
	mr, err := NewMIMEReader(r, lim)
	if err != nil {
		return nil, err
	}
	h, soap, err := readSOAPPart(mr)
	if err != nil {
		return nil, err
	}
	return readRest(mr, &Entity{Boundary: mr.Boundary(), SOAPHeader: h, SOAP: soap}, sink)
}

// readSOAPPart reads the first part of mr, which must be the SOAP part.
func readSOAPPart(mr *MIMEReader) (PartHeader, []byte, error) {
	p, err := mr.NextPart()
	if err != nil {
		return PartHeader{}, nil, fmt.Errorf("%w: %w", ErrMissingSOAPPart, err)
	}
	if p.Header.ContentID != SOAPContentID {
		return PartHeader{}, nil, fmt.Errorf("%w: first part is %q", ErrMissingSOAPPart, p.Header.ContentID)
	}
	soap, err := io.ReadAll(p.Decoded())
	if err != nil {
		return PartHeader{}, nil, err
	}
	return p.Header, soap, nil
}

// readRest hands the remaining parts of mr to sink.
func readRest(mr *MIMEReader, e *Entity, sink AttachmentSink) (*Entity, error) {
	seen := map[string]bool{e.SOAPHeader.ContentID: true}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return e, nil
		}
		if err != nil {
			return nil, err
		}
		if seen[p.Header.ContentID] {
			return nil, fmt.Errorf("%w: content-id %q", ErrDuplicatePart, p.Header.ContentID)
		}
		seen[p.Header.ContentID] = true
		if sink == nil {
			return nil, fmt.Errorf("%w: attachment %q not expected", ErrMIME, p.Header.ContentID)
		}
		cr := &countingReader{r: p.Decoded()}
		if err := sink.Attachment(p.Header, cr); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrAttachmentSink, p.Header.ContentID, err)
		}
		if _, err := io.Copy(io.Discard, cr); err != nil {
			return nil, err
		}
		e.Attachments = append(e.Attachments, AttachmentInfo{Header: p.Header, Size: cr.n})
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// WriteEntity writes envelope and attachments as one MIME entity with a fresh
// boundary drawn from rand.
func WriteEntity(w io.Writer, rand io.Reader, envelope []byte, atts ...Attachment) error {
	b, err := NewBoundary(rand)
	if err != nil {
		return err
	}
	return writeEntity(w, b, envelope, atts)
}

// writeEntity writes envelope and attachments as one MIME entity.
func writeEntity(w io.Writer, boundary string, envelope []byte, atts []Attachment) error {
	mw := NewMIMEWriter(w, boundary)
	if err := mw.WriteSOAP(envelope, false); err != nil {
		return err
	}
	for _, a := range atts {
		if err := mw.WriteAttachment(a); err != nil {
			return err
		}
	}
	return mw.Close()
}

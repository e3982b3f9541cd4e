package osci

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
)

// MIMELimits bound what a MIMEReader accepts. They are checked while reading,
// on the octets as transmitted. A zero field takes its default.
type MIMELimits struct {
	MaxParts           int   // parts including the SOAP part; default 1100 (EGVP allows 1000 files)
	MaxHeaderBytes     int   // header block of the entity or one part; default 16 KiB
	MaxSOAPBytes       int64 // the SOAP part; default 64 MiB
	MaxAttachmentBytes int64 // one attachment part; default 512 MiB
	MaxTotalBytes      int64 // the whole entity; default 1 GiB
}

// DefaultMIMELimits returns the defaults described on MIMELimits.
func DefaultMIMELimits() MIMELimits {
	return MIMELimits{
		MaxParts:           1100,
		MaxHeaderBytes:     16 << 10,
		MaxSOAPBytes:       64 << 20,
		MaxAttachmentBytes: 512 << 20,
		MaxTotalBytes:      1 << 30,
	}
}

func (l MIMELimits) withDefaults() MIMELimits { return limit.Fill(l, DefaultMIMELimits()) }

// PartHeader is the parsed header block of a MIME part.
type PartHeader struct {
	ContentType   string // media type, lower case, without parameters
	Encoding      string // Content-Transfer-Encoding, lower case
	ContentID     string // without angle brackets
	ContentLength int64  // declared Content-Length, -1 when absent
}

// Base64 reports whether the part body is base64 encoded (transfer encoding
// base64, or the older text/base64 parts).
func (h PartHeader) Base64() bool {
	return h.Encoding == "base64" || h.ContentType == "text/base64" || h.Encoding == "text/base64"
}

// MIMEReader reads an OSCI Multipart/Related entity part by part, starting
// with the MIME headers at the start of the stream. It never holds more than
// one buffer of a part in memory. The declared Content-Length is reported but
// not relied on: parts end at the boundary (the reference library declares a
// wrong length on the encrypted envelope).
type MIMEReader struct {
	r        io.Reader
	lim      MIMELimits
	buf      []byte // unread window into store
	store    []byte
	eof      bool
	total    int64
	parts    int
	boundary string
	delim    []byte // "\n--" + boundary
	cur      *Part
	done     bool
}

const mimeChunk = 32 << 10

// NewMIMEReader reads the entity headers and returns a reader positioned
// before the first part.
func NewMIMEReader(r io.Reader, lim MIMELimits) (*MIMEReader, error) {
	m := &MIMEReader{r: r, lim: lim.withDefaults()}
	h, err := m.readHeaderLines()
	if err != nil {
		return nil, err
	}
	ct, ok := h["content-type"]
	if !ok {
		return nil, fmt.Errorf("%w: no content-type in entity header", ErrMIME)
	}
	mt, params := parseMediaType(ct)
	if mt != "multipart/related" {
		return nil, fmt.Errorf("%w: content-type %q", ErrMIME, mt)
	}
	m.boundary = params["boundary"]
	if m.boundary == "" || len(m.boundary) > 200 {
		return nil, fmt.Errorf("%w: bad boundary", ErrMIME)
	}
	m.delim = []byte("\n--" + m.boundary)
	// The blank line ending the header block supplies the "\n" of the first
	// delimiter; skip the preamble.
	m.store = append([]byte{'\n'}, m.buf...)
	m.buf = m.store
	pre := &Part{m: m, limit: int64(m.lim.MaxHeaderBytes)}
	if _, err := io.Copy(io.Discard, pre); err != nil {
		return nil, err
	}
	return m, nil
}

// Boundary returns the entity's boundary.
func (m *MIMEReader) Boundary() string { return m.boundary }

func (m *MIMEReader) fill() error {
	if m.eof {
		return nil
	}
	want := int64(mimeChunk)
	if rest := m.lim.MaxTotalBytes - m.total; rest+1 < want {
		want = rest + 1 // one more octet than allowed tells "over the limit" from "exactly at it"
	}
	if cap(m.buf)-len(m.buf) < int(want) {
		if len(m.buf)+int(want) <= cap(m.store) {
			n := copy(m.store, m.buf)
			m.buf = m.store[:n]
		} else {
			m.store = make([]byte, len(m.buf)+int(want)+mimeChunk)
			n := copy(m.store, m.buf)
			m.buf = m.store[:n]
		}
	}
	n, err := m.r.Read(m.buf[len(m.buf) : len(m.buf)+int(want)])
	m.buf = m.buf[:len(m.buf)+n]
	m.total += int64(n)
	if m.total > m.lim.MaxTotalBytes {
		return fmt.Errorf("%w: mime entity over %d bytes", ErrLimit, m.lim.MaxTotalBytes)
	}
	if err == io.EOF {
		m.eof = true
		return nil
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrMIMETruncated, err)
	}
	if err != nil {
		return fmt.Errorf("osci: mime: read: %w", err)
	}
	return nil
}

// readHeaderLines reads a header block up to and including its empty line.
func (m *MIMEReader) readHeaderLines() (map[string]string, error) {
	h := map[string]string{}
	used := 0
	last := ""
	for {
		i := bytes.IndexByte(m.buf, '\n')
		for i < 0 {
			if used+len(m.buf) > m.lim.MaxHeaderBytes {
				return nil, fmt.Errorf("%w: mime header over %d bytes", ErrLimit, m.lim.MaxHeaderBytes)
			}
			if m.eof {
				return nil, fmt.Errorf("%w: in header", ErrMIMETruncated)
			}
			if err := m.fill(); err != nil {
				return nil, err
			}
			i = bytes.IndexByte(m.buf, '\n')
		}
		used += i + 1
		if used > m.lim.MaxHeaderBytes {
			return nil, fmt.Errorf("%w: mime header over %d bytes", ErrLimit, m.lim.MaxHeaderBytes)
		}
		line := strings.TrimSuffix(string(m.buf[:i]), "\r")
		m.buf = m.buf[i+1:]
		if line == "" {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("%w: continuation line first", ErrMIME)
			}
			h[last] += " " + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: header line without colon", ErrMIME)
		}
		last = strings.ToLower(strings.TrimSpace(k))
		if _, dup := h[last]; dup {
			return nil, fmt.Errorf("%w: duplicate header %q", ErrMIME, last)
		}
		h[last] = strings.TrimSpace(v)
	}
}

// parseMediaType is lenient about unquoted parameter values: boundaries made
// of base64 contain "/" and "=", which RFC 2045 would want quoted.
func parseMediaType(v string) (string, map[string]string) {
	fields := strings.Split(v, ";")
	params := map[string]string{}
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		params[strings.ToLower(strings.TrimSpace(k))] = val
	}
	return strings.ToLower(strings.TrimSpace(fields[0])), params
}

// NextPart returns the next part, or io.EOF after the closing delimiter. The
// previous part is discarded if it was not read to its end. Part reads the
// octets as transmitted; Part.Decoded undoes a base64 transfer encoding.
func (m *MIMEReader) NextPart() (*Part, error) {
	if m.cur != nil {
		if _, err := io.Copy(io.Discard, m.cur); err != nil {
			return nil, err
		}
		m.cur = nil
	}
	if m.done {
		return nil, io.EOF
	}
	// After a delimiter: "--" closes; otherwise optional padding and a line end.
	for len(m.buf) < 2 && !m.eof {
		if err := m.fill(); err != nil {
			return nil, err
		}
	}
	if bytes.HasPrefix(m.buf, []byte("--")) {
		m.done = true
		return nil, io.EOF
	}
	i := bytes.IndexByte(m.buf, '\n')
	for i < 0 && !m.eof && len(m.buf) < 100 {
		if err := m.fill(); err != nil {
			return nil, err
		}
		i = bytes.IndexByte(m.buf, '\n')
	}
	if i < 0 || strings.TrimRight(string(m.buf[:i]), " \t\r") != "" {
		return nil, fmt.Errorf("%w: garbage after boundary", ErrMIME)
	}
	m.buf = m.buf[i+1:]
	m.parts++
	if m.parts > m.lim.MaxParts {
		return nil, fmt.Errorf("%w: more than %d mime parts", ErrLimit, m.lim.MaxParts)
	}
	h, err := m.readHeaderLines()
	if err != nil {
		return nil, err
	}
	ph := PartHeader{ContentLength: -1}
	ph.ContentType, _ = parseMediaType(h["content-type"])
	ph.Encoding = strings.ToLower(h["content-transfer-encoding"])
	ph.ContentID = strings.TrimSuffix(strings.TrimPrefix(h["content-id"], "<"), ">")
	if v, ok := h["content-length"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: content-length %q", ErrMIME, v)
		}
		ph.ContentLength = n
	}
	limit := m.lim.MaxAttachmentBytes
	if m.parts == 1 {
		limit = m.lim.MaxSOAPBytes
	}
	m.cur = &Part{Header: ph, m: m, limit: limit}
	return m.cur, nil
}

// Part is one MIME part; it reads the part's octets up to the next boundary.
type Part struct {
	Header PartHeader
	m      *MIMEReader
	n      int64
	limit  int64
	done   bool
}

// Size returns the number of octets read so far.
func (p *Part) Size() int64 { return p.n }

// Decoded returns a reader of the part's content with base64 undone when the
// part is base64 encoded.
func (p *Part) Decoded() io.Reader {
	if p.Header.Base64() {
		return base64.NewDecoder(base64.StdEncoding, p)
	}
	return p
}

func (p *Part) Read(dst []byte) (int, error) {
	if p.done {
		return 0, io.EOF
	}
	m := p.m
	for {
		if idx := bytes.Index(m.buf, m.delim); idx >= 0 {
			end := idx
			if end > 0 && m.buf[end-1] == '\r' {
				end--
			}
			if end == 0 {
				m.buf = m.buf[idx+len(m.delim):]
				p.done = true
				return 0, io.EOF
			}
			return p.take(dst, end)
		}
		if m.eof {
			return 0, fmt.Errorf("%w: no closing boundary", ErrMIMETruncated)
		}
		// Keep back what could be the start of a delimiter (and its "\r").
		if safe := len(m.buf) - len(m.delim) - 1; safe >= mimeChunk/2 || (safe > 0 && len(dst) <= safe) {
			return p.take(dst, safe)
		}
		if err := m.fill(); err != nil {
			return 0, err
		}
	}
}

func (p *Part) take(dst []byte, avail int) (int, error) {
	n := copy(dst, p.m.buf[:avail])
	p.m.buf = p.m.buf[n:]
	p.n += int64(n)
	if p.n > p.limit {
		return n, fmt.Errorf("%w: mime part %q over %d bytes", ErrLimit, p.Header.ContentID, p.limit)
	}
	return n, nil
}

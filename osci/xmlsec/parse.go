package xmlsec

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/xmltext"
)

// Namespace URIs the parser and canonicalizer treat specially.
const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// Limits bound what Parse accepts. A zero field means its default; each
// token is checked before it joins the tree.
type Limits struct {
	MaxBytes          int64 // whole input; default 32 MiB
	MaxDepth          int   // element nesting; default 64
	MaxElements       int   // elements in the document; default 100 000
	MaxAttributes     int   // attributes (namespace declarations included) on one element; default 64
	MaxNamespaceDecls int   // namespace declarations in the document; default 1024
	// AllowProcInst admits processing instructions other than the XML
	// declaration. Off by default; only canonicalization tools turn it on,
	// because C14N defines their output.
	AllowProcInst bool
}

// DefaultLimits returns the limits used for every message the gateway reads.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:          32 << 20,
		MaxDepth:          64,
		MaxElements:       100000,
		MaxAttributes:     64,
		MaxNamespaceDecls: 1024,
	}
}

func (l Limits) withDefaults() Limits { return limit.Fill(l, DefaultLimits()) }

// Parse reads at most lim.MaxBytes from r and parses it with ParseBytes.
func Parse(r io.Reader, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	b, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("xmlsec: read: %w", err)
	}
	if int64(len(b)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	return parseOwned(b, lim)
}

// ParseBytes parses b, checking every rule and limit on each token before
// it joins the tree. b is not modified, and the tree shares no memory with it.
func ParseBytes(b []byte, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	if int64(len(b)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), lim.MaxBytes)
	}
	if bytes.IndexByte(b, '\r') >= 0 {
		b = bytes.Clone(b) // NormalizeLineBreaks rewrites in place
	}
	return parseOwned(b, lim)
}

// parseOwned may rewrite b in place (line ends).
func parseOwned(b []byte, lim Limits) (*etree.Document, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: invalid byte sequence", ErrEncoding)
	}
	if err := checkDeclaredEncoding(b); err != nil {
		return nil, err
	}
	return parseDocument(xmltext.NormalizeLineBreaks(b), lim)
}

var encodingDecl = regexp.MustCompile(`encoding\s*=\s*["']([^"']*)["']`)

func checkDeclaredEncoding(b []byte) error {
	if !bytes.HasPrefix(b, []byte("<?xml")) || len(b) < 6 || !isXMLSpace(b[5]) {
		return nil
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return fmt.Errorf("%w: unterminated xml declaration", ErrSyntax)
	}
	if m := encodingDecl.FindSubmatch(b[:end]); m != nil && !strings.EqualFold(string(m[1]), "utf-8") {
		return fmt.Errorf("%w: declared encoding %q", ErrEncoding, m[1])
	}
	return nil
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

type nsBinding struct{ prefix, uri string }

func lookup(ns []nsBinding, prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if ns[i].prefix == prefix {
			return ns[i].uri, true
		}
	}
	return "", prefix == ""
}

package xmlsec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/internal/limit"
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
// it joins the tree. b is not modified.
func ParseBytes(b []byte, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	if int64(len(b)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), lim.MaxBytes)
	}
	return parseOwned(bytes.Clone(b), lim)
}

// parseOwned may rewrite b in place (line ends, attribute whitespace).
func parseOwned(b []byte, lim Limits) (*etree.Document, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: invalid byte sequence", ErrEncoding)
	}
	if err := checkDeclaredEncoding(b); err != nil {
		return nil, err
	}
	return build(normalizeLineEnds(b), lim)
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

// normalizeLineEnds applies XML 1.0 §2.11: CRLF and lone CR become LF
// before parsing. Character references (&#13;) are untouched.
func normalizeLineEnds(b []byte) []byte {
	if bytes.IndexByte(b, '\r') < 0 {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			c = '\n'
		}
		out = append(out, c)
	}
	return out
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

type openElement struct {
	name  xml.Name
	nsLen int
	el    *etree.Element
}

type nsBinding struct{ prefix, uri string }

// build walks the raw tokens once, enforcing every rule and limit before
// the token joins the tree, and normalizes literal whitespace inside
// attribute values to spaces (XML 1.0 §3.3.3), which encoding/xml does not
// do. It returns the etree document.
func build(b []byte, lim Limits) (*etree.Document, error) {
	doc := etree.NewDocument()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var (
		stack    []openElement
		ns       []nsBinding
		elements int
		decls    int
		rootSeen bool
	)
	parent := func() *etree.Element {
		if len(stack) == 0 {
			return &doc.Element
		}
		return stack[len(stack)-1].el
	}
	for {
		off := d.InputOffset()
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: <!%.20s", ErrDoctype, t)
		case xml.ProcInst:
			if t.Target == "xml" {
				if off != 0 {
					return nil, fmt.Errorf("%w: xml declaration not at start", ErrSyntax)
				}
				doc.CreateProcInst(t.Target, string(t.Inst))
				continue
			}
			if !lim.AllowProcInst {
				return nil, fmt.Errorf("%w: <?%s", ErrProcInst, t.Target)
			}
			if strings.EqualFold(t.Target, "xml") {
				return nil, fmt.Errorf("%w: reserved processing instruction target %q", ErrSyntax, t.Target)
			}
			parent().CreateProcInst(t.Target, string(t.Inst))
		case xml.Comment:
			parent().CreateComment(string(t))
		case xml.CharData:
			if len(stack) == 0 && len(bytes.Trim(t, " \t\n\r")) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrMultipleRoots)
			}
			parent().CreateText(string(t))
		case xml.StartElement:
			if len(stack) == 0 && rootSeen {
				return nil, fmt.Errorf("%w: second root <%s>", ErrMultipleRoots, t.Name.Local)
			}
			rootSeen = true
			elements++
			if elements > lim.MaxElements {
				return nil, fmt.Errorf("%w: limit %d", ErrTooManyElements, lim.MaxElements)
			}
			if len(stack)+1 > lim.MaxDepth {
				return nil, fmt.Errorf("%w: limit %d", ErrTooDeep, lim.MaxDepth)
			}
			if len(t.Attr) > lim.MaxAttributes {
				return nil, fmt.Errorf("%w: %d on <%s>, limit %d", ErrTooManyAttrs, len(t.Attr), t.Name.Local, lim.MaxAttributes)
			}
			nsLen := len(ns)
			n, err := declare(t, &ns)
			if err != nil {
				return nil, err
			}
			decls += n
			if decls > lim.MaxNamespaceDecls {
				return nil, fmt.Errorf("%w: limit %d", ErrTooManyNamespace, lim.MaxNamespaceDecls)
			}
			if err := checkNames(t, ns); err != nil {
				return nil, err
			}
			if normalizeAttrSpace(b[off:d.InputOffset()]) {
				// rare: re-read this one tag from its normalized bytes
				if t, err = retokenize(b[off:d.InputOffset()]); err != nil {
					return nil, err
				}
			}
			el := parent().CreateElement(t.Name.Local)
			el.Space = t.Name.Space
			for _, a := range t.Attr {
				el.CreateAttr(qname(a.Name), a.Value)
			}
			stack = append(stack, openElement{name: t.Name, nsLen: nsLen, el: el})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: unexpected end tag", ErrSyntax)
			}
			top := stack[len(stack)-1]
			if top.name != t.Name {
				return nil, fmt.Errorf("%w: end tag </%s> does not match <%s>", ErrSyntax, qname(t.Name), qname(top.name))
			}
			stack = stack[:len(stack)-1]
			ns = ns[:top.nsLen]
		}
	}
	if !rootSeen {
		return nil, ErrNoRoot
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	}
	return doc, nil
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// declare pushes the namespace declarations of t and checks them against
// Namespaces in XML 1.0 §3.
func declare(t xml.StartElement, ns *[]nsBinding) (int, error) {
	n := 0
	for _, a := range t.Attr {
		var prefix string
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			prefix = ""
		case a.Name.Space == "xmlns":
			prefix = a.Name.Local
		default:
			continue
		}
		n++
		switch {
		case prefix == "xmlns":
			return 0, fmt.Errorf("%w: xmlns:xmlns", ErrBadNamespace)
		case prefix == "xml" && a.Value != nsXML, prefix != "xml" && a.Value == nsXML:
			return 0, fmt.Errorf("%w: the xml prefix and its namespace belong together", ErrBadNamespace)
		case a.Value == nsXMLNS:
			return 0, fmt.Errorf("%w: the xmlns namespace cannot be bound", ErrBadNamespace)
		case prefix != "" && a.Value == "":
			return 0, fmt.Errorf("%w: xmlns:%s=\"\" (prefix undeclaration is XML 1.1)", ErrBadNamespace, prefix)
		}
		*ns = append(*ns, nsBinding{prefix, a.Value})
	}
	return n, nil
}

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

func checkName(n xml.Name) error {
	if n.Local == "" || strings.Contains(n.Local, ":") || (n.Space == "" && strings.HasPrefix(n.Local, ":")) {
		return fmt.Errorf("%w: name %q is not a qualified name", ErrSyntax, qname(n))
	}
	return nil
}

// checkNames requires every prefix to be declared and every attribute to be
// unique both by qualified name and by expanded name.
func checkNames(t xml.StartElement, ns []nsBinding) error {
	if err := checkName(t.Name); err != nil {
		return err
	}
	if t.Name.Space == "xmlns" {
		return fmt.Errorf("%w: element with the xmlns prefix", ErrBadNamespace)
	}
	if t.Name.Space != "" {
		if _, ok := lookup(ns, t.Name.Space); !ok {
			return fmt.Errorf("%w: %q on <%s>", ErrUndeclaredPrefix, t.Name.Space, qname(t.Name))
		}
	}
	seen := make(map[xml.Name]bool, len(t.Attr))
	expanded := make(map[xml.Name]bool, len(t.Attr))
	for _, a := range t.Attr {
		if err := checkName(a.Name); err != nil {
			return err
		}
		if seen[a.Name] {
			return fmt.Errorf("%w: %s on <%s>", ErrDuplicateAttr, qname(a.Name), qname(t.Name))
		}
		seen[a.Name] = true
		if a.Name.Space == "" || a.Name.Space == "xmlns" {
			continue
		}
		uri, ok := lookup(ns, a.Name.Space)
		if !ok {
			return fmt.Errorf("%w: %q on attribute %s", ErrUndeclaredPrefix, a.Name.Space, qname(a.Name))
		}
		e := xml.Name{Space: uri, Local: a.Name.Local}
		if expanded[e] {
			return fmt.Errorf("%w: {%s}%s on <%s>", ErrDuplicateAttr, uri, a.Name.Local, qname(t.Name))
		}
		expanded[e] = true
	}
	return nil
}

// normalizeAttrSpace rewrites literal TAB and LF inside the quoted values of
// one start tag to spaces, in place (same length), and reports whether it
// changed anything. Line ends were already normalized; character
// references stay as written and keep their meaning.
func normalizeAttrSpace(tag []byte) bool {
	var quote byte
	changed := false
	for i, c := range tag {
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0 && (c == '\t' || c == '\n'):
			tag[i] = ' '
			changed = true
		}
	}
	return changed
}

// retokenize reads one start tag again (after normalizeAttrSpace).
func retokenize(tag []byte) (xml.StartElement, error) {
	d := xml.NewDecoder(bytes.NewReader(tag))
	d.Strict = true
	tok, err := d.RawToken()
	t, ok := tok.(xml.StartElement)
	if err != nil || !ok {
		return xml.StartElement{}, fmt.Errorf("%w: start tag does not re-read: %v", ErrSyntax, err)
	}
	return t, nil
}

// Serialize writes doc so that parsing the output again yields the same
// canonical form: attribute TAB/LF/CR and text CR are written as character
// references (etree's default would let a re-parse normalize them away).
func Serialize(w io.Writer, doc *etree.Document) error {
	saved := doc.WriteSettings
	doc.WriteSettings.CanonicalAttrVal = true
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.AttrSingleQuote = false
	_, err := doc.WriteTo(w)
	doc.WriteSettings = saved
	return err
}

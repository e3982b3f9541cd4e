package xmlsec

// The parser before the own tokenizer: one pass over encoding/xml RawToken.
// It stays as the oracle of the differential tests (parse_diff_test.go):
// the own parser must build the same tree for every input this one
// accepts, and refuse what it refuses (listed exceptions aside).

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/xmltext"
)

// oldParseBytes is ParseBytes as it was, on encoding/xml.
func oldParseBytes(in []byte, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	if int64(len(in)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(in), lim.MaxBytes)
	}
	b := bytes.TrimPrefix(bytes.Clone(in), []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: invalid byte sequence", ErrEncoding)
	}
	if err := checkDeclaredEncoding(b); err != nil {
		return nil, err
	}
	return oldBuild(xmltext.NormalizeLineBreaks(b), lim)
}

type oldOpenElement struct {
	name  xml.Name
	nsLen int
	el    *etree.Element
}

// oldBuild walks the raw tokens once, enforcing every rule and limit before
// the token joins the tree, and normalizes literal whitespace inside
// attribute values to spaces (XML 1.0 §3.3.3), which encoding/xml does not
// do. It returns the etree document.
func oldBuild(b []byte, lim Limits) (*etree.Document, error) {
	doc := etree.NewDocument()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var (
		stack    []oldOpenElement
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
			n, err := oldDeclare(t, &ns)
			if err != nil {
				return nil, err
			}
			decls += n
			if decls > lim.MaxNamespaceDecls {
				return nil, fmt.Errorf("%w: limit %d", ErrTooManyNamespace, lim.MaxNamespaceDecls)
			}
			if err := oldCheckNames(t, ns); err != nil {
				return nil, err
			}
			if oldNormalizeAttrSpace(b[off:d.InputOffset()]) {
				// rare: re-read this one tag from its normalized bytes
				if t, err = oldRetokenize(b[off:d.InputOffset()]); err != nil {
					return nil, err
				}
			}
			el := parent().CreateElement(t.Name.Local)
			el.Space = t.Name.Space
			for _, a := range t.Attr {
				el.CreateAttr(oldQName(a.Name), a.Value)
			}
			stack = append(stack, oldOpenElement{name: t.Name, nsLen: nsLen, el: el})
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("%w: unexpected end tag", ErrSyntax)
			}
			top := stack[len(stack)-1]
			if top.name != t.Name {
				return nil, fmt.Errorf("%w: end tag </%s> does not match <%s>", ErrSyntax, oldQName(t.Name), oldQName(top.name))
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

func oldQName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// oldDeclare pushes the namespace declarations of t and checks them against
// Namespaces in XML 1.0 §3.
func oldDeclare(t xml.StartElement, ns *[]nsBinding) (int, error) {
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

func oldCheckName(n xml.Name) error {
	if n.Local == "" || strings.Contains(n.Local, ":") || (n.Space == "" && strings.HasPrefix(n.Local, ":")) {
		return fmt.Errorf("%w: name %q is not a qualified name", ErrSyntax, oldQName(n))
	}
	return nil
}

// oldCheckNames requires every prefix to be declared and every attribute to be
// unique both by qualified name and by expanded name.
func oldCheckNames(t xml.StartElement, ns []nsBinding) error {
	if err := oldCheckName(t.Name); err != nil {
		return err
	}
	if t.Name.Space == "xmlns" {
		return fmt.Errorf("%w: element with the xmlns prefix", ErrBadNamespace)
	}
	if t.Name.Space != "" {
		if _, ok := lookup(ns, t.Name.Space); !ok {
			return fmt.Errorf("%w: %q on <%s>", ErrUndeclaredPrefix, t.Name.Space, oldQName(t.Name))
		}
	}
	seen := make(map[xml.Name]bool, len(t.Attr))
	expanded := make(map[xml.Name]bool, len(t.Attr))
	for _, a := range t.Attr {
		if err := oldCheckName(a.Name); err != nil {
			return err
		}
		if seen[a.Name] {
			return fmt.Errorf("%w: %s on <%s>", ErrDuplicateAttr, oldQName(a.Name), oldQName(t.Name))
		}
		seen[a.Name] = true
		if a.Name.Space == "" || a.Name.Space == "xmlns" {
			continue
		}
		uri, ok := lookup(ns, a.Name.Space)
		if !ok {
			return fmt.Errorf("%w: %q on attribute %s", ErrUndeclaredPrefix, a.Name.Space, oldQName(a.Name))
		}
		e := xml.Name{Space: uri, Local: a.Name.Local}
		if expanded[e] {
			return fmt.Errorf("%w: {%s}%s on <%s>", ErrDuplicateAttr, uri, a.Name.Local, oldQName(t.Name))
		}
		expanded[e] = true
	}
	return nil
}

// oldNormalizeAttrSpace rewrites literal TAB and LF inside the quoted values of
// one start tag to spaces, in place (same length), and reports whether it
// changed anything. Line ends were already normalized; character
// references stay as written and keep their meaning.
func oldNormalizeAttrSpace(tag []byte) bool {
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

// oldRetokenize reads one start tag again (after oldNormalizeAttrSpace).
func oldRetokenize(tag []byte) (xml.StartElement, error) {
	d := xml.NewDecoder(bytes.NewReader(tag))
	d.Strict = true
	tok, err := d.RawToken()
	t, ok := tok.(xml.StartElement)
	if err != nil || !ok {
		return xml.StartElement{}, fmt.Errorf("%w: start tag does not re-read: %v", ErrSyntax, err)
	}
	return t, nil
}

package xmlsec

import (
	"bytes"
	"fmt"
	"hash"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// Canonicalization method identifiers (without comments; the variants with
// comments are refused).
const (
	C14N10    = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	ExcC14N10 = "http://www.w3.org/2001/10/xml-exc-c14n#"
)

// C14NOptions selects a canonicalization.
type C14NOptions struct {
	Method string // C14N10 or ExcC14N10
	// InclusivePrefixes is the exclusive C14N InclusiveNamespaces PrefixList;
	// "#default" names the default namespace. Ignored for C14N10.
	InclusivePrefixes []string
	// Exclude is left out of the output with its subtree (the enveloped
	// signature transform).
	Exclude *etree.Element
	// MaxBytes bounds the canonical output; 0 means no bound beyond memory.
	MaxBytes int64
}

// Canonicalize returns the canonical form of el, evaluated in the namespace
// context of its ancestors (the document subset "el and its descendants").
func Canonicalize(el *etree.Element, method string) ([]byte, error) {
	return CanonicalizeWith(el, C14NOptions{Method: method})
}

// CanonicalizeWith is Canonicalize with options.
func CanonicalizeWith(el *etree.Element, o C14NOptions) ([]byte, error) {
	return canonicalizeElement(el, o, nil, true)
}

// canonicalizeElement writes the canonical form of el into h (when not
// nil) as it is produced and returns it when keep is set.
func canonicalizeElement(el *etree.Element, o C14NOptions, h hash.Hash, keep bool) ([]byte, error) {
	c, err := newCanon(o)
	if err != nil {
		return nil, err
	}
	hint := 0
	if keep {
		hint = canonSizeHint(el)
	}
	c.w.start(h, keep, hint)
	defer c.w.release()
	c.scope = ancestorScope(el.Parent())
	if !c.excl {
		c.inherited = inheritedXMLAttrs(el.Parent())
	}
	if err := c.element(el, true); err != nil {
		return nil, err
	}
	return c.w.finish(), nil
}

// CanonicalizeDocument returns the canonical form of a whole document: the
// XML declaration, comments and whitespace outside the root are dropped;
// processing instructions outside the root are kept, separated by LF.
func CanonicalizeDocument(doc *etree.Document, o C14NOptions) ([]byte, error) {
	return canonicalizeDocument(doc, o, nil, true)
}

// canonicalizeDocument is CanonicalizeDocument writing into h as
// canonicalizeElement does.
func canonicalizeDocument(doc *etree.Document, o C14NOptions, h hash.Hash, keep bool) ([]byte, error) {
	c, err := newCanon(o)
	if err != nil {
		return nil, err
	}
	hint := 0
	if keep && doc.Root() != nil {
		hint = canonSizeHint(doc.Root())
	}
	c.w.start(h, keep, hint)
	defer c.w.release()
	afterRoot := false
	for _, t := range doc.Child {
		switch t := t.(type) {
		case *etree.Element:
			if afterRoot {
				return nil, fmt.Errorf("%w: second root", ErrMultipleRoots)
			}
			if err := c.element(t, true); err != nil {
				return nil, err
			}
			afterRoot = true
		case *etree.ProcInst:
			if t.Target == "xml" {
				continue
			}
			if afterRoot {
				c.w.b = append(c.w.b, '\n')
			}
			c.procInst(t)
			if !afterRoot {
				c.w.b = append(c.w.b, '\n')
			}
		}
	}
	if !afterRoot {
		return nil, ErrNoRoot
	}
	return c.w.finish(), nil
}

type canon struct {
	w         canonOut
	excl      bool
	incl      map[string]bool
	exclude   *etree.Element
	max       int64
	scope     []nsBinding // namespace bindings in scope in the input
	rendered  []nsBinding // bindings in effect in the output
	inherited []etree.Attr
	attrs     []outAttr // scratch for attributes, reused element by element
}

func newCanon(o C14NOptions) (*canon, error) {
	c := &canon{exclude: o.Exclude, max: o.MaxBytes}
	switch o.Method {
	case C14N10:
	case ExcC14N10:
		c.excl = true
		c.incl = map[string]bool{}
		for _, p := range o.InclusivePrefixes {
			if p == "#default" {
				p = ""
			}
			c.incl[p] = true
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedC14N, o.Method)
	}
	return c, nil
}

// ancestorScope lists the namespace bindings declared on p and its
// ancestors, outermost first, so that a backwards search finds the nearest.
func ancestorScope(p *etree.Element) []nsBinding {
	var chain []*etree.Element
	for ; p != nil; p = p.Parent() {
		chain = append(chain, p)
	}
	var out []nsBinding
	for i := len(chain) - 1; i >= 0; i-- {
		out = appendDecls(out, chain[i])
	}
	return out
}

func appendDecls(ns []nsBinding, el *etree.Element) []nsBinding {
	for i := range el.Attr {
		a := &el.Attr[i]
		if p, ok := declPrefix(a); ok {
			ns = append(ns, nsBinding{p, a.Value})
		}
	}
	return ns
}

func declPrefix(a *etree.Attr) (string, bool) {
	switch {
	case a.Space == "" && a.Key == "xmlns":
		return "", true
	case a.Space == "xmlns":
		return a.Key, true
	}
	return "", false
}

// inheritedXMLAttrs collects the xml:* attributes of the ancestors, nearest
// first wins (inclusive C14N 1.0 §2.4).
func inheritedXMLAttrs(p *etree.Element) []etree.Attr {
	var out []etree.Attr
	seen := map[string]bool{}
	for ; p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xml" && !seen[a.Key] {
				seen[a.Key] = true
				out = append(out, a)
			}
		}
	}
	return out
}

// outAttr is an attribute to write with its namespace URI.
type outAttr struct {
	uri string
	a   *etree.Attr
}

func (c *canon) element(el *etree.Element, apex bool) error {
	b, err := c.elem(c.w.b, el, apex)
	c.w.b = b
	return err
}

// elem appends the canonical form of el to b and returns b. The output is
// kept in b, a local of each call, and stored in c.w only when a chunk
// goes to the hash: c lives on the heap, and a pointer stored in it costs a
// write barrier while the collector runs. For the same reason the scope
// and rendered lists are only stored when they change, and the attributes
// of an element with few are sorted on the stack.
func (c *canon) elem(b []byte, el *etree.Element, apex bool) ([]byte, error) {
	b, err := c.checkSize(b)
	if err != nil {
		return b, err
	}
	// The scope is restored when el ends; after an error nothing more
	// is written.
	parentScope := len(c.scope)
	if s := appendDecls(c.scope, el); len(s) != parentScope {
		c.scope = s
	}
	renderedMark := len(c.rendered)

	decls, err := c.namespaceDecls(el, apex, parentScope)
	if err != nil {
		return b, err
	}
	var small [8]outAttr
	var attrs []outAttr
	if n := len(el.Attr); n <= len(small) && (!apex || n+len(c.inherited) <= len(small)) {
		attrs, err = c.attributes(el, apex, small[:0])
	} else {
		// c.attrs is reused: it is written here, before the next element
		// (a child) is canonicalized.
		many, errMany := c.attributes(el, apex, c.attrs[:0])
		c.attrs, attrs, err = many, many, errMany
	}
	if err != nil {
		return b, err
	}
	b = append(b, '<')
	b = appendName(b, el.Space, el.Tag)
	for _, d := range decls {
		if d.prefix == "" {
			b = append(b, ` xmlns="`...)
		} else {
			b = append(append(append(b, ` xmlns:`...), d.prefix...), `="`...)
		}
		b = append(appendEscaped(b, d.uri, &c14nAttr), '"')
	}
	for _, a := range attrs {
		b = appendName(append(b, ' '), a.a.Space, a.a.Key)
		b = append(appendEscaped(append(b, `="`...), a.a.Value, &c14nAttr), '"')
	}
	b = append(b, '>')
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			if t == c.exclude {
				continue
			}
			if b, err = c.elem(b, t, false); err != nil {
				return b, err
			}
		case *etree.CharData:
			b = c.spill(appendEscaped(b, t.Data, &c14nText))
		case *etree.ProcInst:
			c.w.b = b
			c.procInst(t)
			b = c.w.b
		}
	}
	b = append(appendName(append(b, "</"...), el.Space, el.Tag), '>')
	if len(c.scope) != parentScope {
		c.scope = c.scope[:parentScope]
	}
	if len(c.rendered) != renderedMark {
		c.rendered = c.rendered[:renderedMark]
	}
	return c.checkSize(b)
}

// spill hands a full chunk of b to the hash and returns what remains.
func (c *canon) spill(b []byte) []byte {
	if len(b)-c.w.hashed >= canonChunk && c.w.h != nil {
		c.w.b = b
		c.w.hashChunk()
		b = c.w.b
	}
	return b
}

// checkSize spills b and enforces MaxBytes on the output so far.
func (c *canon) checkSize(b []byte) ([]byte, error) {
	b = c.spill(b)
	if c.max > 0 && c.w.n+int64(len(b)) > c.max {
		return b, fmt.Errorf("%w: canonical form exceeds %d bytes", ErrCanonicalizationLimit, c.max)
	}
	return b, nil
}

func (c *canon) procInst(p *etree.ProcInst) {
	c.w.writeString("<?")
	c.w.writeString(p.Target)
	if inst := strings.TrimLeft(p.Inst, " \t\n\r"); inst != "" {
		c.w.writeByte(' ')
		c.w.writeString(inst)
	}
	c.w.writeString("?>")
}

func (c *canon) inScope(prefix string) (string, bool) {
	return lookup(c.scope, prefix)
}

func (c *canon) renderedValue(prefix string) string {
	for i := len(c.rendered) - 1; i >= 0; i-- {
		if c.rendered[i].prefix == prefix {
			return c.rendered[i].uri
		}
	}
	return ""
}

// namespaceDecls decides which namespace declarations el carries in the
// output and records them as rendered.
func (c *canon) namespaceDecls(el *etree.Element, apex bool, parentScope int) ([]nsBinding, error) {
	var candidates []string
	switch {
	case c.excl:
		used := map[string]bool{el.Space: true}
		for i := range el.Attr {
			if a := &el.Attr[i]; a.Space != "" && a.Space != "xmlns" {
				used[a.Space] = true
			}
		}
		for p := range c.incl {
			used[p] = true
		}
		for p := range used {
			candidates = append(candidates, p)
		}
	case apex:
		seen := map[string]bool{}
		for i := len(c.scope) - 1; i >= 0; i-- {
			if p := c.scope[i].prefix; !seen[p] {
				seen[p] = true
				candidates = append(candidates, p)
			}
		}
	default:
		if len(c.scope) == parentScope {
			return nil, nil // no declarations on el: nothing changes
		}
		for _, b := range c.scope[parentScope:] {
			candidates = append(candidates, b.prefix)
		}
	}
	mark := len(c.rendered)
	for i, p := range candidates {
		if p == "xml" || slices.Contains(candidates[:i], p) {
			continue
		}
		v, ok := c.inScope(p)
		if !ok {
			if c.excl && c.incl[p] {
				continue // an inclusive prefix that is not in scope
			}
			return nil, fmt.Errorf("%w: %q on <%s>", ErrUndeclaredPrefix, p, el.FullTag())
		}
		var prev string
		if c.excl || apex {
			prev = c.renderedValue(p)
		} else {
			prev, _ = lookup(c.scope[:parentScope], p)
		}
		if v == prev {
			continue
		}
		c.rendered = append(c.rendered, nsBinding{p, v})
	}
	// The slice is written before el's children append to c.rendered.
	out := c.rendered[mark:]
	if len(out) > 1 {
		slices.SortFunc(out, func(a, b nsBinding) int { return strings.Compare(a.prefix, b.prefix) })
	}
	return out, nil
}

// attributes appends el's attributes (declarations excluded) to out in
// canonical order: by namespace URI, then local name; unqualified ones
// first.
func (c *canon) attributes(el *etree.Element, apex bool, out []outAttr) ([]outAttr, error) {
	for i := range el.Attr {
		a := &el.Attr[i]
		if _, isDecl := declPrefix(a); isDecl {
			continue
		}
		uri := ""
		if a.Space != "" {
			var ok bool
			if uri, ok = c.inScope(a.Space); !ok {
				return nil, fmt.Errorf("%w: %q on attribute %s", ErrUndeclaredPrefix, a.Space, a.FullKey())
			}
		}
		out = append(out, outAttr{uri, a})
	}
	if apex {
		for i := range c.inherited {
			a := &c.inherited[i]
			if !slices.ContainsFunc(el.Attr, func(o etree.Attr) bool { return o.Space == "xml" && o.Key == a.Key }) {
				out = append(out, outAttr{nsXML, a})
			}
		}
	}
	sortAttrs(out)
	return out, nil
}

// sortAttrs puts attributes in canonical order: by namespace URI, then
// local name. Most elements have a handful, sorted in place by insertion.
func sortAttrs(a []outAttr) {
	if len(a) > 12 {
		slices.SortFunc(a, compareAttrs)
		return
	}
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && compareAttrs(a[j-1], a[j]) > 0; j-- {
			a[j-1], a[j] = a[j], a[j-1]
		}
	}
}

func compareAttrs(a, b outAttr) int {
	if a.uri != b.uri {
		return strings.Compare(a.uri, b.uri)
	}
	return strings.Compare(a.a.Key, b.a.Key)
}

// EscapeText writes s as C14N text content (C14N 1.0 §2.3: &, <, > and
// CR escaped). It is the escaping of every XML the osci packages write, so
// that what they write is already canonical.
func EscapeText(w *bytes.Buffer, s string) { w.Write(appendEscaped(w.AvailableBuffer(), s, &c14nText)) }

// EscapeAttr writes s as a C14N attribute value without the quotes (&, <,
// " and the whitespace characters TAB, LF and CR escaped); a parser reads
// back exactly s, tabs and line ends included.
func EscapeAttr(w *bytes.Buffer, s string) { w.Write(appendEscaped(w.AvailableBuffer(), s, &c14nAttr)) }

// An escapeTable maps each byte that must be escaped to its reference.
type escapeTable struct {
	ref [256]string
	// plain marks the bytes copied as they are, so that a run of them is
	// passed over a byte-sized lookup at a time: those without a
	// reference, in a table made with asciiOnly only the ASCII ones.
	plain [256]bool
}

// newEscapeTable returns the table of refs (byte, reference, byte, ...).
func newEscapeTable(asciiOnly bool, refs ...string) escapeTable {
	var t escapeTable
	for i := 0; i < len(refs); i += 2 {
		t.ref[refs[i][0]] = refs[i+1]
	}
	for c := range t.plain {
		t.plain[c] = t.ref[c] == "" && (!asciiOnly || c < utf8.RuneSelf)
	}
	return t
}

var (
	c14nText = newEscapeTable(false, "&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	c14nAttr = newEscapeTable(false, "&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

// appendEscaped appends s with the bytes of the table replaced, in one pass.
func appendEscaped(dst []byte, s string, t *escapeTable) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !t.plain[c] {
			dst = append(append(dst, s[last:i]...), t.ref[c]...)
			last = i + 1
		}
	}
	return append(dst, s[last:]...)
}

package xmlsec

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// parser is the one XML 1.0 reader of the package: it walks the input once,
// byte by byte, checks every rule and limit on each token and only then lets
// the token join the etree tree. The input is valid UTF-8 with normalized
// line ends (parseOwned sees to both); the parser never writes into it and
// no string of the tree shares its memory.
type parser struct {
	b        []byte
	pos      int
	lim      Limits
	stack    []openElement
	ns       []nsBinding
	elements int
	decls    int
	rootSeen bool
	// names holds every element, attribute and target name read so far,
	// each validated and split once; its strings are the ones the tree
	// uses. recent caches the last name of each of a few hash slots.
	names  map[string]*xname
	recent [64]*xname
	// kids are the children of the open elements (and of the document),
	// innermost last; an element receives its children at its end tag,
	// in one slice of the right size.
	kids  []etree.Token
	attrs []rawAttr // attributes of the start tag being read
	buf   []byte    // a text with references resolved
	vbuf  []byte    // the attribute values of one start tag with references resolved
	arena arena
	strs  stringArena
}

type openElement struct {
	qname string
	nsLen int
	kids  int // where the element's children start in parser.kids
	el    *etree.Element
}

// rawAttr is an attribute as read; value is set for namespace
// declarations only, the others become strings with the element.
type rawAttr struct {
	name  *xname
	value string
	val   []byte
}

// xname is a name as read, split at its colon.
type xname struct {
	qname, space, local string
	err                 error // of splitQName, reported where the name is used
	qerr                error // of checkQName(local), reported by checkNames
}

func parseDocument(b []byte, lim Limits) (*etree.Document, error) {
	s := scratchPool.Get().(*scratch)
	p := &parser{b: b, lim: lim, names: make(map[string]*xname),
		stack: s.stack, ns: s.ns, kids: s.kids, attrs: s.attrs, buf: s.buf, vbuf: s.vbuf}
	p.strs.hint = len(b)
	doc, err := p.document()
	s.keep(p)
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// scratch is the working memory of a parse: the next parse reuses it
// instead of growing its own. The tree never points into it.
type scratch struct {
	stack     []openElement
	ns        []nsBinding
	kids      []etree.Token
	attrs     []rawAttr
	buf, vbuf []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxScratch bounds the memory a pooled scratch keeps, per slice.
const maxScratch = 1 << 20

// keep takes p's working memory back, emptied of anything that points into
// the tree or the input, and returns it to the pool.
func (s *scratch) keep(p *parser) {
	clear(p.stack[:cap(p.stack)])
	clear(p.ns[:cap(p.ns)])
	clear(p.kids[:cap(p.kids)])
	clear(p.attrs[:cap(p.attrs)])
	*s = scratch{
		stack: p.stack[:0], ns: p.ns[:0], kids: p.kids[:0], attrs: p.attrs[:0],
		buf: p.buf[:0], vbuf: p.vbuf[:0],
	}
	if cap(s.kids)*16 > maxScratch || cap(s.buf) > maxScratch || cap(s.vbuf) > maxScratch ||
		cap(s.stack) > 1024 || cap(s.ns) > 4096 || cap(s.attrs) > 1024 {
		return // an unusual document: let its memory go
	}
	scratchPool.Put(s)
}

func (p *parser) document() (*etree.Document, error) {
	b := p.b
	for p.pos < len(b) {
		if b[p.pos] != '<' {
			s, err := p.text()
			if err != nil {
				return nil, err
			}
			if err := p.charData(s); err != nil {
				return nil, err
			}
			continue
		}
		if p.pos+1 >= len(b) {
			return nil, fmt.Errorf("%w: unexpected end of input after <", ErrSyntax)
		}
		var err error
		switch b[p.pos+1] {
		case '/':
			err = p.endTag()
		case '?':
			err = p.procInst()
		case '!':
			err = p.markupDecl()
		default:
			err = p.startTag()
		}
		if err != nil {
			return nil, err
		}
	}
	if !p.rootSeen {
		return nil, ErrNoRoot
	}
	if len(p.stack) > 0 {
		return nil, fmt.Errorf("%w: unexpected end of input", ErrSyntax)
	}
	p.strs.flush()
	doc := etree.NewDocument()
	doc.Child = p.arena.tokens(len(p.kids))
	for _, t := range p.kids {
		doc.AddChild(t)
	}
	return doc, nil
}

// add makes t the next child of the innermost open element (or of the
// document).
func (p *parser) add(t etree.Token) { p.kids = append(p.kids, t) }

// charData adds a text run or CDATA section; outside the root only
// whitespace is allowed.
func (p *parser) charData(data []byte) error {
	if len(p.stack) == 0 && len(bytes.Trim(data, " \t\n\r")) > 0 {
		return fmt.Errorf("%w: text outside the root element", ErrMultipleRoots)
	}
	c := p.arena.charData()
	p.strs.set(&c.Data, data)
	p.add(c)
	return nil
}

// Byte classes: which bytes end a plain run of text or of an attribute
// value. Control characters are never allowed (TAB and LF are literal in
// text, normalized to a space in attribute values); 0xEF may start U+FFFE
// or U+FFFF, which XML 1.0 does not allow either.
const (
	stopText = 1 << iota
	stopAttr
)

var byteClass = func() (t [256]uint8) {
	for c := range 0x20 {
		t[c] = stopAttr
		if c != '\t' && c != '\n' {
			t[c] |= stopText
		}
	}
	t['<'] = stopText | stopAttr
	t['&'] = stopText | stopAttr
	t[']'] = stopText
	t['"'] = stopAttr
	t['\''] = stopAttr
	t[0xEF] = stopText | stopAttr
	return t
}()

// nonChar reports whether b[i:] starts with U+FFFE or U+FFFF.
func nonChar(b []byte, i int) bool {
	return i+2 < len(b) && b[i] == 0xEF && b[i+1] == 0xBF && (b[i+2] == 0xBE || b[i+2] == 0xBF)
}

func illegalChar(b []byte, i int) error {
	r, _ := utf8.DecodeRune(b[i:])
	return fmt.Errorf("%w: illegal character %U", ErrSyntax, r)
}

// text reads character data up to the next '<' or the end of input,
// resolving references.
func (p *parser) text() ([]byte, error) {
	b := p.b
	start, i := p.pos, p.pos
	buf := p.buf[:0]
	run, decoded := start, false
	for i < len(b) {
		c := b[i]
		if byteClass[c]&stopText == 0 {
			i++
			continue
		}
		switch {
		case c == '<':
			goto done
		case c == '&':
			var err error
			if buf, i, err = p.appendReference(buf, run, i); err != nil {
				return nil, err
			}
			run, decoded = i, true
			continue
		case c == ']':
			if i+2 < len(b) && b[i+1] == ']' && b[i+2] == '>' {
				return nil, fmt.Errorf("%w: ]]> in text", ErrSyntax)
			}
		case c == 0xEF:
			if nonChar(b, i) {
				return nil, illegalChar(b, i)
			}
		default:
			return nil, illegalChar(b, i)
		}
		i++
	}
done:
	p.pos = i
	if !decoded {
		return b[start:i], nil
	}
	buf = append(buf, b[run:i]...)
	if cap(buf) != cap(p.buf) {
		p.buf = buf // grown; otherwise the same array, and no pointer to store
	}
	return buf, nil
}

// appendReference appends the literal run b[run:i] and the character the
// reference at i names to buf, and returns the position after the
// reference.
func (p *parser) appendReference(buf []byte, run, i int) ([]byte, int, error) {
	r, n, err := p.reference(i)
	if err != nil {
		return nil, 0, err
	}
	return utf8.AppendRune(append(buf, p.b[run:i]...), r), i + n, nil
}

// attrValue reads a quoted attribute value starting at the quote,
// resolving references and turning literal TAB and LF into spaces (XML 1.0
// §3.3.3; a character reference keeps its character).
func (p *parser) attrValue() ([]byte, error) {
	b := p.b
	quote := b[p.pos]
	start := p.pos + 1
	i := start
	buf := p.vbuf // holds the values of the tag read so far
	first := len(buf)
	run, decoded := start, false
	for i < len(b) {
		c := b[i]
		if byteClass[c]&stopAttr == 0 {
			i++
			continue
		}
		switch {
		case c == quote:
			p.pos = i + 1
			if !decoded {
				return b[start:i], nil
			}
			buf = append(buf, b[run:i]...)
			if cap(buf) == cap(p.vbuf) {
				p.vbuf = p.vbuf[:len(buf)] // the same array: only the length is stored
			} else {
				p.vbuf = buf
			}
			return buf[first:], nil
		case c == '"' || c == '\'':
		case c == '<':
			return nil, fmt.Errorf("%w: unescaped < in attribute value", ErrSyntax)
		case c == '&':
			var err error
			if buf, i, err = p.appendReference(buf, run, i); err != nil {
				return nil, err
			}
			run, decoded = i, true
			continue
		case c == '\t' || c == '\n':
			buf = append(append(buf, b[run:i]...), ' ')
			run, decoded = i+1, true
		case c == 0xEF:
			if nonChar(b, i) {
				return nil, illegalChar(b, i)
			}
		default:
			return nil, illegalChar(b, i)
		}
		i++
	}
	return nil, fmt.Errorf("%w: unexpected end of input in attribute value", ErrSyntax)
}

var predefined = []struct {
	name string // with the semicolon
	r    rune
}{{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"apos;", '\''}, {"quot;", '"'}}

// reference resolves the character or predefined entity reference at b[i]
// ('&') and returns its character and length. Other entities cannot exist:
// there is no DTD.
func (p *parser) reference(i int) (rune, int, error) {
	b := p.b[i+1:]
	if len(b) > 0 && b[0] == '#' {
		j, base := 1, rune(10)
		if j < len(b) && b[j] == 'x' {
			j, base = 2, 16
		}
		digits := j
		var r rune
		for ; j < len(b); j++ {
			d := digitValue(b[j], base)
			if d < 0 {
				break
			}
			if r = r*base + d; r > utf8.MaxRune {
				r = utf8.MaxRune + 1 // stays too large, never overflows
			}
		}
		switch {
		case j == digits || j == len(b) || b[j] != ';':
			return 0, 0, fmt.Errorf("%w: malformed character reference %.12q", ErrSyntax, p.b[i:min(i+12, len(p.b))])
		case r >= 0xD800 && r <= 0xDFFF:
			return 0, 0, fmt.Errorf("%w: character reference to a surrogate (%#x)", ErrSyntax, r)
		case !isXMLChar(r):
			return 0, 0, fmt.Errorf("%w: character reference to an illegal character (%#x)", ErrSyntax, r)
		}
		return r, j + 2, nil
	}
	for _, e := range predefined {
		if bytes.HasPrefix(b, []byte(e.name)) {
			return e.r, len(e.name) + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: undeclared entity or malformed reference %.12q", ErrSyntax, p.b[i:min(i+12, len(p.b))])
}

func digitValue(c byte, base rune) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case base == 16 && 'a' <= c && c <= 'f':
		return rune(c-'a') + 10
	case base == 16 && 'A' <= c && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// isXMLChar is the Char production of XML 1.0 §2.2.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

func isNameByte(c byte) bool { return nameByte[c] }

var nameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '_' || c == ':' || c == '.' || c == '-' || c >= utf8.RuneSelf
	}
	return t
}()

// nameEnd returns where the name starting at i ends (i when there is none).
func (p *parser) nameEnd(i int) int {
	for i < len(p.b) && isNameByte(p.b[i]) {
		i++
	}
	return i
}

// name reads a Name at p.pos and returns it interned, or nil when no name
// starts there.
func (p *parser) name() (*xname, error) {
	end := p.nameEnd(p.pos)
	raw := p.b[p.pos:end]
	if len(raw) == 0 {
		return nil, nil
	}
	slot := &p.recent[(len(raw)+int(raw[0])+7*int(raw[len(raw)-1]))&(len(p.recent)-1)]
	n := *slot
	if n == nil || n.qname != string(raw) {
		var ok bool
		if n, ok = p.names[string(raw)]; !ok {
			if !validName(raw) {
				return nil, fmt.Errorf("%w: invalid name %q", ErrSyntax, raw)
			}
			n = &xname{qname: string(raw)}
			n.space, n.local, n.err = splitQName(n.qname)
			n.qerr = checkQName(n.local)
			p.names[n.qname] = n
		}
		*slot = n
	}
	p.pos = end
	return n, nil
}

// validName applies the Name production. Names outside ASCII are rare
// and are judged by encoding/xml's name tables, the rule this package has
// always applied (XML 1.0 4th edition, Appendix B), so that the same names
// are accepted as before.
func validName(raw []byte) bool {
	ascii := true
	for i, c := range raw {
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case i == 0 && ('0' <= c && c <= '9' || c == '.' || c == '-'):
			return false
		}
	}
	if ascii {
		return true
	}
	pi := make([]byte, 0, len(raw)+4)
	pi = append(append(append(pi, "<?"...), raw...), "?>"...)
	tok, err := xml.NewDecoder(bytes.NewReader(pi)).RawToken()
	t, ok := tok.(xml.ProcInst)
	return err == nil && ok && t.Target == string(raw)
}

// splitQName splits an element or attribute name at its colon. More than
// one colon is a syntax error at once; a name with an empty prefix or local
// part stays whole in local and checkNames refuses it later, in the order
// the rules have always been applied.
func splitQName(s string) (space, local string, err error) {
	i := strings.IndexByte(s, ':')
	switch {
	case i < 0:
		return "", s, nil
	case strings.IndexByte(s[i+1:], ':') >= 0:
		return "", "", fmt.Errorf("%w: name %q has more than one colon", ErrSyntax, s)
	case i == 0 || i == len(s)-1:
		return "", s, nil
	}
	return s[:i], s[i+1:], nil
}

// checkQName refuses a name that is not a qualified name (Namespaces in
// XML 1.0 §4).
func checkQName(local string) error {
	if strings.IndexByte(local, ':') >= 0 {
		return fmt.Errorf("%w: name %q is not a qualified name", ErrSyntax, local)
	}
	return nil
}

// space skips whitespace and reports whether there was any.
func (p *parser) space() bool {
	start := p.pos
	for p.pos < len(p.b) && isXMLSpace(p.b[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func (p *parser) startTag() error {
	p.pos++ // <
	n, err := p.name()
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w: expected element name after <", ErrSyntax)
	}
	if n.err != nil {
		return n.err
	}
	qname := n.qname
	attrs := p.attrs[:0]
	p.vbuf = p.vbuf[:0] // the values of the previous tag are in the tree
	empty := false
	for {
		sep := p.space()
		if p.pos >= len(p.b) {
			return fmt.Errorf("%w: unexpected end of input in <%s>", ErrSyntax, qname)
		}
		c := p.b[p.pos]
		if c == '>' {
			p.pos++
			break
		}
		if c == '/' {
			if p.pos+1 >= len(p.b) || p.b[p.pos+1] != '>' {
				return fmt.Errorf("%w: expected /> in <%s>", ErrSyntax, qname)
			}
			p.pos += 2
			empty = true
			break
		}
		if !sep {
			return fmt.Errorf("%w: no whitespace before an attribute of <%s>", ErrSyntax, qname)
		}
		if len(attrs) < cap(attrs) {
			attrs = attrs[:len(attrs)+1] // attribute sets every field
		} else {
			attrs = append(attrs, rawAttr{})
		}
		if err := p.attribute(qname, &attrs[len(attrs)-1]); err != nil {
			return err
		}
	}
	p.attrs = attrs
	el, err := p.open(n, attrs)
	if err != nil {
		return err
	}
	if empty {
		return p.close(el)
	}
	return nil
}

// attribute reads one attribute of the start tag of elem into a.
func (p *parser) attribute(elem string, a *rawAttr) error {
	n, err := p.name()
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w: expected attribute name in <%s>", ErrSyntax, elem)
	}
	if n.err != nil {
		return n.err
	}
	p.space()
	if p.pos >= len(p.b) || p.b[p.pos] != '=' {
		return fmt.Errorf("%w: attribute %s without = in <%s>", ErrSyntax, n.qname, elem)
	}
	p.pos++
	p.space()
	if p.pos >= len(p.b) || p.b[p.pos] != '"' && p.b[p.pos] != '\'' {
		return fmt.Errorf("%w: unquoted or missing value of %s in <%s>", ErrSyntax, n.qname, elem)
	}
	v, err := p.attrValue()
	if err != nil {
		return err
	}
	a.name, a.val, a.value = n, v, ""
	if n.space == "xmlns" || n.space == "" && n.local == "xmlns" {
		a.value = string(v)
	}
	return nil
}

// open checks a complete start tag against the rules and limits and
// only then creates its element.
func (p *parser) open(name *xname, attrs []rawAttr) (*openElement, error) {
	qname, space, local := name.qname, name.space, name.local
	lim := p.lim
	if len(p.stack) == 0 && p.rootSeen {
		return nil, fmt.Errorf("%w: second root <%s>", ErrMultipleRoots, local)
	}
	p.rootSeen = true
	p.elements++
	if p.elements > lim.MaxElements {
		return nil, fmt.Errorf("%w: limit %d", ErrTooManyElements, lim.MaxElements)
	}
	if len(p.stack)+1 > lim.MaxDepth {
		return nil, fmt.Errorf("%w: limit %d", ErrTooDeep, lim.MaxDepth)
	}
	if len(attrs) > lim.MaxAttributes {
		return nil, fmt.Errorf("%w: %d on <%s>, limit %d", ErrTooManyAttrs, len(attrs), local, lim.MaxAttributes)
	}
	nsLen := len(p.ns)
	n, err := declare(attrs, &p.ns)
	if err != nil {
		return nil, err
	}
	p.decls += n
	if p.decls > lim.MaxNamespaceDecls {
		return nil, fmt.Errorf("%w: limit %d", ErrTooManyNamespace, lim.MaxNamespaceDecls)
	}
	if err := checkNames(name, attrs, p.ns); err != nil {
		return nil, err
	}
	el := p.arena.element()
	el.Space, el.Tag = space, local
	el.Attr = p.arena.attrs(len(attrs))
	for i, a := range attrs {
		// The first attribute is created by etree, which links it to el;
		// the others, already checked to be unique, are copies of it with
		// their own names and values.
		var at *etree.Attr
		if i == 0 {
			at = el.CreateAttr(a.name.qname, "")
		} else {
			el.Attr = append(el.Attr, el.Attr[0])
			at = &el.Attr[i]
			at.Space, at.Key = a.name.space, a.name.local
		}
		if a.value != "" {
			at.Value = a.value
		} else {
			p.strs.set(&at.Value, a.val)
		}
	}
	p.add(el)
	p.stack = append(p.stack, openElement{qname: qname, nsLen: nsLen, kids: len(p.kids), el: el})
	return &p.stack[len(p.stack)-1], nil
}

// close hands the innermost open element its children and pops it.
func (p *parser) close(top *openElement) error {
	kids := p.kids[top.kids:]
	el := top.el
	el.Child = p.arena.tokens(len(kids))
	for _, t := range kids {
		el.AddChild(t)
	}
	// The slots stay as they are until reused: they point into the tree,
	// which is alive anyway, and scratch.keep clears them.
	p.kids = p.kids[:top.kids]
	p.ns = p.ns[:top.nsLen]
	p.stack = p.stack[:len(p.stack)-1]
	return nil
}

func (p *parser) endTag() error {
	p.pos += 2 // </
	end := p.nameEnd(p.pos)
	name := p.b[p.pos:end]
	if len(name) == 0 {
		return fmt.Errorf("%w: expected element name after </", ErrSyntax)
	}
	p.pos = end
	p.space()
	if p.pos >= len(p.b) || p.b[p.pos] != '>' {
		return fmt.Errorf("%w: invalid characters after </%s", ErrSyntax, name)
	}
	p.pos++
	if len(p.stack) == 0 {
		return fmt.Errorf("%w: unexpected end tag", ErrSyntax)
	}
	top := &p.stack[len(p.stack)-1]
	if string(name) != top.qname {
		return fmt.Errorf("%w: end tag </%s> does not match <%s>", ErrSyntax, name, top.qname)
	}
	return p.close(top)
}

// markupDecl reads what starts with <!: a comment, a CDATA section, or a
// declaration (refused: no DTD, no entities).
func (p *parser) markupDecl() error {
	b := p.b[p.pos:]
	switch {
	case bytes.HasPrefix(b, []byte("<!--")):
		rest := b[4:]
		i := bytes.Index(rest, []byte("--"))
		if i < 0 {
			return fmt.Errorf("%w: unterminated comment", ErrSyntax)
		}
		if i+2 >= len(rest) || rest[i+2] != '>' {
			return fmt.Errorf("%w: -- inside a comment", ErrSyntax)
		}
		p.add(etree.NewComment(string(rest[:i])))
		p.pos += 4 + i + 3
		return nil
	case bytes.HasPrefix(b, []byte("<![CDATA[")):
		rest := b[9:]
		i := bytes.Index(rest, []byte("]]>"))
		if i < 0 {
			return fmt.Errorf("%w: unterminated CDATA section", ErrSyntax)
		}
		data := rest[:i]
		for j, c := range data {
			if byteClass[c]&stopText != 0 && c != '<' && c != '&' && c != ']' && (c != 0xEF || nonChar(data, j)) {
				return illegalChar(data, j)
			}
		}
		p.pos += 9 + i + 3
		return p.charData(data)
	case len(b) > 2 && (b[2] == '-' || b[2] == '['), len(b) == 2:
		return fmt.Errorf("%w: invalid <! sequence", ErrSyntax)
	}
	return fmt.Errorf("%w: <!%.20s", ErrDoctype, b[2:])
}

// procInst reads <?target data?>: the XML declaration at the very start,
// or (only with Limits.AllowProcInst) a processing instruction.
func (p *parser) procInst() error {
	at := p.pos
	p.pos += 2 // <?
	n, err := p.name()
	if err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w: expected target name after <?", ErrSyntax)
	}
	target := n.qname
	p.space()
	rest := p.b[p.pos:]
	i := bytes.Index(rest, []byte("?>"))
	if i < 0 {
		return fmt.Errorf("%w: unterminated processing instruction", ErrSyntax)
	}
	inst := string(rest[:i])
	p.pos += i + 2
	if target == "xml" {
		if v := declParam("version", inst); v != "" && v != "1.0" {
			return fmt.Errorf("%w: xml version %q", ErrSyntax, v)
		}
		if e := declParam("encoding", inst); e != "" && !strings.EqualFold(e, "utf-8") {
			return fmt.Errorf("%w: declared encoding %q", ErrSyntax, e)
		}
		if at != 0 {
			return fmt.Errorf("%w: xml declaration not at start", ErrSyntax)
		}
		p.add(etree.NewProcInst(target, inst))
		return nil
	}
	if !p.lim.AllowProcInst {
		return fmt.Errorf("%w: <?%s", ErrProcInst, target)
	}
	if strings.EqualFold(target, "xml") {
		return fmt.Errorf("%w: reserved processing instruction target %q", ErrSyntax, target)
	}
	p.add(etree.NewProcInst(target, inst))
	return nil
}

// declParam returns the value of param="..." or param='...' in an XML
// declaration, or "": the first occurrence of param= directly followed by
// a quote counts (the reading this package has always applied).
func declParam(param, s string) string {
	key := param + "="
	for i := 0; i < len(s); {
		sub := s[i:]
		k := strings.Index(sub, key)
		if k < 0 || k+len(key) >= len(sub) {
			return ""
		}
		q := sub[k+len(key)]
		i += k + len(key) + 1
		if q == '"' || q == '\'' {
			end := strings.IndexByte(s[i:], q)
			if end < 0 {
				return ""
			}
			return s[i : i+end]
		}
	}
	return ""
}

// declare pushes the namespace declarations of one start tag and checks
// them against Namespaces in XML 1.0 §3.
func declare(attrs []rawAttr, ns *[]nsBinding) (int, error) {
	n := 0
	for _, a := range attrs {
		var prefix string
		switch {
		case a.name.space == "" && a.name.local == "xmlns":
			prefix = ""
		case a.name.space == "xmlns":
			prefix = a.name.local
		default:
			continue
		}
		n++
		switch {
		case prefix == "xmlns":
			return 0, fmt.Errorf("%w: xmlns:xmlns", ErrBadNamespace)
		case prefix == "xml" && a.value != nsXML, prefix != "xml" && a.value == nsXML:
			return 0, fmt.Errorf("%w: the xml prefix and its namespace belong together", ErrBadNamespace)
		case a.value == nsXMLNS:
			return 0, fmt.Errorf("%w: the xmlns namespace cannot be bound", ErrBadNamespace)
		case prefix != "" && a.value == "":
			return 0, fmt.Errorf("%w: xmlns:%s=\"\" (prefix undeclaration is XML 1.1)", ErrBadNamespace, prefix)
		}
		*ns = append(*ns, nsBinding{prefix, a.value})
	}
	return n, nil
}

// checkNames requires every name to be a qualified name, every prefix to
// be declared and every attribute to be unique both by qualified name and
// by expanded name.
func checkNames(name *xname, attrs []rawAttr, ns []nsBinding) error {
	qname, space := name.qname, name.space
	if name.qerr != nil {
		return name.qerr
	}
	if space == "xmlns" {
		return fmt.Errorf("%w: element with the xmlns prefix", ErrBadNamespace)
	}
	if space != "" {
		if _, ok := lookup(ns, space); !ok {
			return fmt.Errorf("%w: %q on <%s>", ErrUndeclaredPrefix, space, qname)
		}
	}
	// Few attributes are compared pairwise, many through maps.
	type key struct{ uri, local string }
	const pairwise = 16
	// The first prefixed attribute is held in a local, the others (rare)
	// in a list: most elements have at most one, for which a list would
	// cost the zeroing of an array and a write barrier.
	var first key
	var few [3]key
	rest := few[:0]
	prefixed := 0
	var seen map[*xname]bool // names are interned: one *xname per name
	var expanded map[key]bool
	if len(attrs) > pairwise {
		seen, expanded = make(map[*xname]bool, len(attrs)), make(map[key]bool, len(attrs))
	}
	for i := range attrs {
		a := attrs[i].name
		if a.qerr != nil {
			return a.qerr
		}
		dup := false
		if seen != nil {
			dup, seen[a] = seen[a], true
		} else {
			for j := 0; j < i && !dup; j++ {
				dup = attrs[j].name == a
			}
		}
		if dup {
			return fmt.Errorf("%w: %s on <%s>", ErrDuplicateAttr, a.qname, qname)
		}
		if a.space == "" || a.space == "xmlns" {
			continue
		}
		uri, ok := lookup(ns, a.space)
		if !ok {
			return fmt.Errorf("%w: %q on attribute %s", ErrUndeclaredPrefix, a.space, a.qname)
		}
		k := key{uri, a.local}
		if expanded != nil {
			dup, expanded[k] = expanded[k], true
		} else {
			if prefixed == 0 {
				first = k
			} else {
				dup = k == first || slices.Contains(rest, k)
				rest = append(rest, k)
			}
			prefixed++
		}
		if dup {
			return fmt.Errorf("%w: {%s}%s on <%s>", ErrDuplicateAttr, uri, a.local, qname)
		}
	}
	return nil
}

// arena hands out the parts of the tree in chunks: one allocation serves
// many elements, text nodes, attribute and child lists. The slices it
// returns have their length as capacity, so a later append to one of them
// moves it instead of writing into a neighbour. Each chunk is stored once
// and handed out by an index: a slice advanced by reslicing would store a
// new pointer, and a write barrier, for every part while the collector
// runs.
type arena struct {
	chunks [4]int // the last chunk size of each kind
	elems  []etree.Element
	chars  []etree.CharData
	attr   []etree.Attr
	toks   []etree.Token
	// where the unused rest of each chunk starts
	nElems, nChars, nAttr, nToks int
}

// next returns the size of the next chunk: small documents (a re-parsed
// SignedInfo) stay small, large ones get few allocations.
func (a *arena) next(kind int) int {
	a.chunks[kind] = min(max(2*a.chunks[kind], 8), 1024)
	return a.chunks[kind]
}

func (a *arena) element() *etree.Element {
	if a.nElems == len(a.elems) {
		a.elems, a.nElems = make([]etree.Element, a.next(0)), 0
	}
	a.nElems++
	return &a.elems[a.nElems-1]
}

func (a *arena) charData() *etree.CharData {
	if a.nChars == len(a.chars) {
		a.chars, a.nChars = make([]etree.CharData, a.next(1)), 0
	}
	a.nChars++
	return &a.chars[a.nChars-1]
}

func (a *arena) attrs(n int) []etree.Attr {
	if n == 0 {
		return make([]etree.Attr, 0) // as etree.NewElement: empty, not nil
	}
	if n > len(a.attr)-a.nAttr {
		a.attr, a.nAttr = make([]etree.Attr, max(n, a.next(2))), 0
	}
	s := a.attr[a.nAttr : a.nAttr : a.nAttr+n]
	a.nAttr += n
	return s
}

func (a *arena) tokens(n int) []etree.Token {
	if n == 0 {
		return make([]etree.Token, 0)
	}
	if n > len(a.toks)-a.nToks {
		if n > 256 {
			return make([]etree.Token, 0, n)
		}
		a.toks, a.nToks = make([]etree.Token, max(n, a.next(3))), 0
	}
	s := a.toks[a.nToks : a.nToks : a.nToks+n]
	a.nToks += n
	return s
}

// stringArena gives the tree's texts and attribute values their strings
// in blocks: the bytes of many values are gathered, made one string, and
// each value is a slice of it. A string kept after the tree is dropped
// keeps at most one block alive.
type stringArena struct {
	hint int // the input size: a block need not be larger
	buf  []byte
	fix  []stringFix
}

type stringFix struct {
	p        *string
	off, end int
}

const stringBlock = 16 << 10

// set makes *p a copy of b, at the latest when flush is called.
func (s *stringArena) set(p *string, b []byte) {
	switch {
	case len(b) == 0:
		*p = ""
		return
	case len(b) > stringBlock/4:
		*p = string(b)
		return
	}
	if len(s.buf)+len(b) > stringBlock {
		s.flush()
	}
	if s.buf == nil {
		s.buf = make([]byte, 0, min(stringBlock, max(s.hint, len(b))))
	}
	s.fix = append(s.fix, stringFix{p, len(s.buf), len(s.buf) + len(b)})
	s.buf = append(s.buf, b...)
}

func (s *stringArena) flush() {
	if len(s.fix) == 0 {
		return
	}
	str := string(s.buf)
	for _, f := range s.fix {
		*f.p = str[f.off:f.end]
	}
	s.buf, s.fix = s.buf[:0], s.fix[:0]
}

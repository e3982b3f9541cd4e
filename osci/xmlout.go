package osci

import (
	"bytes"
	"sort"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// xel is an element to emit. The writer emits it in inclusive C14N form
// (namespace declarations first and sorted, then attributes in C14N order,
// explicit end tags, C14N escaping), so a header block's digest is the hash of
// the bytes written. It is the package's only XML writer.
type xel struct {
	name     string
	ns       [][2]string // declared namespaces: prefix, uri
	attrs    [][2]string // qualified name, value
	children []*xel
	text     string
	raw      []byte // pre-serialised content, written after text and before children
}

func el(name string, children ...*xel) *xel { return (&xel{name: name}).add(children...) }

func (e *xel) attr(name, value string) *xel {
	e.attrs = append(e.attrs, [2]string{name, value})
	return e
}

// ns5 declares the five OSCI namespaces, as every signed block redeclares them.
func (e *xel) ns5() *xel {
	e.ns = append(e.ns, [2]string{"ds", NSDS}, [2]string{"osci", NSOSCI}, [2]string{"soap", NSSoap},
		[2]string{"xenc", NSXenc}, [2]string{"xsi", NSXSI})
	return e
}

func (e *xel) xmlns(prefix, uri string) *xel {
	e.ns = append(e.ns, [2]string{prefix, uri})
	return e
}

func (e *xel) add(children ...*xel) *xel {
	for _, c := range children {
		if c != nil {
			e.children = append(e.children, c)
		}
	}
	return e
}

func (e *xel) txt(s string) *xel {
	e.text = s
	return e
}

// headerBlock is a SOAP header block in the library's form: five namespaces,
// Id, and soap:actor/mustUnderstand.
func headerBlock(name, id, actor string) *xel {
	e := el(name).ns5().attr("Id", id)
	if actor != "" {
		e.attr("soap:actor", actor).attr("soap:mustUnderstand", "1")
	}
	return e
}

var prefixNS = map[string]string{
	"soap": NSSoap, "osci": NSOSCI, "ds": NSDS, "xenc": NSXenc, "xsi": NSXSI,
	"xml": NSXML, "xenc11": NSXenc11, "osci2017": NSOSCI2017, "osci128": NSOSCI128,
}

func (e *xel) bytes() []byte {
	var b bytes.Buffer
	e.write(&b)
	return b.Bytes()
}

func (e *xel) write(b *bytes.Buffer) {
	b.WriteByte('<')
	b.WriteString(e.name)
	ns := append([][2]string(nil), e.ns...)
	sort.SliceStable(ns, func(i, j int) bool { return ns[i][0] < ns[j][0] })
	for _, n := range ns {
		b.WriteString(" xmlns")
		if n[0] != "" {
			b.WriteByte(':')
			b.WriteString(n[0])
		}
		b.WriteString("=\"")
		xmlsec.EscapeAttr(b, n[1])
		b.WriteByte('"')
	}
	attrs := append([][2]string(nil), e.attrs...)
	sort.SliceStable(attrs, func(i, j int) bool { return attrLess(attrs[i][0], attrs[j][0]) })
	for _, a := range attrs {
		b.WriteByte(' ')
		b.WriteString(a[0])
		b.WriteString("=\"")
		xmlsec.EscapeAttr(b, a[1])
		b.WriteByte('"')
	}
	b.WriteByte('>')
	xmlsec.EscapeText(b, e.text)
	b.Write(e.raw)
	for _, c := range e.children {
		c.write(b)
	}
	b.WriteString("</")
	b.WriteString(e.name)
	b.WriteByte('>')
}

// attrLess orders attributes as C14N does: unqualified by local name first,
// then qualified by namespace URI, then local name.
func attrLess(a, b string) bool {
	pa, la, qa := strings.Cut(a, ":")
	pb, lb, qb := strings.Cut(b, ":")
	switch {
	case !qa && !qb:
		return a < b
	case !qa:
		return true
	case !qb:
		return false
	}
	if ua, ub := prefixNS[pa], prefixNS[pb]; ua != ub {
		return ua < ub
	}
	return la < lb
}

// writeEtree writes a parsed or xmlsec-built element with the same rules as
// xel (declarations first, C14N attribute order and escaping, end tags),
// keeping mixed content. Declarations are written as present on the element.
func writeEtree(b *bytes.Buffer, e *etree.Element) {
	var ns, attrs [][2]string
	for _, a := range e.Attr {
		switch {
		case a.Space == "xmlns":
			ns = append(ns, [2]string{a.Key, a.Value})
		case a.Space == "" && a.Key == "xmlns":
			ns = append(ns, [2]string{"", a.Value})
		default:
			attrs = append(attrs, [2]string{a.FullKey(), a.Value})
		}
	}
	x := &xel{name: e.FullTag(), ns: ns, attrs: attrs}
	open := x.bytes()
	b.Write(open[:len(open)-len("</"+x.name+">")])
	for _, c := range e.Child {
		switch c := c.(type) {
		case *etree.Element:
			writeEtree(b, c)
		case *etree.CharData:
			xmlsec.EscapeText(b, c.Data)
		}
	}
	b.WriteString("</" + x.name + ">")
}

package xjustiz

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"
)

// writer builds one record's tree in the generation's namespace with the
// prefix the justice sample data use (tns). The first bad value it meets
// is kept in err; finish refuses the record then.
type writer struct {
	gen  *generation
	doc  *etree.Document
	root *etree.Element
	err  error
}

func newWriter(g *generation, msg string) *writer {
	doc := etree.NewDocument()
	root := doc.CreateElement("tns:" + msg)
	root.CreateAttr("xmlns:tns", g.namespace)
	return &writer{gen: g, doc: doc, root: root}
}

func (w *writer) el(parent *etree.Element, name string) *etree.Element {
	return parent.CreateElement("tns:" + name)
}

func (w *writer) text(parent *etree.Element, name, value string) {
	if w.err == nil && (!utf8.ValidString(value) || strings.ContainsFunc(value, badXMLRune)) {
		w.err = fmt.Errorf("%w: %s holds characters XML cannot carry", ErrIncomplete, name)
	}
	w.el(parent, name).SetText(value)
}

// code writes an XÖV code element: listVersionID and an unqualified code.
func (w *writer) code(parent *etree.Element, name, listVersion, code string) {
	e := w.el(parent, name)
	if listVersion != "" {
		e.CreateAttr("listVersionID", listVersion)
	}
	if w.err == nil && (!utf8.ValidString(code) || strings.ContainsFunc(code, badXMLRune)) {
		w.err = fmt.Errorf("%w: %s holds characters XML cannot carry", ErrIncomplete, name)
	}
	e.CreateElement("code").SetText(code)
}

func badXMLRune(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF
}

package xjustiz

import (
	"fmt"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/xmltext"
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

// check keeps the first value XML cannot carry as the writer's error.
func (w *writer) check(name, value string) {
	if w.err == nil && !xmltext.Valid(value) {
		w.err = fmt.Errorf("%w: %s holds characters XML cannot carry", ErrIncomplete, name)
	}
}

func (w *writer) text(parent *etree.Element, name, value string) {
	w.check(name, value)
	w.el(parent, name).SetText(value)
}

// code writes an XÖV code element: listVersionID and an unqualified code.
func (w *writer) code(parent *etree.Element, name, listVersion, code string) {
	e := w.el(parent, name)
	if listVersion != "" {
		e.CreateAttr("listVersionID", listVersion)
	}
	w.check(name, code)
	e.CreateElement("code").SetText(code)
}

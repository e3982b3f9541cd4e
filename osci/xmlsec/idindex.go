package xmlsec

import (
	"fmt"

	"github.com/beevik/etree"
)

// isIDAttr reports whether a is an identifier attribute: unqualified Id, ID
// or id (OSCI writes Id), or xml:id. All of them share one value space, so
// "#x" can never mean two elements.
func isIDAttr(a *etree.Attr) bool {
	switch {
	case a.Space == "":
		return a.Key == "Id" || a.Key == "ID" || a.Key == "id"
	case a.Space == "xml":
		return a.Key == "id"
	}
	return false
}

// buildIDIndex maps every identifier value to its element and fails with
// ErrDuplicateID when two elements carry the same value.
func buildIDIndex(doc *etree.Document) (map[string]*etree.Element, error) {
	root := doc.Root()
	if root == nil {
		return nil, ErrNoRoot
	}
	ids := map[string]*etree.Element{}
	if err := indexIDs(root, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// indexIDs adds el and its descendants to ids in document order.
func indexIDs(el *etree.Element, ids map[string]*etree.Element) error {
	for i := range el.Attr {
		a := &el.Attr[i]
		if !isIDAttr(a) {
			continue
		}
		if prev, dup := ids[a.Value]; dup && prev != el {
			return fmt.Errorf("%w: %q on <%s> and <%s>", ErrDuplicateID, a.Value, prev.FullTag(), el.FullTag())
		}
		ids[a.Value] = el
	}
	for _, t := range el.Child {
		if c, ok := t.(*etree.Element); ok {
			if err := indexIDs(c, ids); err != nil {
				return err
			}
		}
	}
	return nil
}

// isAncestorOrSelf reports whether a is el or one of its ancestors.
func isAncestorOrSelf(a, el *etree.Element) bool {
	for ; el != nil; el = el.Parent() {
		if el == a {
			return true
		}
	}
	return false
}

// elementPath returns the expanded-name path of el from the root, e.g.
// "/{http://schemas.xmlsoap.org/soap/envelope/}Envelope/{...}Body".
func elementPath(el *etree.Element) string {
	var parts []string
	for ; el != nil && el.Tag != ""; el = el.Parent() {
		parts = append(parts, "/{"+el.NamespaceURI()+"}"+el.Tag)
	}
	var s string
	for i := len(parts) - 1; i >= 0; i-- {
		s += parts[i]
	}
	return s
}

package osci

import (
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

// child returns the first child element with the namespace and local name.
func child(e *etree.Element, ns, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

func children(e *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func childText(e *etree.Element, ns, local string) string {
	if c := child(e, ns, local); c != nil {
		return c.Text()
	}
	return ""
}

func is(e *etree.Element, ns, local string) bool {
	return e != nil && e.Tag == local && e.NamespaceURI() == ns
}

// attrNS returns the value of the attribute with the namespace and local name.
func attrNS(e *etree.Element, ns, local string) (string, bool) {
	for i := range e.Attr {
		a := &e.Attr[i]
		if a.Key == local && a.Space != "" && a.Space != "xmlns" && a.NamespaceURI() == ns {
			return a.Value, true
		}
	}
	return "", false
}

// attrPlain returns an unqualified attribute.
func attrPlain(e *etree.Element, local string) (string, bool) {
	for _, a := range e.Attr {
		if a.Space == "" && a.Key == local {
			return a.Value, true
		}
	}
	return "", false
}

// decodeB64 decodes base64 with embedded whitespace (line-wrapped values).
func decodeB64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
}

package egvp

import (
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// NSXJustiz is the XJustiz namespace (all versions).
const NSXJustiz = "http://www.xjustiz.de"

// XJustiz is what the reader takes from an XJustiz record
// (xjustiz_nachricht.xml). It does not validate against the schema.
type XJustiz struct {
	Message   string // the root's local name, e.g. nachricht.gds.uebermittlungSchriftgutobjekte.0005005
	Version   string // xjustizVersion of the nachrichtenkopf (3.x) or grunddaten (2.x)
	MessageID string // nachrichtenkopf/eigeneNachrichtenID (3.x; 2.x: eigene_Nachrichten_ID)
	ForeignID string // nachrichtenkopf/fremdeNachrichtenID (2.x: fremde_Nachrichten_ID)
	// EEBRequested: some dokument carries ruecksendungEEB.erforderlich = true
	// (grunddatensatz 3.5, xjustiz.fachspezifischeDaten).
	EEBRequested bool
	// EEBReturn: the record is an eEB answer (nachricht.eeb.zuruecklaufend.*).
	EEBReturn bool
}

// ParseXJustiz reads an XJustiz record with xmlsec.Parse (no DOCTYPE, limits).
func ParseXJustiz(r io.Reader, lim xmlsec.Limits) (XJustiz, error) {
	doc, err := xmlsec.Parse(r, lim)
	if err != nil {
		return XJustiz{}, fmt.Errorf("%w: xjustiz: %w", ErrInvalid, err)
	}
	root := doc.Root()
	if root.NamespaceURI() != NSXJustiz || !strings.HasPrefix(root.Tag, "nachricht.") {
		return XJustiz{}, fmt.Errorf("%w: xjustiz: root %s is not an XJustiz message", ErrInvalid, root.FullTag())
	}
	x := XJustiz{Message: root.Tag, EEBReturn: strings.HasPrefix(root.Tag, "nachricht.eeb.zuruecklaufend")}
	head := xjChild(root, "nachrichtenkopf")
	if head != nil {
		x.Version = head.SelectAttrValue("xjustizVersion", "")
		x.MessageID = strings.TrimSpace(xjText(head, "eigeneNachrichtenID", "eigene_Nachrichten_ID"))
		x.ForeignID = strings.TrimSpace(xjText(head, "fremdeNachrichtenID", "fremde_Nachrichten_ID"))
	}
	if gd := xjChild(root, "grunddaten"); x.Version == "" && gd != nil {
		x.Version = gd.SelectAttrValue("xjustizVersion", "")
	}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if c.Tag == "ruecksendungEEB.erforderlich" && c.NamespaceURI() == NSXJustiz && strings.TrimSpace(c.Text()) == "true" {
				x.EEBRequested = true
			}
			walk(c)
		}
	}
	walk(root)
	return x, nil
}

func xjChild(e *etree.Element, names ...string) *etree.Element {
	for _, c := range e.ChildElements() {
		for _, n := range names {
			if c.Tag == n && c.NamespaceURI() == NSXJustiz {
				return c
			}
		}
	}
	return nil
}

func xjText(e *etree.Element, names ...string) string {
	if c := xjChild(e, names...); c != nil {
		return c.Text()
	}
	return ""
}

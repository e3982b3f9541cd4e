package xmlenc

import (
	"bytes"
	"fmt"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// DecryptElement decrypts an EncryptedData of Type Element or Content and
// replaces it in its parent by the decrypted nodes, parsed with the
// hardened parser (xmlsec.ParseBytes) in the namespace context of the
// parent. The plaintext is held in memory (Limits.MaxInlineBytes). A
// plaintext that is not the announced XML fails with ErrDecrypt, as any
// other decryption failure.
func (d *Decrypter) DecryptElement(ed *etree.Element) error {
	typ := ed.SelectAttrValue("Type", "")
	if typ != TypeElement && typ != TypeContent {
		return fmt.Errorf("%w: Type %q is neither Element nor Content", ErrMalformed, typ)
	}
	parent := ed.Parent()
	if parent == nil {
		return fmt.Errorf("%w: EncryptedData has no parent to decrypt into", ErrMalformed)
	}
	plain, err := d.DecryptBytes(ed)
	if err != nil {
		return err
	}
	nodes, err := parseFragment(plain, parent)
	if err != nil {
		return ErrDecrypt
	}
	if typ == TypeElement {
		var elems int
		for _, n := range nodes {
			switch n := n.(type) {
			case *etree.Element:
				elems++
			case *etree.CharData:
				if !n.IsWhitespace() {
					elems = 2
				}
			}
		}
		if elems != 1 {
			return ErrDecrypt
		}
	}
	at := ed.Index()
	parent.RemoveChildAt(at)
	for i, n := range nodes {
		parent.InsertChildAt(at+i, n)
	}
	return nil
}

// parseFragment parses plaintext nodes inside a wrapper that declares the
// namespaces in scope at parent, and detaches them from the wrapper.
func parseFragment(plain []byte, parent *etree.Element) ([]etree.Token, error) {
	var b bytes.Buffer
	b.WriteString("<xmlenc-fragment")
	seen := map[string]bool{}
	for e := parent; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			var prefix string
			switch {
			case a.Space == "" && a.Key == "xmlns":
				prefix = "xmlns"
			case a.Space == "xmlns":
				prefix = "xmlns:" + a.Key
			default:
				continue
			}
			if seen[prefix] {
				continue
			}
			seen[prefix] = true
			fmt.Fprintf(&b, ` %s="`, prefix)
			xmlsec.EscapeAttr(&b, a.Value)
			b.WriteByte('"')
		}
	}
	b.WriteString(">")
	b.Write(plain)
	b.WriteString("</xmlenc-fragment>")
	doc, err := xmlsec.ParseBytes(b.Bytes(), xmlsec.Limits{})
	if err != nil {
		return nil, err
	}
	w := doc.Root()
	nodes := append([]etree.Token(nil), w.Child...)
	for len(w.Child) > 0 {
		w.RemoveChildAt(0)
	}
	return nodes, nil
}

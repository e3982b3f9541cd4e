package osci

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// ReadContainer is a container of a received ContentPackage, decrypted if it
// was encrypted. Its content is what the sender wrote; whether the sender is
// who they claim follows from the message signature that covered the body,
// and from content signatures checked with VerifySignatures.
type ReadContainer struct {
	Container
	Encrypted bool

	el   *etree.Element
	doc  *etree.Document
	keys map[string]*etree.Element // attachment Content-ID -> EncryptedData with MgmtData
}

// Signed reports whether the container carries content signatures.
func (c *ReadContainer) Signed() bool { return child(c.el, NSDS, "Signature") != nil }

// AttachmentEncrypted reports whether the container holds a key for the attachment.
func (c *ReadContainer) AttachmentEncrypted(contentID string) bool { return c.keys[contentID] != nil }

// OpenContentPackage reads the containers of m's ContentPackage (use the
// message returned by Verify): plain containers as they are, encrypted ones
// decrypted with dec (xmlenc.ErrDecrypt when not addressed to dec). A nil
// dec skips encrypted containers.
func OpenContentPackage(m *Message, dec *xmlenc.Decrypter) ([]*ReadContainer, error) {
	if m.ContentPackage == nil {
		return nil, nil
	}
	certs := m.Block(IDNonIntermediaryCerts)
	var out []*ReadContainer
	for _, e := range m.ContentPackage.ChildElements() {
		switch {
		case is(e, NSXenc, "EncryptedData"):
			if dec == nil {
				continue
			}
			plain, err := dec.DecryptBytes(e)
			if err != nil {
				return nil, fmt.Errorf("osci: content decryption: %w", err)
			}
			// The container keeps its context: the five namespaces and the
			// message's certificates, which its signatures name by Id.
			var b strings.Builder
			open := wrapNS5(nil)
			b.Write(open[:len(open)-len("</osci:ContentPackage>")])
			b.Write(plain)
			if certs != nil {
				cb, err := xmlsec.Canonicalize(certs, xmlsec.C14N10)
				if err != nil {
					return nil, err
				}
				b.Write(cb)
			}
			b.WriteString("</osci:ContentPackage>")
			doc, err := xmlsec.ParseBytes([]byte(b.String()), xmlsec.Limits{})
			if err != nil {
				return nil, fmt.Errorf("%w: decrypted container: %w", ErrContent, err)
			}
			ce := doc.Root().ChildElements()[0]
			if !is(ce, NSOSCI, "ContentContainer") {
				return nil, fmt.Errorf("%w: decrypted data is not a container", ErrContent)
			}
			rc, err := readContainer(ce, doc)
			if err != nil {
				return nil, err
			}
			rc.Encrypted = true
			out = append(out, rc)
		case is(e, NSOSCI, "ContentContainer"):
			rc, err := readContainer(e, m.doc)
			if err != nil {
				return nil, err
			}
			out = append(out, rc)
		default:
			return nil, fmt.Errorf("%w: %s in ContentPackage", ErrContent, e.FullTag())
		}
	}
	return out, nil
}

func readContainer(e *etree.Element, doc *etree.Document) (*ReadContainer, error) {
	c, err := parseContainer(e)
	if err != nil {
		return nil, err
	}
	rc := &ReadContainer{Container: *c, el: e, doc: doc, keys: map[string]*etree.Element{}}
	for _, ed := range children(e, NSXenc, "EncryptedData") {
		ref := child(child(ed, NSXenc, "CipherData"), NSXenc, "CipherReference")
		uri := ""
		if ref != nil {
			uri = ref.SelectAttrValue("URI", "")
		}
		cid, ok := strings.CutPrefix(uri, "cid:")
		if !ok || cid == "" || rc.keys[cid] != nil {
			return nil, fmt.Errorf("%w: attachment key without a unique cid reference", ErrContent)
		}
		rc.keys[cid] = ed
	}
	return rc, nil
}

func parseContainer(e *etree.Element) (*Container, error) {
	id, ok := attrPlain(e, "Id")
	if !ok || id == "" {
		return nil, fmt.Errorf("%w: container without Id", ErrContent)
	}
	c := &Container{ID: id}
	for _, ct := range children(e, NSOSCI, "Content") {
		x := Content{}
		x.ID, _ = attrPlain(ct, "Id")
		href, hasHref := attrPlain(ct, "href")
		inline := child(ct, NSOSCI, "Base64Content")
		nested := child(ct, NSOSCI, "ContentContainer")
		switch {
		case hasHref && inline == nil && nested == nil:
			cid, ok := strings.CutPrefix(href, "cid:")
			if !ok || cid == "" {
				return nil, fmt.Errorf("%w: href %q", ErrContent, href)
			}
			x.Href = cid
		case inline != nil && !hasHref && nested == nil:
			data, err := decodeB64(inline.Text())
			if err != nil {
				return nil, fmt.Errorf("%w: Base64Content not base64", ErrContent)
			}
			x.ID, _ = attrPlain(inline, "Id")
			x.Data = data
		case nested != nil && !hasHref && inline == nil:
			n, err := parseContainer(nested)
			if err != nil {
				return nil, err
			}
			x.Container = n
		default:
			return nil, fmt.Errorf("%w: content %q is not one of inline, attachment, nested", ErrContent, x.ID)
		}
		c.Contents = append(c.Contents, x)
	}
	return c, nil
}

// DecryptAttachment writes the plaintext of the encrypted attachment
// contentID to w; parts opens its octets as received (a *io.SectionReader
// over the stored part avoids a spool). Nothing is written unless the whole
// attachment authenticated.
func (c *ReadContainer) DecryptAttachment(w io.Writer, contentID string, parts xmlenc.PartOpener, spoolDir string) (int64, error) {
	ed := c.keys[contentID]
	if ed == nil {
		return 0, fmt.Errorf("%w: %q", ErrNoContentKey, contentID)
	}
	dec := &xmlenc.Decrypter{AllowMgmtData: true, Parts: parts, SpoolDir: spoolDir}
	n, err := dec.DecryptTo(w, ed)
	if err != nil {
		return n, fmt.Errorf("osci: attachment %q: %w", contentID, err)
	}
	return n, nil
}

// VerifySignatures checks every content signature of the container: each
// must cover every Content and every attachment the container references.
// att must give what a "cid:" reference digests: an attachment's
// plaintext, so for an attachment encrypted under a key in this container
// (AttachmentEncrypted) its decrypted octets, for any other the octets as
// received (see PackageBuilder.Attachments). It returns the verified
// results (signer and signed octets).
func (c *ReadContainer) VerifySignatures(ctx context.Context, keys xmlsec.KeySelector, att xmlsec.AttachmentResolver) ([]*xmlsec.Verified, error) {
	var required []string
	for _, ct := range c.Contents {
		if ct.ID != "" {
			required = append(required, "#"+ct.ID)
		}
		if ct.Href != "" {
			required = append(required, "cid:"+ct.Href)
		}
	}
	var out []*xmlsec.Verified
	for _, sig := range children(c.el, NSDS, "Signature") {
		v, err := xmlsec.Verify(ctx, c.doc, sig, xmlsec.VerifyPolicy{Required: required, Keys: keys, Attachments: att})
		if err != nil {
			return nil, fmt.Errorf("%w: container %q: %w", ErrContentSignature, c.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}

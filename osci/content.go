package osci

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"strconv"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Container is an osci:ContentContainer: the unit of end-to-end content
// (Inhaltsdaten) that originators sign and encrypt for the addressee.
type Container struct {
	ID       string
	Contents []Content
}

// Content is one osci:Content: inline data, a reference to an attachment
// part, or a nested container. Set exactly one of Data, Href, Container.
type Content struct {
	ID        string     // Id of Base64Content (inline) or of Content (href, nested)
	Data      []byte     // inline (osci:Base64Content)
	Href      string     // attachment Content-ID (written as href="cid:...")
	Container *Container // nested
}

// AttachmentKey is the EncryptedData that carries the key of one encrypted
// attachment (ds:MgmtData) inside an encrypted container.
type AttachmentKey struct {
	ContentID string
	data      *etree.Element
}

// EncryptAttachment encrypts src into dst (IV‖ciphertext‖tag, the octets of
// the attachment part) with a fresh AES-256-GCM key and returns the key
// element to place in the container that references the attachment. The
// container must then be encrypted: the key travels in clear inside it.
func EncryptAttachment(dst io.Writer, src io.Reader, contentID string, rand io.Reader) (AttachmentKey, int64, error) {
	enc := &xmlenc.Encrypter{MgmtData: true, Id: "Attachment" + contentID, MimeType: "text/xml", Rand: rand}
	ed, n, err := enc.EncryptStream(dst, src, contentID)
	if err != nil {
		return AttachmentKey{}, n, fmt.Errorf("osci: attachment %q: %w", contentID, err)
	}
	return AttachmentKey{ContentID: contentID, data: ed}, n, nil
}

// element writes the container in canonical form (without namespace
// declarations when nested, where the enclosing element declares them).
func (c *Container) element(keys []AttachmentKey, sig []byte) (*xel, error) {
	if c.ID == "" {
		return nil, fmt.Errorf("%w: container without Id", ErrContent)
	}
	e := el("osci:ContentContainer").attr("Id", c.ID)
	var raw bytes.Buffer
	raw.Write(sig)
	for _, ct := range c.Contents {
		x := el("osci:Content")
		switch {
		case ct.Data != nil && ct.Href == "" && ct.Container == nil:
			x.add(el("osci:Base64Content").attr("Id", ct.ID).txt(xmlsec.EncodeBase64(ct.Data)))
		case ct.Href != "" && ct.Data == nil && ct.Container == nil:
			x.attr("Id", ct.ID).attr("href", "cid:"+ct.Href)
		case ct.Container != nil && ct.Data == nil && ct.Href == "":
			nested, err := ct.Container.element(nil, nil)
			if err != nil {
				return nil, err
			}
			x.attr("Id", ct.ID).add(nested)
		default:
			return nil, fmt.Errorf("%w: content %q must be one of inline, attachment, nested", ErrContent, ct.ID)
		}
		if ct.ID == "" {
			return nil, fmt.Errorf("%w: content without Id", ErrContent)
		}
		raw.Write(x.bytes())
	}
	for _, k := range keys {
		writeEtree(&raw, k.data)
	}
	e.raw = raw.Bytes()
	return e, nil
}

// Reader is a recipient of an encrypted container: the addressee or a
// further reader, named in NonIntermediaryCertificates by Id.
type Reader struct {
	Cert *x509.Certificate
	ID   string // e.g. "reader0_cipher_<hex>" (see NewCertEntry)
}

// PackageBuilder assembles an osci:ContentPackage.
type PackageBuilder struct {
	Rand io.Reader
	// Signer, when set, signs each container (content signature of the
	// originator or an author) over its contents and referenced attachments.
	Signer *Signer
	// SignerID is the Id of the signer's certificate in NonIntermediaryCertificates.
	SignerID string
	// Attachments provides the octets a content signature's "cid:"
	// reference digests: an attachment's plaintext, also when it travels
	// encrypted under a key in the container. That is what the reference
	// library signs and verifies (ContentContainer.sign digests
	// Attachment.getDigestValue, the digest of the data before
	// encryption); the ciphertext is digested only by the transport
	// signature.
	Attachments xmlsec.AttachmentResolver

	encrypted [][]byte
	plain     [][]byte
	n         int
}

// AddPlain adds a container in clear.
func (b *PackageBuilder) AddPlain(c *Container) error {
	x, err := b.container(c, nil)
	if err != nil {
		return err
	}
	b.plain = append(b.plain, x)
	return nil
}

// AddEncrypted adds a container encrypted for readers (AES-256-GCM, one
// RSA-OAEP EncryptedKey per reader, named by RetrievalMethod), carrying the
// keys of its encrypted attachments.
func (b *PackageBuilder) AddEncrypted(c *Container, readers []Reader, keys ...AttachmentKey) error {
	x, err := b.container(c, keys)
	if err != nil {
		return err
	}
	// The plaintext is the container with the namespace declarations it needs.
	doc, err := xmlsec.ParseBytes(wrapNS5(x), xmlsec.Limits{})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrContent, err)
	}
	plain, err := xmlsec.Canonicalize(doc.Root().ChildElements()[0], xmlsec.C14N10)
	if err != nil {
		return err
	}
	enc := &xmlenc.Encrypter{Id: "encdata_" + strconv.Itoa(b.n), MimeType: "text/xml", Rand: b.Rand}
	b.n++
	for _, r := range readers {
		enc.Recipients = append(enc.Recipients, xmlenc.Recipient{Cert: r.Cert, RetrievalURI: "#" + r.ID})
	}
	ed, err := enc.EncryptBytes(plain)
	if err != nil {
		return fmt.Errorf("osci: content encryption: %w", err)
	}
	var out bytes.Buffer
	writeEtree(&out, ed)
	b.encrypted = append(b.encrypted, out.Bytes())
	return nil
}

// Bytes returns the canonical osci:ContentPackage for Message.Content.
func (b *PackageBuilder) Bytes() []byte {
	var out bytes.Buffer
	out.WriteString("<osci:ContentPackage>")
	for _, e := range b.encrypted {
		out.Write(e)
	}
	for _, p := range b.plain {
		out.Write(p)
	}
	out.WriteString("</osci:ContentPackage>")
	return out.Bytes()
}

// wrapNS5 places a fragment under an element declaring the five namespaces,
// as it sits in the message.
func wrapNS5(frag []byte) []byte {
	w := el("osci:ContentPackage").ns5()
	w.raw = frag
	return w.bytes()
}

func (b *PackageBuilder) container(c *Container, keys []AttachmentKey) ([]byte, error) {
	x, err := c.element(keys, nil)
	if err != nil {
		return nil, err
	}
	if b.Signer == nil {
		return x.bytes(), nil
	}
	doc, err := xmlsec.ParseBytes(wrapNS5(x.bytes()), xmlsec.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrContent, err)
	}
	ce := doc.Root().ChildElements()[0]
	var refs []string
	inline := map[string]bool{} // inline data is referenced with the base64 transform (OSCI 1.2)
	for _, ct := range c.Contents {
		refs = append(refs, "#"+ct.ID)
		if ct.Href != "" {
			refs = append(refs, "cid:"+ct.Href)
		}
		if ct.Href == "" && ct.Container == nil {
			inline[ct.ID] = true
		}
	}
	sig, err := xmlsec.Sign(doc, ce, refs, xmlsec.SignOptions{
		Key: b.Signer.Key, Certificate: b.Signer.Certificate, Algorithm: b.Signer.Algorithm,
		RetrievalURI: "#" + b.SignerID, Attachments: b.Attachments, Rand: b.Signer.Rand, Base64IDs: inline,
	})
	if err != nil {
		return nil, fmt.Errorf("osci: content signature: %w", err)
	}
	// The schema puts signatures first in the container.
	ce.RemoveChild(sig)
	var sb bytes.Buffer
	writeEtree(&sb, sig)
	x, err = c.element(keys, sb.Bytes())
	if err != nil {
		return nil, err
	}
	return x.bytes(), nil
}

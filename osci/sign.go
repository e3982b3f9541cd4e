package osci

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Signer makes the message signature: osci:ClientSignature on orders,
// osci:SupplierSignature on responses.
type Signer struct {
	Key crypto.Signer
	// Certificate is the signature certificate; the message must carry it
	// (SignatureCertificateOriginator or SignatureCertificateIntermediary),
	// since KeyInfo refers to it by RetrievalMethod.
	Certificate *x509.Certificate
	Algorithm   xmlsec.SignatureAlgorithm // zero: rsa-sha256
	Rand        io.Reader                 // for RSA-PSS salts; nil: crypto/rand
}

// SignedEnvelope returns m's envelope with a message signature over every
// header block, the body and the attachments named by cids, whose octets
// att provides (streamed). Attachments not listed are not signed.
func (m *Message) SignedEnvelope(s Signer, att xmlsec.AttachmentResolver, cids ...string) ([]byte, error) {
	hs, body, err := m.blocksFor()
	if err != nil {
		return nil, err
	}
	certID := ""
	for _, e := range append(append(Certificates(nil), m.NonIntermediary...), m.Intermediary...) {
		if (e.Element == SignatureOriginator || e.Element == SignatureIntermediary) && s.Certificate != nil && e.Cert.Equal(s.Certificate) {
			certID = e.ID
		}
	}
	if certID == "" {
		return nil, ErrSignerCertificate
	}
	doc, err := xmlsec.ParseBytes(assemble(m.Type, hs, nil, body), xmlsec.Limits{MaxBytes: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("osci: sign: own envelope does not parse: %w", err)
	}
	header := child(doc.Root(), NSSoap, "Header")
	name, id := "osci:ClientSignature", IDClientSignature
	if m.Type.IsResponse() {
		name, id = "osci:SupplierSignature", IDSupplierSignature
	}
	wrapper := etree.NewElement(name)
	wrapper.CreateAttr("Id", id)
	wrapper.CreateAttr("soap:actor", ActorNext)
	wrapper.CreateAttr("soap:mustUnderstand", "1")
	header.InsertChildAt(header.ChildElements()[0].Index()+1, wrapper)
	var refs []string
	for _, h := range hs {
		refs = append(refs, "#"+h.id)
	}
	refs = append(refs, "#"+IDBody)
	for _, c := range cids {
		refs = append(refs, "cid:"+c)
	}
	_, err = xmlsec.Sign(doc, wrapper, refs, xmlsec.SignOptions{
		Key: s.Key, Certificate: s.Certificate, Algorithm: s.Algorithm,
		RetrievalURI: "#" + certID, Attachments: att, Rand: s.Rand,
	})
	if err != nil {
		return nil, fmt.Errorf("osci: sign: %w", err)
	}
	var sig bytes.Buffer
	writeEtree(&sig, wrapper)
	return assemble(m.Type, hs, sig.Bytes(), body), nil
}

// VerifyOptions say what Verify accepts.
type VerifyOptions struct {
	// Keys decides which certificate may have signed (see xmlsec.ValidatorSelector).
	Keys xmlsec.KeySelector
	// Attachments opens attachment octets for cid: references.
	Attachments xmlsec.AttachmentResolver
	// AttachmentIDs are the Content-IDs of the entity's attachments; each
	// must be covered by the signature.
	AttachmentIDs []string
	// SignatureMethods and DigestMethods restrict algorithms (nil: xmlsec defaults).
	SignatureMethods, DigestMethods []string
}

// Verified is a message whose signature verified, rebuilt only from the
// signed octets, with the signer.
type Verified struct {
	*Message
	Signer    *x509.Certificate
	Signature *xmlsec.Verified
}

// Verify checks the message signature of a parsed message: Client signature
// on orders, Supplier signature on responses, covering every header block,
// the body and every attachment. It returns the message parsed again from
// the verified canonical octets only, so no unsigned byte reaches the caller.
func (m *Message) Verify(ctx context.Context, o VerifyOptions) (*Verified, error) {
	if m.doc == nil || !m.Type.Supported() || m.Type == TypeFault || m.Type == TypeMessageEncrypted {
		return nil, fmt.Errorf("%w: %s cannot be verified", ErrNotSigned, m.Type)
	}
	sigID := IDClientSignature
	if m.Type.IsResponse() {
		sigID = IDSupplierSignature
	}
	wrapper := m.blocks[sigID]
	if wrapper == nil {
		return nil, ErrNotSigned
	}
	sig := child(wrapper, NSDS, "Signature")
	if sig == nil || len(wrapper.ChildElements()) != 1 {
		return nil, fmt.Errorf("%w: %s must hold exactly one ds:Signature", ErrSignature, sigID)
	}
	header := child(m.doc.Root(), NSSoap, "Header")
	var order []string
	for _, h := range header.ChildElements() {
		if h == wrapper {
			continue
		}
		id, ok := attrPlain(h, "Id")
		if !ok {
			return nil, fmt.Errorf("%w: header %s has no Id and cannot be signed", ErrSignature, h.FullTag())
		}
		order = append(order, "#"+id)
	}
	required := append(append([]string(nil), order...), "#"+IDBody)
	for _, c := range o.AttachmentIDs {
		required = append(required, "cid:"+c)
	}
	v, err := xmlsec.Verify(ctx, m.doc, sig, xmlsec.VerifyPolicy{
		Required: required, Keys: o.Keys, Attachments: o.Attachments,
		SignatureMethods: o.SignatureMethods, DigestMethods: o.DigestMethods, MaxReferences: 64 + len(o.AttachmentIDs),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	// Rebuild from the signed octets: every block is self-contained in its
	// canonical form (it declares the namespaces it uses).
	var b bytes.Buffer
	env := el("soap:Envelope").ns5().attr("xsi:schemaLocation", m.Type.SchemaLocation()).bytes()
	b.Write(env[:len(env)-len("</soap:Envelope>")])
	b.WriteString("<soap:Header>")
	for _, uri := range order {
		r, _ := v.Reference(uri)
		b.Write(r.Canonical)
	}
	b.WriteString("</soap:Header>")
	r, _ := v.Reference("#" + IDBody)
	b.Write(r.Canonical)
	b.WriteString("</soap:Envelope>")
	vm, err := Parse(b.Bytes(), xmlsec.Limits{MaxBytes: int64(b.Len()) + 1})
	if err != nil {
		return nil, fmt.Errorf("%w: signed parts do not form the message: %w", ErrSignature, err)
	}
	vm.Signed = true
	return &Verified{Message: vm, Signer: v.Signer, Signature: v}, nil
}

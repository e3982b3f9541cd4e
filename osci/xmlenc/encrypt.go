package xmlenc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc/gcmstream"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Recipient is one reader of an EncryptedData.
type Recipient struct {
	Cert *x509.Certificate
	// RetrievalURI, when set (OSCI: "#reader0_cipher_<hex>"), names the
	// certificate by a ds:RetrievalMethod to an element elsewhere in the
	// message instead of embedding it as ds:X509Data.
	RetrievalURI string
}

// Encrypter writes EncryptedData the way the OSCI 1.2 library does:
// AES-256-GCM with a 12-byte IV announced by osci128:IvLength, one RSA-OAEP
// (SHA-256, MGF1-SHA256, empty label) EncryptedKey per recipient.
type Encrypter struct {
	Recipients []Recipient
	// MgmtData puts the raw data key into ds:MgmtData instead of
	// EncryptedKeys: OSCI's per-attachment keys, which are only safe inside
	// a container that is itself encrypted.
	MgmtData bool
	// Id, Type and MimeType become attributes of EncryptedData when set.
	Id, Type, MimeType string
	// DeclareNamespaces adds xmlns:xenc and xmlns:ds on EncryptedData. Off,
	// the caller places it where both prefixes are declared (OSCI declares
	// them on the soap:Envelope).
	DeclareNamespaces bool
	// MinRSABits refuses recipient keys below it (ErrRecipient); 0 means
	// 2048, the size of the postbox certificates in use.
	MinRSABits int
	// Rand supplies keys and IVs; default crypto/rand.
	Rand io.Reader
}

// EncryptBytes encrypts plaintext into an EncryptedData with an inline
// CipherValue.
func (e *Encrypter) EncryptBytes(plaintext []byte) (*etree.Element, error) {
	key, iv, err := e.keyAndIV()
	if err != nil {
		return nil, err
	}
	sealed, err := gcmstream.Seal(key, iv, plaintext)
	if err != nil {
		return nil, err
	}
	ed, err := e.skeleton(key)
	if err != nil {
		return nil, err
	}
	cd := ed.CreateElement("xenc:CipherData")
	cd.CreateElement("xenc:CipherValue").SetText(xmlsec.EncodeBase64(sealed))
	return ed, nil
}

// EncryptStream encrypts src into part (IV ‖ C ‖ tag, binary, as the MIME
// part with Content-ID contentID) and returns an EncryptedData whose
// CipherReference names cid:contentID with the base64 Transform OSCI
// writes. Memory use is constant. It returns the bytes written to part.
func (e *Encrypter) EncryptStream(part io.Writer, src io.Reader, contentID string) (*etree.Element, int64, error) {
	key, iv, err := e.keyAndIV()
	if err != nil {
		return nil, 0, err
	}
	ed, err := e.skeleton(key)
	if err != nil {
		return nil, 0, err
	}
	cw := &countWriter{w: part}
	w, err := gcmstream.NewWriter(cw, key, iv)
	if err != nil {
		return nil, 0, err
	}
	if _, err := io.Copy(w, src); err != nil {
		return nil, cw.n, fmt.Errorf("%w: %w", ErrPart, err)
	}
	if err := w.Close(); err != nil {
		return nil, cw.n, fmt.Errorf("%w: %w", ErrPart, err)
	}
	cr := ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherReference")
	cr.CreateAttr("URI", "cid:"+contentID)
	cr.CreateElement("xenc:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", AlgBase64)
	return ed, cw.n, nil
}

// EncryptElement replaces el in its parent by an EncryptedData of Type
// Element whose plaintext is the inclusive canonical form of el (which
// carries the namespace declarations el needs). e.Type is ignored.
func (e *Encrypter) EncryptElement(el *etree.Element) (*etree.Element, error) {
	parent := el.Parent()
	if parent == nil {
		return nil, fmt.Errorf("%w: element has no parent", ErrMalformed)
	}
	plain, err := xmlsec.Canonicalize(el, xmlsec.C14N10)
	if err != nil {
		return nil, fmt.Errorf("xmlenc: canonicalize: %w", err)
	}
	ee := *e
	ee.Type = TypeElement
	ed, err := ee.EncryptBytes(plain)
	if err != nil {
		return nil, err
	}
	at := el.Index()
	parent.RemoveChildAt(at)
	parent.InsertChildAt(at, ed)
	return ed, nil
}

func (e *Encrypter) rand() io.Reader {
	if e.Rand != nil {
		return e.Rand
	}
	return rand.Reader
}

func (e *Encrypter) keyAndIV() (key, iv []byte, err error) {
	if !e.MgmtData && len(e.Recipients) == 0 {
		return nil, nil, fmt.Errorf("%w: no recipients", ErrRecipient)
	}
	buf := make([]byte, 32+gcmstream.StandardIVSize)
	if _, err := io.ReadFull(e.rand(), buf); err != nil {
		return nil, nil, fmt.Errorf("xmlenc: random: %w", err)
	}
	return buf[:32], buf[32:], nil
}

// skeleton builds EncryptedData with EncryptionMethod and KeyInfo.
func (e *Encrypter) skeleton(key []byte) (*etree.Element, error) {
	ed := etree.NewElement("xenc:EncryptedData")
	if e.DeclareNamespaces {
		ed.CreateAttr("xmlns:ds", NSDsig)
		ed.CreateAttr("xmlns:xenc", NSXenc)
	}
	for _, a := range [][2]string{{"Id", e.Id}, {"MimeType", e.MimeType}, {"Type", e.Type}} {
		if a[1] != "" {
			ed.CreateAttr(a[0], a[1])
		}
	}
	em := ed.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", AlgAES256GCM)
	iv := em.CreateElement("osci128:IvLength")
	iv.CreateAttr("xmlns:osci128", NSOSCI128)
	iv.CreateAttr("Value", "12")
	ki := ed.CreateElement("ds:KeyInfo")
	if e.MgmtData {
		ki.CreateElement("ds:MgmtData").SetText(base64.StdEncoding.EncodeToString(key))
		return ed, nil
	}
	for _, r := range e.Recipients {
		ek, err := e.encryptedKey(r, key)
		if err != nil {
			return nil, err
		}
		ki.AddChild(ek)
	}
	return ed, nil
}

func (e *Encrypter) encryptedKey(r Recipient, key []byte) (*etree.Element, error) {
	if r.Cert == nil {
		return nil, fmt.Errorf("%w: no certificate", ErrRecipient)
	}
	pub, ok := r.Cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s key, need RSA", ErrRecipient, r.Cert.PublicKeyAlgorithm)
	}
	minBits := e.MinRSABits
	if minBits == 0 {
		minBits = 2048
	}
	if pub.N.BitLen() < minBits {
		return nil, fmt.Errorf("%w: RSA-%d below %d bits", ErrRecipient, pub.N.BitLen(), minBits)
	}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), e.rand(), pub, key, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecipient, err)
	}
	ek := etree.NewElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", AlgRSAOAEP)
	mgf := em.CreateElement("xenc11:MGF")
	mgf.CreateAttr("xmlns:xenc11", NSXenc11)
	mgf.CreateAttr("Algorithm", AlgMGF1SHA256)
	em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", AlgSHA256)
	ki := ek.CreateElement("ds:KeyInfo")
	if r.RetrievalURI != "" {
		rm := ki.CreateElement("ds:RetrievalMethod")
		rm.CreateAttr("Type", NSDsig+"X509Data")
		rm.CreateAttr("URI", r.RetrievalURI)
	} else {
		ki.CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").SetText(xmlsec.EncodeBase64(r.Cert.Raw))
	}
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(xmlsec.EncodeBase64(wrapped))
	return ek, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

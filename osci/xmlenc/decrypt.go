package xmlenc

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc/gcmstream"
)

// Limits bound what a Decrypter accepts. A zero field means its default.
type Limits struct {
	// MaxInlineBytes bounds the base64 text of one inline CipherValue and,
	// for DecryptElement and DecryptBytes, the plaintext held in memory.
	// Default 32 MiB (the XML parser's own input limit).
	MaxInlineBytes int64
	// MaxPartBytes bounds one ciphertext read from a cid: part. Default 1 GiB.
	MaxPartBytes int64
	// MaxEncryptedKeys bounds the EncryptedKeys (recipients) of one
	// EncryptedData. Default 64.
	MaxEncryptedKeys int
}

// DefaultLimits returns the limits used when a field is zero.
func DefaultLimits() Limits {
	return Limits{MaxInlineBytes: 32 << 20, MaxPartBytes: 1 << 30, MaxEncryptedKeys: 64}
}

func (l Limits) withDefaults() Limits { return limit.Fill(l, DefaultLimits()) }

// PartOpener gives access to the MIME parts a CipherReference names.
// OpenPart receives the text after "cid:" as written in the URI and returns
// the ciphertext octets, with any MIME transfer encoding (and OSCI's
// text/base64 part type) already undone. If the returned value also
// implements io.ReaderAt and Size() int64 (a *io.SectionReader over a
// file), it is read twice in place instead of being spooled.
type PartOpener interface {
	OpenPart(contentID string) (io.ReadCloser, error)
}

// Decrypter decrypts EncryptedData addressed to one cipher key.
type Decrypter struct {
	// Key is our RSA cipher key (an *rsa.PrivateKey or an HSM handle
	// supporting rsa.OAEPOptions). Only an EncryptedKey whose certificate
	// (X509Certificate or RetrievalMethod) carries its public key is ever
	// tried.
	Key crypto.Decrypter
	// Parts resolves cid: CipherReferences; nil refuses them (ErrPart).
	Parts PartOpener
	// AllowMgmtData admits a raw key in ds:MgmtData. OSCI uses it for
	// per-attachment keys inside a content container that was itself
	// decrypted and authenticated; never enable it for a message as
	// received from the wire.
	AllowMgmtData bool
	// ResolveURI resolves a RetrievalMethod URI to a certificate. Nil means:
	// look for the element with that Id in the EncryptedData's document and
	// take its ds:X509Data/ds:X509Certificate.
	ResolveURI func(uri string) (*x509.Certificate, error)
	// SpoolDir holds spool files for cid: parts read as streams ("" = system
	// temporary directory). Spools hold ciphertext only.
	SpoolDir string
	Limits   Limits
	// Rand supplies the substitute key used when unwrapping fails, so that
	// the failure surfaces at the tag check like any other. Default
	// crypto/rand.
	Rand io.Reader
}

// DecryptTo authenticates the EncryptedData ed and writes its plaintext to
// w. Nothing is written to w unless the whole ciphertext authenticated
// (see package gcmstream for the one exception with a mutable ReaderAt
// part). It returns the number of plaintext bytes written.
func (d *Decrypter) DecryptTo(w io.Writer, ed *etree.Element) (int64, error) {
	lim := d.Limits.withDefaults()
	data, err := parseEncryptedData(ed, lim)
	if err != nil {
		return 0, err
	}
	key, err := d.dataKey(data)
	if err != nil {
		return 0, err
	}
	if data.cipherRef != "" {
		return d.openPart(w, data, key, lim)
	}
	ct, err := decodeBase64(data.cipherB64)
	if err != nil {
		return 0, ErrDecrypt
	}
	n, err := gcmstream.Open(guardWriter{w}, bytes.NewReader(ct), int64(len(ct)), key, data.ivLen)
	return n, foldError(err)
}

// DecryptBytes decrypts ed into memory, at most Limits.MaxInlineBytes.
func (d *Decrypter) DecryptBytes(ed *etree.Element) ([]byte, error) {
	lim := d.Limits.withDefaults()
	var buf bytes.Buffer
	if _, err := d.DecryptTo(&limitedBuffer{b: &buf, max: lim.MaxInlineBytes}, ed); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// foldError maps every authentication failure to ErrDecrypt; failures of
// the caller's writer stay distinguishable because they say nothing about
// the ciphertext.
func foldError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errWriter), errors.Is(err, ErrLimit):
		return err
	case errors.Is(err, gcmstream.ErrTooLarge):
		return fmt.Errorf("%w: referenced part too large", ErrLimit)
	}
	return ErrDecrypt
}

var errWriter = errors.New("xmlenc: write plaintext")

// guardWriter marks errors of the caller's writer so foldError keeps them.
type guardWriter struct{ w io.Writer }

func (g guardWriter) Write(p []byte) (int, error) {
	n, err := g.w.Write(p)
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return n, err
		}
		return n, fmt.Errorf("%w: %w", errWriter, err)
	}
	return n, nil
}

type limitedBuffer struct {
	b   *bytes.Buffer
	max int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if int64(l.b.Len()+len(p)) > l.max {
		return 0, fmt.Errorf("%w: plaintext beyond %d bytes", ErrLimit, l.max)
	}
	return l.b.Write(p)
}

type sizedReaderAt interface {
	io.ReaderAt
	Size() int64
}

func (d *Decrypter) openPart(w io.Writer, data *encryptedData, key []byte, lim Limits) (int64, error) {
	if d.Parts == nil {
		return 0, fmt.Errorf("%w: no part resolver for cid:%s", ErrPart, data.cipherRef)
	}
	rc, err := d.Parts.OpenPart(data.cipherRef)
	if err != nil {
		return 0, fmt.Errorf("%w: cid:%s: %w", ErrPart, data.cipherRef, err)
	}
	defer rc.Close()
	if ra, ok := rc.(sizedReaderAt); ok {
		if ra.Size() > lim.MaxPartBytes {
			return 0, fmt.Errorf("%w: part of %d bytes, limit %d", ErrLimit, ra.Size(), lim.MaxPartBytes)
		}
		n, err := gcmstream.Open(guardWriter{w}, ra, ra.Size(), key, data.ivLen)
		return n, foldError(err)
	}
	sp := gcmstream.Spool{Dir: d.SpoolDir, MaxBytes: lim.MaxPartBytes}
	n, err := gcmstream.OpenStream(guardWriter{w}, rc, key, data.ivLen, sp)
	return n, foldError(err)
}

// dataKey returns the AES key: from MgmtData where allowed, else from the
// one EncryptedKey that names our certificate. A key that fails to unwrap
// is replaced by a random one, so the failure shows only at the tag check.
func (d *Decrypter) dataKey(data *encryptedData) ([]byte, error) {
	if data.hasMgmt {
		if !d.AllowMgmtData {
			return nil, ErrKeyNotAllowed
		}
		key, err := decodeBase64(data.mgmt)
		if err != nil || len(key) != data.keyLen {
			return d.substitute(data.keyLen), nil
		}
		return key, nil
	}
	if d.Key == nil {
		return nil, ErrDecrypt
	}
	ek, ok := d.ourKey(data)
	if !ok {
		return nil, ErrDecrypt
	}
	wrapped, err := decodeBase64(ek.cipherValue)
	if err != nil {
		return d.substitute(data.keyLen), nil
	}
	key, err := d.Key.Decrypt(d.rand(), wrapped, &rsa.OAEPOptions{Hash: ek.hash, MGFHash: ek.mgf})
	if err != nil || len(key) != data.keyLen {
		return d.substitute(data.keyLen), nil
	}
	return key, nil
}

func (d *Decrypter) rand() io.Reader {
	if d.Rand != nil {
		return d.Rand
	}
	return rand.Reader
}

func (d *Decrypter) substitute(n int) []byte {
	k := make([]byte, n)
	if _, err := io.ReadFull(d.rand(), k); err != nil {
		// A zero key still fails the tag check of any honest message.
		clear(k)
	}
	return k
}

// ourKey picks the first EncryptedKey whose certificate carries our
// public key.
func (d *Decrypter) ourKey(data *encryptedData) (encryptedKey, bool) {
	ours, ok := d.Key.Public().(*rsa.PublicKey)
	if !ok {
		return encryptedKey{}, false
	}
	isOurs := func(c *x509.Certificate) bool {
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		return ok && pub.Equal(ours)
	}
	for _, ek := range data.keys {
		for _, b64 := range ek.certB64 {
			if der, err := decodeBase64(b64); err == nil {
				if c, err := x509.ParseCertificate(der); err == nil && isOurs(c) {
					return ek, true
				}
			}
		}
		if ek.retrieval != "" {
			if c, err := d.resolve(data.el, ek.retrieval); err == nil && isOurs(c) {
				return ek, true
			}
		}
	}
	return encryptedKey{}, false
}

func (d *Decrypter) resolve(from *etree.Element, uri string) (*x509.Certificate, error) {
	if d.ResolveURI != nil {
		return d.ResolveURI(uri)
	}
	return CertificateByID(from, uri)
}

// CertificateByID finds the element whose Id attribute equals the fragment
// of uri ("#id") in the document of from, and parses the certificate in its
// ds:X509Data (the element may itself be ds:X509Data). Duplicate Ids are
// refused.
func CertificateByID(from *etree.Element, uri string) (*x509.Certificate, error) {
	id, ok := strings.CutPrefix(uri, "#")
	if !ok || id == "" {
		return nil, fmt.Errorf("%w: RetrievalMethod URI %q is not a same-document reference", ErrMalformed, uri)
	}
	root := from
	for root.Parent() != nil && root.Parent().Tag != "" {
		root = root.Parent()
	}
	var found []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		if v := e.SelectAttrValue("Id", ""); v == id {
			found = append(found, e)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	if len(found) != 1 {
		return nil, fmt.Errorf("%w: %d elements with Id %q", ErrMalformed, len(found), id)
	}
	xd := found[0]
	if !is(xd, NSDsig, "X509Data") {
		if xd, _ = only(found[0], NSDsig, "X509Data", true); xd == nil {
			return nil, fmt.Errorf("%w: no X509Data under Id %q", ErrMalformed, id)
		}
	}
	c, err := only(xd, NSDsig, "X509Certificate", true)
	if err != nil {
		return nil, err
	}
	der, err := decodeBase64(c.Text())
	if err != nil {
		return nil, fmt.Errorf("%w: certificate under Id %q: %v", ErrMalformed, id, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate under Id %q: %v", ErrMalformed, id, err)
	}
	return cert, nil
}

// decodeBase64 decodes base64 text with any XML whitespace in it.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

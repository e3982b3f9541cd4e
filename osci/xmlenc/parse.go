package xmlenc

import (
	"crypto"
	"fmt"
	"strings"

	"github.com/beevik/etree"
)

// dataAlgorithms is the allow-list for EncryptedData: AES-GCM only.
var dataAlgorithms = map[string]int{AlgAES128GCM: 16, AlgAES192GCM: 24, AlgAES256GCM: 32}

// digestAlgorithms and mgfAlgorithms are the allowed RSA-OAEP parameters.
var (
	digestAlgorithms = map[string]crypto.Hash{AlgSHA256: crypto.SHA256, AlgSHA512: crypto.SHA512}
	mgfAlgorithms    = map[string]crypto.Hash{AlgMGF1SHA256: crypto.SHA256, AlgMGF1SHA512: crypto.SHA512}
)

// encryptedData is an EncryptedData whose structure and algorithms have
// been checked; nothing in it has been decrypted yet.
type encryptedData struct {
	el        *etree.Element
	keyLen    int // AES key length in bytes
	ivLen     int
	typ       string
	keys      []encryptedKey
	mgmt      string // base64 raw key from ds:MgmtData, if present
	hasMgmt   bool
	cipherB64 string // inline CipherValue text
	cipherRef string // content ID after "cid:"
}

// encryptedKey is one RSA-OAEP EncryptedKey with its recipient identity.
type encryptedKey struct {
	hash, mgf   crypto.Hash
	certB64     []string // X509Certificate values from X509Data
	retrieval   string   // RetrievalMethod URI ("#id")
	cipherValue string
}

// is reports whether el is the element ns:local.
func is(el *etree.Element, ns, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == ns
}

// children returns the child elements of el named ns:local.
func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, local) {
			out = append(out, c)
		}
	}
	return out
}

// only returns the single child ns:local; required says whether absence is
// an error. Two of them are always an error: ambiguity is what wrapping
// attacks live on.
func only(el *etree.Element, ns, local string, required bool) (*etree.Element, error) {
	cs := children(el, ns, local)
	switch {
	case len(cs) > 1:
		return nil, fmt.Errorf("%w: %d %s elements in %s", ErrMalformed, len(cs), local, el.Tag)
	case len(cs) == 0 && required:
		return nil, fmt.Errorf("%w: no %s in %s", ErrMalformed, local, el.Tag)
	case len(cs) == 0:
		return nil, nil
	}
	return cs[0], nil
}

// unexpected rejects child elements other than the allowed ones.
func unexpected(el *etree.Element, allowed ...string) error {
	for _, c := range el.ChildElements() {
		name := c.NamespaceURI() + " " + c.Tag
		ok := false
		for _, a := range allowed {
			if a == name {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%w: unexpected %s in %s", ErrMalformed, c.Tag, el.Tag)
		}
	}
	return nil
}

func algorithmOf(method *etree.Element) string {
	return method.SelectAttrValue("Algorithm", "")
}

func notAllowed(alg, where string) error {
	if why, ok := refused[alg]; ok {
		return fmt.Errorf("%w: %s (%s) in %s", ErrAlgorithmNotAllowed, alg, why, where)
	}
	return fmt.Errorf("%w: %q in %s", ErrAlgorithmNotAllowed, alg, where)
}

// parseEncryptedData checks structure, algorithms and limits of ed. It
// decrypts nothing, so every refusal happens before any decryption.
func parseEncryptedData(ed *etree.Element, lim Limits) (*encryptedData, error) {
	if !is(ed, NSXenc, "EncryptedData") {
		return nil, fmt.Errorf("%w: element is not xenc:EncryptedData", ErrMalformed)
	}
	d := &encryptedData{el: ed, typ: ed.SelectAttrValue("Type", "")}
	if err := unexpected(ed, NSXenc+" EncryptionMethod", NSDsig+" KeyInfo", NSXenc+" CipherData", NSXenc+" EncryptionProperties"); err != nil {
		return nil, err
	}
	method, err := only(ed, NSXenc, "EncryptionMethod", true)
	if err != nil {
		return nil, err
	}
	alg := algorithmOf(method)
	keyLen, ok := dataAlgorithms[alg]
	if !ok {
		return nil, notAllowed(alg, "EncryptedData")
	}
	d.keyLen = keyLen
	if d.ivLen, err = ivLength(method); err != nil {
		return nil, err
	}
	keyInfo, err := only(ed, NSDsig, "KeyInfo", true)
	if err != nil {
		return nil, err
	}
	if err := d.parseKeyInfo(keyInfo, lim); err != nil {
		return nil, err
	}
	return d, d.parseCipherData(ed, lim)
}

// ivLength reads osci128:IvLength: absent means 16 bytes (OSCI libraries
// before 2.0), present it must say 12 or 16.
func ivLength(method *etree.Element) (int, error) {
	if err := unexpected(method, NSOSCI128+" IvLength"); err != nil {
		return 0, err
	}
	el, err := only(method, NSOSCI128, "IvLength", false)
	if err != nil || el == nil {
		return 16, err
	}
	switch v := el.SelectAttrValue("Value", ""); v {
	case "12":
		return 12, nil
	case "16":
		return 16, nil
	default:
		return 0, fmt.Errorf("%w: IvLength %q", ErrMalformed, v)
	}
}

func (d *encryptedData) parseKeyInfo(ki *etree.Element, lim Limits) error {
	if err := unexpected(ki, NSXenc+" EncryptedKey", NSDsig+" MgmtData"); err != nil {
		return err
	}
	mgmt, err := only(ki, NSDsig, "MgmtData", false)
	if err != nil {
		return err
	}
	eks := children(ki, NSXenc, "EncryptedKey")
	switch {
	case mgmt != nil && len(eks) > 0:
		return fmt.Errorf("%w: both MgmtData and EncryptedKey", ErrMalformed)
	case mgmt != nil:
		d.hasMgmt, d.mgmt = true, mgmt.Text()
		return nil
	case len(eks) == 0:
		return fmt.Errorf("%w: KeyInfo names no key", ErrMalformed)
	case len(eks) > lim.MaxEncryptedKeys:
		return fmt.Errorf("%w: %d EncryptedKeys, limit %d", ErrLimit, len(eks), lim.MaxEncryptedKeys)
	}
	// Every EncryptedKey is checked, not only ours: one message, one policy.
	for _, ek := range eks {
		k, err := parseEncryptedKey(ek)
		if err != nil {
			return err
		}
		d.keys = append(d.keys, k)
	}
	return nil
}

func parseEncryptedKey(ek *etree.Element) (encryptedKey, error) {
	var k encryptedKey
	if err := unexpected(ek, NSXenc+" EncryptionMethod", NSDsig+" KeyInfo", NSXenc+" CipherData", NSXenc+" ReferenceList", NSXenc+" CarriedKeyName"); err != nil {
		return k, err
	}
	method, err := only(ek, NSXenc, "EncryptionMethod", true)
	if err != nil {
		return k, err
	}
	if alg := algorithmOf(method); alg != AlgRSAOAEP {
		return k, notAllowed(alg, "EncryptedKey")
	}
	if err := unexpected(method, NSXenc11+" MGF", NSDsig+" DigestMethod"); err != nil {
		// OAEPparams (a label) is not used by OSCI and is refused with the rest.
		return k, fmt.Errorf("%w: %w", ErrAlgorithmNotAllowed, err)
	}
	// XML-Enc 1.1 defaults to SHA-1 for both when absent; we refuse SHA-1.
	dm, err := only(method, NSDsig, "DigestMethod", false)
	if err != nil {
		return k, err
	}
	mgf, err := only(method, NSXenc11, "MGF", false)
	if err != nil {
		return k, err
	}
	if dm == nil || mgf == nil {
		return k, fmt.Errorf("%w: RSA-OAEP with the SHA-1 defaults", ErrAlgorithmNotAllowed)
	}
	var ok bool
	if k.hash, ok = digestAlgorithms[algorithmOf(dm)]; !ok {
		return k, notAllowed(algorithmOf(dm), "RSA-OAEP DigestMethod")
	}
	if k.mgf, ok = mgfAlgorithms[algorithmOf(mgf)]; !ok {
		return k, notAllowed(algorithmOf(mgf), "RSA-OAEP MGF")
	}
	if ki, err := only(ek, NSDsig, "KeyInfo", false); err != nil {
		return k, err
	} else if ki != nil {
		for _, xd := range children(ki, NSDsig, "X509Data") {
			for _, c := range children(xd, NSDsig, "X509Certificate") {
				k.certB64 = append(k.certB64, c.Text())
			}
		}
		if rm, err := only(ki, NSDsig, "RetrievalMethod", false); err != nil {
			return k, err
		} else if rm != nil {
			k.retrieval = rm.SelectAttrValue("URI", "")
		}
	}
	cd, err := only(ek, NSXenc, "CipherData", true)
	if err != nil {
		return k, err
	}
	cv, err := only(cd, NSXenc, "CipherValue", true)
	if err != nil {
		return k, err
	}
	k.cipherValue = cv.Text()
	return k, nil
}

func (d *encryptedData) parseCipherData(ed *etree.Element, lim Limits) error {
	cd, err := only(ed, NSXenc, "CipherData", true)
	if err != nil {
		return err
	}
	if err := unexpected(cd, NSXenc+" CipherValue", NSXenc+" CipherReference"); err != nil {
		return err
	}
	if len(cd.ChildElements()) != 1 {
		return fmt.Errorf("%w: CipherData needs exactly one CipherValue or CipherReference", ErrMalformed)
	}
	c := cd.ChildElements()[0]
	if c.Tag == "CipherValue" {
		d.cipherB64 = c.Text()
		if int64(len(d.cipherB64)) > lim.MaxInlineBytes {
			return fmt.Errorf("%w: inline CipherValue of %d bytes, limit %d", ErrLimit, len(d.cipherB64), lim.MaxInlineBytes)
		}
		return nil
	}
	uri := c.SelectAttrValue("URI", "")
	id, ok := strings.CutPrefix(uri, "cid:")
	if !ok || id == "" {
		return fmt.Errorf("%w: CipherReference URI %q is not a cid: part", ErrMalformed, uri)
	}
	d.cipherRef = id
	if err := unexpected(c, NSXenc+" Transforms"); err != nil {
		return err
	}
	if tr, err := only(c, NSXenc, "Transforms", false); err != nil {
		return err
	} else if tr != nil {
		for _, t := range tr.ChildElements() {
			if !is(t, NSDsig, "Transform") || algorithmOf(t) != AlgBase64 {
				return notAllowed(algorithmOf(t), "CipherReference Transforms")
			}
		}
	}
	return nil
}

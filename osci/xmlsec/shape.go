package xmlsec

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/beevik/etree"
)

const maxOfferedCertificates = 16

func isDSig(el *etree.Element, local string) bool {
	return el != nil && el.Tag == local && el.NamespaceURI() == NamespaceDSig
}

// elementChildren returns the element children of el and refuses any
// non-whitespace text among them (signature structures have none).
func elementChildren(el *etree.Element) ([]*etree.Element, error) {
	var out []*etree.Element
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.Element:
			out = append(out, t)
		case *etree.CharData:
			if strings.Trim(t.Data, " \t\r\n") != "" {
				return nil, fmt.Errorf("%w: text inside <%s>", ErrMalformedSignature, el.FullTag())
			}
		}
	}
	return out, nil
}

// expectChildren checks that el's children are the dsig elements named in
// order; a name ending in "?" is optional, in "+" one or more.
func expectChildren(el *etree.Element, names ...string) (map[string][]*etree.Element, error) {
	kids, err := elementChildren(el)
	if err != nil {
		return nil, err
	}
	got := map[string][]*etree.Element{}
	i := 0
	for _, n := range names {
		local := strings.TrimRight(n, "?+")
		optional, many := strings.HasSuffix(n, "?"), strings.HasSuffix(n, "+")
		for i < len(kids) && isDSig(kids[i], local) {
			got[local] = append(got[local], kids[i])
			i++
			if !many {
				break
			}
		}
		if len(got[local]) == 0 && !optional {
			return nil, fmt.Errorf("%w: <%s> lacks ds:%s", ErrMalformedSignature, el.FullTag(), local)
		}
	}
	if i < len(kids) {
		return nil, fmt.Errorf("%w: unexpected <%s> in <%s>", ErrMalformedSignature, kids[i].FullTag(), el.FullTag())
	}
	return got, nil
}

func algorithmOf(el *etree.Element) (string, error) {
	a := el.SelectAttr("Algorithm")
	if a == nil || a.Space != "" {
		return "", fmt.Errorf("%w: <%s> without Algorithm", ErrMalformedSignature, el.FullTag())
	}
	return a.Value, nil
}

// c14nMethod reads a CanonicalizationMethod or Transform naming a C14N
// algorithm, with the exclusive InclusiveNamespaces PrefixList.
func c14nMethod(el *etree.Element) (C14NOptions, error) {
	alg, err := algorithmOf(el)
	if err != nil {
		return C14NOptions{}, err
	}
	o := C14NOptions{Method: alg}
	kids, err := elementChildren(el)
	if err != nil {
		return o, err
	}
	switch alg {
	case C14N10:
		if len(kids) > 0 {
			return o, fmt.Errorf("%w: parameters for inclusive c14n", ErrMalformedSignature)
		}
	case ExcC14N10:
		for _, k := range kids {
			if k.Tag != "InclusiveNamespaces" || k.NamespaceURI() != ExcC14N10 || len(kids) > 1 {
				return o, fmt.Errorf("%w: <%s> in exclusive c14n", ErrMalformedSignature, k.FullTag())
			}
			o.InclusivePrefixes = strings.Fields(k.SelectAttrValue("PrefixList", ""))
			if len(o.InclusivePrefixes) > 64 {
				return o, fmt.Errorf("%w: PrefixList too long", ErrCanonicalizationLimit)
			}
		}
	default:
		return o, fmt.Errorf("%w: canonicalization %q", ErrAlgorithmNotAllowed, alg)
	}
	return o, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}

// idURI admits a same-document reference "#" + an Id made of letters
// (any script), digits, marks, '_', '.' and '-', at most 255 characters.
// OSCI content Ids are EGVP file names ("001_Ermittlungsübersicht.pdf"),
// which may start with a digit and carry umlauts, so XML's NCName rule is
// not applied; what stays excluded is everything that would make the URI
// more than a name: XPointer parentheses, whitespace, quotes, '/', ':',
// '#' and control characters.
var idURI = regexp.MustCompile(`^#[\p{L}\p{N}_][\p{L}\p{N}\p{M}_.\-]{0,254}$`)

// ReferenceableID reports whether "#"+id is a same-document reference
// that Sign and Verify admit.
func ReferenceableID(id string) bool { return idURI.MatchString("#" + id) }

// offeredCertificates reads the certificates a KeyInfo points at:
// X509Data/X509Certificate, and RetrievalMethod to a local #Id whose element
// is or contains ds:X509Data (OSCI's certificate headers). Other KeyInfo
// content (KeyValue, KeyName, ...) is never used as a key.
func offeredCertificates(keyInfo *etree.Element, ids map[string]*etree.Element) ([]*x509.Certificate, error) {
	if keyInfo == nil {
		return nil, nil
	}
	var out []*x509.Certificate
	kids, err := elementChildren(keyInfo)
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		var data []*etree.Element
		switch {
		case isDSig(k, "X509Data"):
			data = append(data, k)
		case isDSig(k, "RetrievalMethod"):
			uri := k.SelectAttrValue("URI", "")
			if !idURI.MatchString(uri) {
				return nil, fmt.Errorf("%w: RetrievalMethod URI %q", ErrURINotAllowed, uri)
			}
			if typ := k.SelectAttr("Type"); typ != nil && typ.Value != X509DataType {
				return nil, fmt.Errorf("%w: RetrievalMethod Type %q", ErrAlgorithmNotAllowed, typ.Value)
			}
			if tk, _ := elementChildren(k); len(tk) > 0 {
				return nil, fmt.Errorf("%w: RetrievalMethod transforms", ErrAlgorithmNotAllowed)
			}
			target := ids[uri[1:]]
			if target == nil {
				return nil, fmt.Errorf("%w: RetrievalMethod %s", ErrUnresolvedReference, uri)
			}
			if isDSig(target, "X509Data") {
				data = append(data, target)
			}
			for _, c := range target.ChildElements() {
				if isDSig(c, "X509Data") {
					data = append(data, c)
				}
			}
		}
		for _, d := range data {
			for _, c := range d.ChildElements() {
				if !isDSig(c, "X509Certificate") {
					continue
				}
				der, err := decodeBase64(c.Text())
				if err != nil {
					return nil, fmt.Errorf("%w: X509Certificate: %v", ErrMalformedSignature, err)
				}
				cert, err := x509.ParseCertificate(der)
				if err != nil {
					return nil, fmt.Errorf("%w: X509Certificate: %v", ErrMalformedSignature, err)
				}
				out = append(out, cert)
				if len(out) > maxOfferedCertificates {
					return nil, fmt.Errorf("%w: more than %d certificates in KeyInfo", ErrMalformedSignature, maxOfferedCertificates)
				}
			}
		}
	}
	return out, nil
}

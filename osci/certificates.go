package osci

import (
	"crypto/x509"
	"fmt"
	"sort"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Certificate element names in NonIntermediaryCertificates and
// IntermediaryCertificates.
const (
	CipherOriginator       = "CipherCertificateOriginator"
	CipherOtherAuthor      = "CipherCertificateOtherAuthor"
	CipherAddressee        = "CipherCertificateAddressee"
	CipherOtherReader      = "CipherCertificateOtherReader"
	SignatureOriginator    = "SignatureCertificateOriginator"
	SignatureOtherAuthor   = "SignatureCertificateOtherAuthor"
	SignatureAddressee     = "SignatureCertificateAddressee"
	CipherIntermediary     = "CipherCertificateIntermediary"
	SignatureIntermediary  = "SignatureCertificateIntermediary"
	headerNonIntermediary  = "NonIntermediaryCertificates"
	headerIntermediary     = "IntermediaryCertificates"
	idNonIntermediaryCerts = "nonintermediarycertificates"
	idIntermediaryCerts    = "intermediarycertificates"
)

// elementRank is the order the reference library writes certificate elements
// in (SignatureCertificateAddressee before the other authors).
var elementRank = map[string]int{
	CipherOriginator: 0, CipherOtherAuthor: 1, CipherAddressee: 2, CipherOtherReader: 3,
	SignatureOriginator: 4, SignatureAddressee: 5, SignatureOtherAuthor: 6,
	CipherIntermediary: 7, SignatureIntermediary: 8,
}

// CertEntry is one certificate element of a certificates header.
type CertEntry struct {
	Element string // e.g. CipherCertificateOriginator
	ID      string // e.g. originator_cipher_<hex sha256(DER)>
	Cert    *x509.Certificate
}

// NewCertEntry builds an entry with the library's Id ("<role>_<cipher|signature>_"
// and the hex SHA-256 of the DER, see certs.CertificateID). index numbers
// readers and authors (reader0, reader1, ...) and is ignored for other roles.
func NewCertEntry(element string, index int, c *x509.Certificate) CertEntry {
	usage := certs.PurposeSignature
	if strings.HasPrefix(element, "Cipher") {
		usage = certs.PurposeCipher
	}
	var role string
	switch element {
	case CipherOriginator, SignatureOriginator:
		role = "originator"
	case CipherAddressee, SignatureAddressee:
		role = "addressee"
	case CipherIntermediary, SignatureIntermediary:
		role = "intermed"
	case CipherOtherReader:
		role = fmt.Sprintf("reader%d", index)
	default:
		role = fmt.Sprintf("author%d", index)
	}
	return CertEntry{Element: element, ID: certs.CertificateID(role, usage, c), Cert: c}
}

// Certificates is the content of a certificates header, in wire order.
type Certificates []CertEntry

// Get returns the first certificate of the given element, or nil.
func (cs Certificates) Get(element string) *x509.Certificate {
	for _, e := range cs {
		if e.Element == element {
			return e.Cert
		}
	}
	return nil
}

// All returns every certificate of the given element.
func (cs Certificates) All(element string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, e := range cs {
		if e.Element == element {
			out = append(out, e.Cert)
		}
	}
	return out
}

// ByID returns the entry with the given Id (the target of a RetrievalMethod).
func (cs Certificates) ByID(id string) (CertEntry, bool) {
	for _, e := range cs {
		if e.ID == id {
			return e, true
		}
	}
	return CertEntry{}, false
}

func certificatesBlock(header, id string, cs Certificates) *xel {
	sorted := append(Certificates(nil), cs...)
	sort.SliceStable(sorted, func(i, j int) bool { return elementRank[sorted[i].Element] < elementRank[sorted[j].Element] })
	e := headerBlock("osci:"+header, id, ActorNone)
	for _, c := range sorted {
		e.add(el("osci:"+c.Element, el("ds:X509Data", el("ds:X509Certificate").txt(xmlsec.EncodeBase64(c.Cert.Raw)))).attr("Id", c.ID))
	}
	return e
}

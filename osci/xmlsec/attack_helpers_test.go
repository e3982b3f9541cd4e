package xmlsec

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

const clientSignatureEmpty = `<osci:ClientSignature Id="clientsignature" soap:actor="http://schemas.xmlsoap.org/soap/actor/next" soap:mustUnderstand="1"></osci:ClientSignature>`

// x509KeyInfo is a KeyInfo carrying kp's certificate.
func x509KeyInfo(kp *certs.KeyPair) string {
	return `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(kp.Cert.Raw) +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`
}

// bodyReference is a well-formed Reference to #body with a correct digest.
func bodyReference(t testing.TB) string {
	doc := mustParse(t, osciMessage(nil))
	c, err := Canonicalize(doc.Root().FindElement("./soap:Body"), C14N10)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(c)
	return `<ds:Reference URI="#body"><ds:Transforms><ds:Transform Algorithm="` + C14N10 + `"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="` + SHA256 + `"/><ds:DigestValue>` + base64.StdEncoding.EncodeToString(d[:]) + `</ds:DigestValue></ds:Reference>`
}

// craftSigned builds the OSCI test message with a hand-written Signature
// whose SignedInfo holds siInner, validly signed (RSA PKCS#1 v1.5 SHA-256
// over its inclusive canonical form) by kp. Attack tests use it to show
// that a policy check, not the signature, stops them.
func craftSigned(t testing.TB, kp *certs.KeyPair, siInner, keyInfo string) []byte {
	t.Helper()
	sig := `<ds:Signature><ds:SignedInfo>` + siInner + `</ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue>` + keyInfo + `</ds:Signature>`
	msg := strings.Replace(osciMessage(kp.Cert), clientSignatureEmpty,
		strings.Replace(clientSignatureEmpty, "></osci:ClientSignature>", ">"+sig+"</osci:ClientSignature>", 1), 1)
	doc := mustParse(t, msg)
	si := doc.Root().FindElement(".//ds:SignedInfo")
	c, err := Canonicalize(si, C14N10)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(c)
	value, err := kp.Key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	doc.Root().FindElement(".//ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(value))
	return serialize(t, doc)
}

func methods(c14n, sig string) string {
	return `<ds:CanonicalizationMethod Algorithm="` + c14n + `"/><ds:SignatureMethod Algorithm="` + sig + `"/>`
}

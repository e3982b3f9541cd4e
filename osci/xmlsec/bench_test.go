package xmlsec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

var benchSizes = []struct {
	name  string
	bytes int
}{{"4KB", 4 << 10}, {"1MB", 1 << 20}}

// benchMessage is the OSCI test message with a Body of about size bytes
// of small elements (a realistic canonicalization load).
func benchMessage(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size-1200; i++ {
		fmt.Fprintf(&b, `<osci:Item n="%d" xml:lang="de">Zeile %d: Grüße &amp; mehr</osci:Item>`, i, i)
	}
	return strings.Replace(osciMessage(nil), "Hallo Welt &amp; Co. äöü", b.String(), 1)
}

var benchRefs = []string{"#controlblock", "#body"}

// benchSigParent is where the benchmarks find the signature's parent: by
// its place in the header, as the osci package does, not by a search
// through the whole document.
const benchSigParent = "soap:Header/osci:ClientSignature"

func benchSignature(b *testing.B, doc *etree.Document) *etree.Element {
	sig := doc.Root().FindElement(benchSigParent + "/ds:Signature")
	if sig == nil {
		b.Fatal("no signature")
	}
	return sig
}

func benchSign(b *testing.B, msg string) []byte {
	kp := loadKeyPair(b, "signer")
	doc := mustParse(b, msg)
	if _, err := Sign(doc, doc.Root().FindElement(benchSigParent), benchRefs, SignOptions{Key: kp.Key, Certificate: kp.Cert}); err != nil {
		b.Fatal(err)
	}
	return serialize(b, doc)
}

// BenchmarkSign parses the message, signs two references and serializes
// into a buffer the caller reuses (as a file written to would be: the
// growth of the caller's sink is not the serializer's cost).
func BenchmarkSign(b *testing.B) {
	kp := loadKeyPair(b, "signer")
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			msg := []byte(benchMessage(size.bytes))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			var out bytes.Buffer
			for b.Loop() {
				doc, err := ParseBytes(msg, DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Sign(doc, doc.Root().FindElement(benchSigParent), benchRefs, SignOptions{Key: kp.Key, Certificate: kp.Cert}); err != nil {
					b.Fatal(err)
				}
				out.Reset()
				if err := Serialize(&out, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify parses a signed message and verifies it completely.
func BenchmarkVerify(b *testing.B) {
	p := signerPolicy(b)
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			msg := benchSign(b, benchMessage(size.bytes))
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				doc, err := ParseBytes(msg, DefaultLimits())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Verify(context.Background(), doc, benchSignature(b, doc), p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParts times the parts of Sign and Verify on the 1 MB message
// one by one: parsing, the digest over the canonical Body, serializing.
func BenchmarkParts(b *testing.B) {
	msg := benchSign(b, benchMessage(1<<20))
	doc, err := ParseBytes(msg, DefaultLimits())
	if err != nil {
		b.Fatal(err)
	}
	body := doc.Root().FindElement("soap:Body")
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseBytes(msg, DefaultLimits()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DigestBody", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := canonicalizeElement(body, C14NOptions{Method: C14N10}, sha256.New(), false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Serialize", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := Serialize(&out, doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkXmlsec1Ratio runs the same sign and verify with this package and
// with the xmlsec1 binary in one loop and reports both times and their
// ratio (xmlsec1 time / ours). xmlsec1's figure includes starting the
// process and reading the key files, as any caller of the tool pays.
func BenchmarkXmlsec1Ratio(b *testing.B) {
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		b.Skip("xmlsec1 not installed")
	}
	kp := loadKeyPair(b, "signer")
	keys := filepath.Join("testdata", "keys")
	p := signerPolicy(b)
	for _, size := range benchSizes {
		dir := b.TempDir()
		plain := benchMessage(size.bytes)
		tmpl := filepath.Join(dir, "tmpl.xml")
		write(b, tmpl, strings.Replace(plain, clientSignatureEmpty, strings.Replace(clientSignatureEmpty, "></", ">"+xmlsec1Template+"</", 1), 1))
		signed := benchSign(b, plain)
		signedFile := filepath.Join(dir, "signed.xml")
		write(b, signedFile, string(signed))
		idArgs := xmlsec1IDArgs
		for _, op := range []string{"sign", "verify"} {
			b.Run(op+"/"+size.name, func(b *testing.B) {
				var ours, theirs time.Duration
				for b.Loop() {
					start := time.Now()
					if op == "sign" {
						doc := mustParse(b, plain)
						if _, err := Sign(doc, doc.Root().FindElement(benchSigParent), benchRefs, SignOptions{Key: kp.Key, Certificate: kp.Cert}); err != nil {
							b.Fatal(err)
						}
						serialize(b, doc)
					} else if _, err := verifyBytes(b, signed, p); err != nil {
						b.Fatal(err)
					}
					ours += time.Since(start)
					var args []string
					if op == "sign" {
						args = append([]string{"--sign", "--privkey-pem", filepath.Join(keys, "signer.key") + "," + filepath.Join(keys, "signer.crt")}, idArgs...)
						args = append(args, "--output", filepath.Join(dir, "out.xml"), tmpl)
					} else {
						args = append([]string{"--verify", "--trusted-pem", filepath.Join(keys, "signer.crt")}, idArgs...)
						args = append(args, signedFile)
					}
					start = time.Now()
					if out, err := exec.CommandContext(context.Background(), bin, args...).CombinedOutput(); err != nil {
						b.Fatalf("xmlsec1 %s: %v\n%s", op, err, out)
					}
					theirs += time.Since(start)
				}
				n := float64(b.N)
				b.ReportMetric(float64(ours.Nanoseconds())/n, "ours-ns/op")
				b.ReportMetric(float64(theirs.Nanoseconds())/n, "xmlsec1-ns/op")
				b.ReportMetric(float64(theirs)/float64(ours), "xmlsec1/ours")
			})
		}
	}
}

const xmlsec1Template = `<ds:Signature><ds:SignedInfo>` +
	`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
	`<ds:Reference URI="#controlblock"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></ds:Transforms>` +
	`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
	`<ds:Reference URI="#body"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></ds:Transforms>` +
	`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
	`</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>`

func write(b *testing.B, path, s string) {
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		b.Fatal(err)
	}
}

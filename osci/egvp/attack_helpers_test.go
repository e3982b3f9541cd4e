package egvp

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// victimID is a mailbox an attacker impersonates.
const victimID = "DE.Justiz.00000000-0000-4000-8000-0000000000ff.00ff"

// sendAs builds o with the content signed by sig, sends it through a
// simulator with sig as the transport signature, and reads it with r.
func sendAs(t *testing.T, sig *certs.KeyPair, o Outgoing, r *Reader) *Received {
	t.Helper()
	b := builder(t)
	b.Signature = sig
	pkg := build(t, b, o)
	return readBack(t, newWorldAs(t, sig), pkg, r)
}

func readBack(t *testing.T, w *world, pkg *Package, r *Reader) *Received {
	t.Helper()
	d, parts := w.roundTrip(t, pkg)
	got, err := r.Read(context.Background(), d, parts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// injectInline builds o (without documents) as the test mailbox would,
// then adds to the signed project_coco an inline Content without an Id,
// which no signature reference can cover, and encrypts the container
// again. The signature still verifies: it covers what it names.
func injectInline(t *testing.T, o Outgoing, data []byte) *Package {
	t.Helper()
	b := builder(t)
	pkg := build(t, b, o)
	card := o.Card
	card.UserID, card.RoleID = o.SenderID, RoleBeBPo
	fs, err := forms(o, card, DefaultManufacturer())
	if err != nil {
		t.Fatal(err)
	}
	project := &osci.Container{ID: ContainerProject}
	for _, f := range fs {
		project.Contents = append(project.Contents, osci.Content{ID: f.id, Data: f.data})
	}
	pb := &osci.PackageBuilder{Rand: b.Rand, Signer: &osci.Signer{Key: b.Signature.Key, Certificate: b.Signature.Cert, Rand: b.Rand},
		SignerID: osci.NewCertEntry(osci.SignatureOriginator, 0, b.Signature.Cert).ID}
	if err := pb.AddPlain(project); err != nil {
		t.Fatal(err)
	}
	plain := strings.TrimSuffix(strings.TrimPrefix(string(pb.Bytes()), "<osci:ContentPackage>"), "</osci:ContentPackage>")
	plain = strings.Replace(plain, "</osci:ContentContainer>",
		"<osci:Content><osci:Base64Content>"+base64.StdEncoding.EncodeToString(data)+"</osci:Base64Content></osci:Content></osci:ContentContainer>", 1)
	wrapped := `<osci:ContentPackage xmlns:ds="` + osci.NSDS + `" xmlns:osci="` + osci.NSOSCI + `" xmlns:soap="` + osci.NSSoap +
		`" xmlns:xenc="` + osci.NSXenc + `" xmlns:xsi="` + osci.NSXSI + `">` + plain + `</osci:ContentPackage>`
	doc, err := xmlsec.ParseBytes([]byte(wrapped), xmlsec.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c14n, err := xmlsec.Canonicalize(doc.Root().ChildElements()[0], xmlsec.C14N10)
	if err != nil {
		t.Fatal(err)
	}
	addressee := certstest.PKICert(t, "mailbox-cipher")
	enc := &xmlenc.Encrypter{Id: "encdata_0", MimeType: "text/xml", Rand: b.Rand,
		Recipients: []xmlenc.Recipient{{Cert: addressee, RetrievalURI: "#" + osci.ReaderIDs([]*x509.Certificate{addressee})[0].ID}}}
	ed, err := enc.EncryptBytes(c14n)
	if err != nil {
		t.Fatal(err)
	}
	out := etree.NewDocument()
	out.SetRoot(ed)
	s, err := out.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	content := string(pkg.Delivery.Content)
	i := strings.Index(content, "<xenc:EncryptedData")
	j := strings.Index(content, "</xenc:EncryptedData>") + len("</xenc:EncryptedData>")
	pkg.Delivery.Content = []byte(content[:i] + s + content[j:])
	return pkg
}

// impostorSimulator is a simulator that signs its responses with sig
// instead of the intermediary's pinned signature certificate.
func impostorSimulator(t *testing.T, sig *certs.KeyPair) *osci.Client {
	t.Helper()
	sim, err := intermediary.New(intermediary.Config{Cipher: pki(t, "intermediary-cipher"), Signature: sig,
		DataDir: t.TempDir(), Now: newClock().Now, Rand: certstest.DetRand("sim")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := osci.NewClient(osci.ClientConfig{URL: srv.URL, Signature: pki(t, "mailbox-signature"), Cipher: pki(t, "mailbox-cipher"),
		IntermediaryCipher: certstest.PKICert(t, "intermediary-cipher"), IntermediaryKeys: xmlsec.ValidatorSelector{V: validators(t, generalCAs...).Intermediary},
		Rand: certstest.DetRand("client"), SpoolDir: t.TempDir(), RetryWaitMax: 10 * time.Millisecond, ConnectRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

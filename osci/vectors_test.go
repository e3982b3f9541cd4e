package osci

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// rawBlock cuts the element starting with open (e.g. "<osci:ControlBlock ")
// out of an envelope.
func rawBlock(t *testing.T, env []byte, name string) []byte {
	t.Helper()
	i := bytes.Index(env, []byte("<"+name+" "))
	if i < 0 {
		i = bytes.Index(env, []byte("<"+name+">"))
	}
	end := bytes.Index(env[i:], []byte("</"+name+">"))
	if i < 0 || end < 0 {
		t.Fatalf("no %s in envelope", name)
	}
	return env[i : i+end+len("</"+name+">")]
}

// signedDigests returns URI -> DigestValue of the message signature.
func signedDigests(t *testing.T, m *Message) map[string]string {
	t.Helper()
	out := map[string]string{}
	sig := m.Block(IDClientSignature)
	if sig == nil {
		sig = m.Block(IDSupplierSignature)
	}
	if sig == nil {
		t.Fatal("no signature header")
	}
	for _, r := range sig.FindElements(".//Reference") {
		out[r.SelectAttrValue("URI", "")] = strings.TrimSpace(r.FindElement("./DigestValue").Text())
	}
	return out
}

func vectorEntity(t *testing.T, file string) *Entity {
	t.Helper()
	e, _ := collect(t, readShared(t, file), MIMELimits{})
	return e
}

// TestReferenceVectorsRebuild parses each request of the reference library,
// rebuilds it from the parsed values with our builder and checks that every
// unsigned header block and the body come out byte for byte as the library
// wrote them, and that their SHA-256 equals the DigestValue the library signed.
func TestReferenceVectorsRebuild(t *testing.T) {
	tests := []struct {
		file   string
		typ    MessageType
		blocks map[string]string // element name -> Id
	}{
		{"initDialog", TypeInitDialog, map[string]string{"osci:ControlBlock": IDControlBlock, "osci:DesiredLanguages": IDDesiredLanguages,
			"osci:NonIntermediaryCertificates": IDNonIntermediaryCerts, "osci2017:FeatureDescription": IDFeatureDescription, "soap:Body": IDBody}},
		{"getMessageId", TypeGetMessageID, map[string]string{"osci:ControlBlock": IDControlBlock, "osci:DesiredLanguages": IDDesiredLanguages,
			"osci:NonIntermediaryCertificates": IDNonIntermediaryCerts, "osci2017:FeatureDescription": IDFeatureDescription, "soap:Body": IDBody}},
		{"storeDelivery", TypeStoreDelivery, map[string]string{"osci:ControlBlock": IDControlBlock, "osci:DesiredLanguages": IDDesiredLanguages,
			"osci:storeDelivery": IDStoreDelivery, "osci:NonIntermediaryCertificates": IDNonIntermediaryCerts,
			"osci2017:FeatureDescription": IDFeatureDescription, "soap:Body": IDBody}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			e := vectorEntity(t, "vectors/osci-java/requests-plain/"+tc.file+".mime")
			m, err := Parse(e.SOAP, xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != tc.typ || !m.Signed {
				t.Fatalf("type %s signed %v", m.Type, m.Signed)
			}
			digests := signedDigests(t, m)
			rebuilt := &Message{
				Type: m.Type, ControlBlock: m.ControlBlock, Languages: m.Languages,
				QualityCreation: m.QualityCreation, QualityReception: m.QualityReception,
				MessageID: m.MessageID, Subject: m.Subject, NonIntermediary: m.NonIntermediary, Features: m.Features,
			}
			if m.Type == TypeStoreDelivery {
				rebuilt.Content = rawBlock(t, e.SOAP, "osci:ContentPackage")
			}
			env := envelope(t, rebuilt)
			for name, id := range tc.blocks {
				ours, theirs := rawBlock(t, env, name), rawBlock(t, e.SOAP, name)
				if !bytes.Equal(ours, theirs) {
					t.Errorf("%s differs:\n ours: %.300s\ntheir: %.300s", name, ours, theirs)
				}
				sum := sha256.Sum256(ours)
				if name == "soap:Body" && m.Type == TypeStoreDelivery {
					// The library's content package redeclares namespaces, so
					// its body is not in canonical form; canonicalize it.
					c, err := xmlsec.Canonicalize(m.Block(IDBody), xmlsec.C14N10)
					if err != nil {
						t.Fatal(err)
					}
					sum = sha256.Sum256(c)
				}
				if got := base64.StdEncoding.EncodeToString(sum[:]); got != digests["#"+id] {
					t.Errorf("digest of %s = %s, library signed %s", id, got, digests["#"+id])
				}
			}
			if m.Type == TypeStoreDelivery {
				for _, id := range []string{IDQualityCreation, IDQualityReception} {
					q := m.Block(id)
					if q == nil {
						t.Fatalf("no %s", id)
					}
				}
				if ours, theirs := rawBlock(t, env, "osci:QualityOfTimestamp"), rawBlock(t, e.SOAP, "osci:QualityOfTimestamp"); !bytes.Equal(ours, theirs) {
					t.Errorf("QualityOfTimestamp differs")
				}
				if m.MessageID != "govapp_1764321000000123456789012345" || m.Subject != "Allgemeine Nachricht" {
					t.Errorf("message id %q subject %q", m.MessageID, m.Subject)
				}
				if len(m.NonIntermediary.All(CipherOtherReader)) != 1 {
					t.Errorf("readers: %v", m.NonIntermediary)
				}
			}
			// The whole unsigned envelope equals the library's minus its signature block.
			theirs := bytes.TrimPrefix(e.SOAP, []byte(XMLDeclaration))
			theirs = bytes.TrimSuffix(theirs, []byte("\r\n"))
			theirs = bytes.Replace(theirs, rawBlock(t, theirs, "osci:ClientSignature"), nil, 1)
			if !bytes.Equal(env, theirs) {
				t.Errorf("unsigned envelope differs from the library's")
			}
		})
	}
}

// TestReferenceVectorsCertificateIDs checks our Ids against the library's.
func TestReferenceVectorsCertificateIDs(t *testing.T) {
	e := vectorEntity(t, "vectors/osci-java/requests-plain/storeDelivery.mime")
	m, err := Parse(e.SOAP, xmlsec.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.NonIntermediary {
		if got := NewCertEntry(c.Element, 0, c.Cert).ID; got != c.ID {
			t.Errorf("%s: id %s, library %s", c.Element, got, c.ID)
		}
	}
}

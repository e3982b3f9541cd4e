package xmlsec

import (
	"errors"
	"testing"
)

// TestFileNameIDs: EGVP names content after its file, so Ids may start
// with a digit and carry umlauts; they sign and verify like any Id, while
// anything beyond a name stays refused.
func TestFileNameIDs(t *testing.T) {
	const id = "001_Ermittlungsübersicht_Abverfügung.pdf"
	kp := loadKeyPair(t, "signer")
	doc := mustParse(t, osciMessage(kp.Cert))
	body := doc.Root().FindElement("./soap:Body")
	c := body.CreateElement("osci:Content")
	c.CreateAttr("Id", id)
	c.SetText("Inhalt")
	into := doc.Root().FindElement("./soap:Header/osci:ClientSignature")
	if _, err := Sign(doc, into, []string{"#" + id}, SignOptions{Key: kp.Key, Certificate: kp.Cert}); err != nil {
		t.Fatalf("sign: %v", err)
	}
	p := signerPolicy(t)
	p.Required = []string{"#" + id}
	v, err := verifyBytes(t, serialize(t, doc), p)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if r, ok := v.Reference("#" + id); !ok || len(r.Canonical) == 0 {
		t.Fatalf("reference %+v", r)
	}

	for _, uri := range []string{"#a b", "#a/b", "#a:b", "#a'b", "#a\"b", "#(x)", "#a#b", "#-lead", "#.lead"} {
		t.Run(uri, func(t *testing.T) {
			doc := mustParse(t, osciMessage(kp.Cert))
			into := doc.Root().FindElement("./soap:Header/osci:ClientSignature")
			_, err := Sign(doc, into, []string{uri}, SignOptions{Key: kp.Key, Certificate: kp.Cert})
			if !errors.Is(err, ErrURINotAllowed) {
				t.Fatalf("sign %q: err = %v, want ErrURINotAllowed", uri, err)
			}
		})
	}
}

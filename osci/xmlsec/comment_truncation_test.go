package xmlsec

import (
	"strings"
	"testing"
)

// TestCommentTruncation (CVE-2017-11427 and relatives): a comment inserted
// into signed text leaves the signature valid (C14N drops comments), so the
// value a handler reads must be the full concatenated text. Verified holds
// a copy re-parsed from the canonical octets, where no comment splits the
// text into pieces a first-text-node reader would truncate.
func TestCommentTruncation(t *testing.T) {
	for _, method := range []string{C14N10, ExcC14N10} {
		t.Run(method, func(t *testing.T) {
			kp := loadKeyPair(t, "signer")
			msg := strings.Replace(osciMessage(kp.Cert), "Hallo Welt &amp; Co. äöü", "a@x.de.evil", 1)
			doc := mustParse(t, msg)
			if _, err := Sign(doc, doc.Root().FindElement(".//osci:ClientSignature"), []string{"#body"},
				SignOptions{Key: kp.Key, Certificate: kp.Cert, Canonicalization: method}); err != nil {
				t.Fatal(err)
			}
			attacked := strings.Replace(string(serialize(t, doc)), "a@x.de.evil", "a@x.de<!---->.evil", 1)
			if kids := mustParse(t, attacked).Root().FindElement(".//osci:Content").Child; len(kids) != 3 {
				t.Fatalf("fixture: attacked text is not split by a comment (%d tokens)", len(kids))
			}
			_, el := verifiedBody(t, []byte(attacked))
			content := el.FindElement("./osci:Content")
			if len(content.Child) != 1 || content.Text() != "a@x.de.evil" {
				t.Fatalf("verified value %q in %d tokens, want the full text in one", content.Text(), len(content.Child))
			}
		})
	}
}

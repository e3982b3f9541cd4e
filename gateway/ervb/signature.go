package ervb

import (
	"fmt"
	"io"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// checkSignatureFile checks that a .p7s is a CMS signature and that the
// document it signs is in the message. Whether it is valid (integrity,
// certificate) is for docsig.Verifier, which needs the trust settings.
func checkSignatureFile(name string, c content, lim Limits, names map[string]bool) Findings {
	var out Findings
	doc, _ := mailbox.SignedDocumentName(name)
	if !names[doc] {
		out = append(out, Finding{Severity: SeverityError, File: name, Rule: RuleSignatureOrphan,
			Message: fmt.Sprintf("Die Signaturdatei gehört zu %q, das nicht in der Nachricht ist.", doc)})
	}
	if c.size > lim.MaxSignatureBytes {
		return append(out, Finding{Severity: SeverityError, File: name, Rule: RuleCheckLimit,
			Message: fmt.Sprintf("Die Signaturdatei ist größer als %d Bytes.", lim.MaxSignatureBytes)})
	}
	der, err := io.ReadAll(io.NewSectionReader(c.r, 0, c.size))
	if err == nil {
		_, err = docsig.Parse(der)
	}
	if err != nil {
		out = append(out, Finding{Severity: SeverityError, File: name, Rule: RuleSignatureInvalid,
			Message: "Die Signaturdatei ist keine lesbare CMS/PKCS#7-Signatur: " + err.Error() + "."})
	}
	return out
}

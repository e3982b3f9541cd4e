package ervb

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
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

// CheckSignatures verifies the signatures a message carries on its
// documents with v, the sending mailbox's document-signature verifier
// (docsig.New with its content-signer validator), so that nothing the
// court would find broken is sent: every detached signature against its
// document, and every signature inside a PDF. A broken one (the document
// altered after signing, a forged value, an invalid certificate) is an
// error (RuleSignatureBroken); one without a result (an issuer outside our
// trust set, which the court may know; an unsupported format) a warning
// (RuleSignatureUnconfirmed), as is a PDF signature over an earlier
// version only (RuleSignatureIncomplete). What Check finds about the same
// files (an orphan or unreadable .p7s, an unreadable PDF) is left to
// Check. The error is Check's: the check could not run.
func (c *Checker) CheckSignatures(ctx context.Context, v *docsig.Verifier, files []File) (Findings, error) {
	lim := c.Limits.WithDefaults()
	byName := map[string]File{}
	for _, f := range files {
		byName[f.Name] = f
	}
	var out Findings
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var rs []docsig.Result
		var err error
		if doc, ok := mailbox.SignedDocumentName(f.Name); ok && byName[doc].Name == doc {
			rs, err = c.verifyPair(ctx, v, lim, byName[doc], f)
		} else if fileExt(f.Name) == "pdf" {
			rs, err = c.verifyPDF(ctx, v, lim, f)
		}
		if err != nil {
			return out, err
		}
		for _, r := range rs {
			out = append(out, signatureFinding(f.Name, r)...)
		}
	}
	return out, nil
}

// verifyPair verifies the detached signature sig over doc; a signature
// Check refuses (too large, not CMS) or a file that cannot be opened gives
// nothing here.
func (c *Checker) verifyPair(ctx context.Context, v *docsig.Verifier, lim Limits, doc, sig File) ([]docsig.Result, error) {
	s, closeSig, err := c.open(sig, lim)
	if err != nil {
		return nil, spoolOnly(err)
	}
	defer closeSig()
	if s.size > lim.MaxSignatureBytes {
		return nil, nil
	}
	der, err := io.ReadAll(io.NewSectionReader(s.r, 0, s.size))
	if err != nil {
		return nil, nil
	}
	if _, err := docsig.Parse(der); err != nil {
		return nil, nil
	}
	d, closeDoc, err := c.open(doc, lim)
	if err != nil {
		return nil, spoolOnly(err)
	}
	defer closeDoc()
	return v.VerifyDetached(ctx, doc.Name, sig.Name, der, io.NewSectionReader(d.r, 0, d.size)), nil
}

// verifyPDF verifies the signatures inside the PDF f; one Check refuses as
// unreadable or encrypted gives nothing here.
func (c *Checker) verifyPDF(ctx context.Context, v *docsig.Verifier, lim Limits, f File) ([]docsig.Result, error) {
	src, closeFn, err := c.open(f, lim)
	if err != nil {
		return nil, spoolOnly(err)
	}
	defer closeFn()
	if sniff(src) != kindPDF {
		return nil, nil
	}
	rs, err := v.VerifyPDF(ctx, f.Name, src.r, src.size, lim.PDF)
	if err != nil {
		return nil, ctx.Err()
	}
	return rs, nil
}

// spoolOnly keeps the error that stops the check (the temporary directory
// is unusable); a file that cannot be opened is Check's finding.
func spoolOnly(err error) error {
	if errors.Is(err, errSpool) {
		return err
	}
	return nil
}

// signatureFinding is the finding of one signature, if it has one.
func signatureFinding(file string, r docsig.Result) Findings {
	what := "Die Signatur"
	if r.Field != "" {
		what = fmt.Sprintf("Die Signatur im Feld %q", r.Field)
	}
	detail := r.SignatureCheck().Detail
	switch r.Status() {
	case checkresult.Invalid:
		return Findings{{Severity: SeverityError, File: file, Rule: RuleSignatureBroken,
			Message: fmt.Sprintf("%s von %s ist ungültig; das Gericht sähe eine gebrochene Signatur. %s", what, r.Document, detail)}}
	case checkresult.Indeterminate:
		return Findings{{Severity: SeverityWarning, File: file, Rule: RuleSignatureUnconfirmed,
			Message: fmt.Sprintf("%s von %s ließ sich hier nicht abschließend prüfen. %s", what, r.Document, detail)}}
	}
	if r.Kind == docsig.KindPDF && !r.WholeFile {
		return Findings{{Severity: SeverityWarning, File: file, Rule: RuleSignatureIncomplete,
			Message: fmt.Sprintf("%s deckt nur eine frühere Fassung des PDF ab; spätere Änderungen sind nicht signiert.", what)}}
	}
	return nil
}

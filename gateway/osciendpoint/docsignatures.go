package osciendpoint

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
)

// ReasonPolicyDocumentSignature is the verdict reason of a delivery
// quarantined because a signature on one of its documents is invalid and
// the mailbox's policy (Config.QuarantineInvalidDocumentSignatures) says
// so.
const ReasonPolicyDocumentSignature = "policy_document_signature_invalid"

// checkDocumentSignatures verifies the signatures on the received
// documents themselves, the authors' as opposed to the transport's and
// the containers': every detached signature (a document named after
// another plus .p7s, the rule of mailbox.SignedDocumentName) against its
// document, and every signature inside a PDF. Each becomes a document
// entry of the report beside the transport and content signatures, and
// their worst result the report's DocumentVerdict. A PDF that cannot be
// searched for signatures is a note. Only with the mailbox's policy does
// an invalid one make the verdict invalid; see the package doc. The error
// is for a spooled file that cannot be opened.
func (m *Mailbox) checkDocumentSignatures(ctx context.Context, id string, docs []egvp.ReceivedDocument, rep *mailbox.VerificationReport) error {
	byName := map[string]*egvp.ReceivedDocument{}
	for i := range docs {
		byName[docs[i].Name] = &docs[i]
	}
	var results []docsig.Result
	unsearched := 0
	for i := range docs {
		d := &docs[i]
		if name, ok := mailbox.SignedDocumentName(d.Name); ok {
			rs, err := m.verifyDetached(ctx, name, byName[name], d)
			if err != nil {
				return err
			}
			results = append(results, rs...)
			continue
		}
		if !strings.EqualFold(path.Ext(d.Name), ".pdf") {
			continue
		}
		f, size, err := openSpooled(d.Path)
		if err != nil {
			return err
		}
		rs, err := m.docsig.VerifyPDF(ctx, d.Name, f, size, m.cfg.DocumentPDFLimits)
		f.Close()
		if err != nil {
			unsearched++
			rep.Notes = append(rep.Notes, fmt.Sprintf("Das Dokument %s konnte nicht auf eingebettete Signaturen durchsucht werden (%v).", d.Name, err))
		}
		results = append(results, rs...)
	}
	if len(results) == 0 && unsearched == 0 {
		return nil
	}
	counts := map[string]int{}
	for _, r := range results {
		rep.Signatures = append(rep.Signatures, r.SignatureCheck())
		counts[r.Status()]++
	}
	rep.DocumentVerdict, rep.DocumentVerdictText = docsig.Summary(results)
	fields := []zap.Field{zap.String("osci_message_id", id), zap.Int("valid", counts[checkresult.Valid]),
		zap.Int("invalid", counts[checkresult.Invalid]), zap.Int("indeterminate", counts[checkresult.Indeterminate]),
		zap.Int("pdfs_not_searched", unsearched)}
	switch {
	case rep.DocumentVerdict == checkresult.Invalid && m.cfg.QuarantineInvalidDocumentSignatures:
		if rep.Verdict != checkresult.Invalid {
			rep.Verdict, rep.Reason = checkresult.Invalid, ReasonPolicyDocumentSignature
			rep.ReasonText = "Das Postfach nimmt Nachrichten mit ungültiger Signatur eines Dokuments nur nach Prüfung an: " + rep.DocumentVerdictText
		}
		m.log.Warn("fetched delivery quarantined: a document signature is invalid and the mailbox's policy holds such deliveries", fields...)
	case rep.DocumentVerdict == checkresult.Invalid:
		m.log.Warn("fetched delivery has an invalid document signature; delivered with it shown", fields...)
	default:
		m.log.Info("fetched delivery: document signatures checked", fields...)
	}
	return nil
}

// verifyDetached checks the signature file sig over the document doc
// (named name; nil when the delivery does not hold it).
func (m *Mailbox) verifyDetached(ctx context.Context, name string, doc, sig *egvp.ReceivedDocument) ([]docsig.Result, error) {
	if doc == nil {
		return []docsig.Result{m.docsig.MissingDocument(name, sig.Name)}, nil
	}
	sf, _, err := openSpooled(sig.Path)
	if err != nil {
		return nil, err
	}
	defer sf.Close()
	df, _, err := openSpooled(doc.Path)
	if err != nil {
		return nil, err
	}
	defer df.Close()
	return m.docsig.VerifyDetachedReader(ctx, name, sig.Name, sf, df), nil
}

// openSpooled opens a document egvp wrote to the spool.
func openSpooled(p string) (*os.File, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, fmt.Errorf("osciendpoint: fetched document: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("osciendpoint: fetched document: %w", err)
	}
	return f, fi.Size(), nil
}

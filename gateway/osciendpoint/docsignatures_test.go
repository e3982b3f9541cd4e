package osciendpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// A filing as the justice sample data name it: the document with its UUID
// and its detached signature beside it.
const (
	sigDoc  = "Klage_14049759-7440-474c-a37b-9a2d98b9d58a.pdf"
	sigFile = sigDoc + ".p7s"
)

// sampleDocument reads a committed document of testdata/documents.
func sampleDocument(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(certstest.RepoRoot(t), "testdata", "documents", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sendSigned sends one message from A to B with the given files, fetches
// it at B and hands it to the intake; it returns B's message.
func (e *omEnv) sendSigned(t *testing.T, files map[string][]byte) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	// The sample signature claims its signing time (December 2026); the
	// gateways' clock is after it, the certificates' validation time fixed.
	e.clk.Add(200 * 24 * time.Hour)
	meta, _ := json.Marshal(sendMeta{FreeText: "Klage mit Signatur"})
	var parts []mailbox.Part
	for _, name := range []string{sigDoc, sigFile, "Anlage_K1.pdf"} {
		if b, ok := files[name]; ok {
			parts = append(parts, mailbox.Part{Name: name, ContentType: "application/octet-stream", Body: bytes.NewReader(b)})
		}
	}
	if _, err := mailbox.Submit(ctx, e.a.store, e.a.blobs, mailbox.NewOutgoing{Mailbox: "A", Recipient: omSafeB,
		Subject: "Klage", Meta: meta, Now: e.clk.Now()}, parts); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sender().RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := e.fetcher().FetchMailbox(ctx, "B"); err != nil || res.Stored != 1 {
		t.Fatalf("fetch %+v: %v", res, err)
	}
	if _, err := e.deliverer().RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	in, err := e.b.store.List(ctx, mailbox.Filter{Direction: mailbox.In})
	if err != nil || len(in) != 1 {
		t.Fatalf("%d incoming: %v", len(in), err)
	}
	m, err := e.b.store.Get(ctx, in[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func incoming(t *testing.T, m mailbox.Message) mailbox.IncomingMeta {
	t.Helper()
	var meta mailbox.IncomingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	return meta
}

func documentChecks(r mailbox.VerificationReport) []mailbox.SignatureCheck {
	var out []mailbox.SignatureCheck
	for _, s := range r.Signatures {
		if s.Kind == mailbox.SignatureKindDocument {
			out = append(out, s)
		}
	}
	return out
}

// intakeMetadata reads metadata.json of B's one intake entry.
func (e *omEnv) intakeMetadata(t *testing.T) (mailbox.IntakeMetadata, string) {
	t.Helper()
	entries, err := os.ReadDir(e.root)
	if err != nil || len(entries) != 1 {
		t.Fatalf("intake entries %v: %v", entries, err)
	}
	dir := filepath.Join(e.root, entries[0].Name())
	var md mailbox.IntakeMetadata
	if err := json.Unmarshal(omRead(t, dir, mailbox.FileMetadataJSON), &md); err != nil {
		t.Fatal(err)
	}
	return md, dir
}

// A detached signature that verifies arrives beside the transport
// signatures, with its own result, advanced (not qualified: the
// certificate says nothing of qualification).
func TestDetachedSignatureOnReceivedDocument(t *testing.T) {
	e := newOMEnv(t)
	pdf := sampleDocument(t, "plain_gs.pdf")
	m := e.sendSigned(t, map[string][]byte{sigDoc: pdf, sigFile: sampleDocument(t, "plain_gs.pdf.p7s")})
	meta := incoming(t, m)
	if m.State != mailbox.StateDelivered || meta.Report.Status() != checkresult.Valid {
		t.Fatalf("state %s verdict %s %s", m.State, meta.Report.Verdict, meta.Report.ReasonText)
	}
	dc := documentChecks(meta.Report)
	if len(dc) != 1 || dc[0].Result != checkresult.Valid || dc[0].Integrity != checkresult.OK || dc[0].CertType != "advanced" ||
		dc[0].Document != sigDoc || !strings.Contains(dc[0].Signer, "Stadt Erkelenz beBPo Signatur") {
		t.Fatalf("document signatures %+v", dc)
	}
	if meta.Report.DocumentVerdict != checkresult.Valid || len(documentChecks(meta.Report)) == len(meta.Report.Signatures) {
		t.Fatalf("document verdict %q, signatures %+v", meta.Report.DocumentVerdict, meta.Report.Signatures)
	}
	md, dir := e.intakeMetadata(t)
	got := map[string]string{}
	for _, d := range md.Documents {
		got[d.FileName] = d.DocumentSignature
	}
	if md.DocumentSignatureStatus != checkresult.Valid || got[sigDoc] != checkresult.Valid || got[sigFile] != "" {
		t.Fatalf("metadata: status %q, per document %v", md.DocumentSignatureStatus, got)
	}
	report := string(omRead(t, dir, mailbox.FileReportXML))
	if !strings.Contains(report, `<Dokumentsignaturen ergebnis="valid">`) || !strings.Contains(report, "<Art>document</Art>") ||
		!strings.Contains(report, "<Art>vhn</Art>") {
		t.Fatalf("pruefprotokoll.xml:\n%s", report)
	}
}

// The attack: a document changed after it was signed. By default the
// message arrives (the transport verified), with the signature shown as
// broken in the report and in the metadata, the verdict untouched; with
// the mailbox's policy it is quarantined with its own reason. Reading the
// stored original again gives the same document signatures.
func TestDocumentChangedAfterSigning(t *testing.T) {
	pdf := sampleDocument(t, "plain_gs.pdf")
	changed := bytes.Clone(pdf)
	i := bytes.Index(changed, []byte("/MediaBox"))
	changed[i+1] = 'm' // one byte of the signed document
	files := map[string][]byte{sigDoc: changed, sigFile: sampleDocument(t, "plain_gs.pdf.p7s"), "Anlage_K1.pdf": pdf}

	t.Run("delivered with the signature shown broken", func(t *testing.T) {
		t.Parallel()
		e := newOMEnv(t)
		m := e.sendSigned(t, files)
		meta := incoming(t, m)
		if m.State != mailbox.StateDelivered || meta.Report.Verdict != checkresult.Valid {
			t.Fatalf("state %s verdict %s %s", m.State, meta.Report.Verdict, meta.Report.ReasonText)
		}
		dc := documentChecks(meta.Report)
		if len(dc) != 1 || dc[0].Result != checkresult.Invalid || dc[0].Integrity != checkresult.Corrupted ||
			!strings.Contains(dc[0].Detail, "nach der Signatur verändert") {
			t.Fatalf("document signatures %+v", dc)
		}
		if meta.Report.DocumentVerdict != checkresult.Invalid || !strings.Contains(meta.Report.DocumentVerdictText, "1 von 1 Signaturen der Dokumente ist ungültig: "+sigDoc) {
			t.Fatalf("document verdict %q %q", meta.Report.DocumentVerdict, meta.Report.DocumentVerdictText)
		}
		md, dir := e.intakeMetadata(t)
		got := map[string]string{}
		for _, d := range md.Documents {
			got[d.FileName] = d.DocumentSignature
		}
		if md.VerificationStatus != checkresult.Valid || md.DocumentSignatureStatus != checkresult.Invalid || got[sigDoc] != checkresult.Invalid {
			t.Fatalf("metadata: %s, document signatures %q, per document %v", md.VerificationStatus, md.DocumentSignatureStatus, got)
		}
		html := string(omRead(t, dir, mailbox.FileReportHTML))
		if !strings.Contains(html, `<th>Signaturen der Dokumente</th><td class="invalid">ungültig: `) {
			t.Fatalf("pruefprotokoll.html lacks the broken document signature:\n%s", html)
		}

		// Reprocessing the stored original gives the same document signatures.
		var orig mailbox.Document
		for _, d := range m.Documents {
			if d.Role == mailbox.RoleOriginal {
				orig = d
			}
		}
		rc, err := e.b.blobs.Open(orig.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		d, err := e.b.mb.Reprocess(context.Background(), "B", m.OSCIMessageID, rc)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range d.Documents {
			if c, ok := doc.Body.(interface{ Close() error }); ok {
				defer c.Close()
			}
		}
		if again := documentChecks(d.Meta.Report); !reflect.DeepEqual(again, dc) || d.Meta.Report.DocumentVerdictText != meta.Report.DocumentVerdictText {
			t.Fatalf("reprocessed %+v, fetched %+v", again, dc)
		}
	})

	t.Run("quarantined by the mailbox's policy", func(t *testing.T) {
		t.Parallel()
		e := newOMEnv(t)
		e.b.mb.cfg.QuarantineInvalidDocumentSignatures = true
		m := e.sendSigned(t, files)
		meta := incoming(t, m)
		if m.State != mailbox.StateQuarantined || m.LastErrorCode != ReasonPolicyDocumentSignature ||
			meta.Report.Reason != ReasonPolicyDocumentSignature || !strings.Contains(m.LastErrorText, sigDoc) {
			t.Fatalf("state %s (%s: %s), report reason %s", m.State, m.LastErrorCode, m.LastErrorText, meta.Report.Reason)
		}
	})
}

// A signature file whose document is not in the message, and one from a
// CA outside the content-signer set: shown as not checkable, never
// quarantined, also under the policy.
func TestDocumentSignatureIndeterminateIsNotQuarantined(t *testing.T) {
	e := newOMEnv(t)
	e.b.mb.cfg.QuarantineInvalidDocumentSignatures = true
	m := e.sendSigned(t, map[string][]byte{sigFile: sampleDocument(t, "plain_gs.pdf.p7s"), "Anlage_K1.pdf": sampleDocument(t, "plain_gs.pdf")})
	meta := incoming(t, m)
	dc := documentChecks(meta.Report)
	if m.State != mailbox.StateDelivered || len(dc) != 1 || dc[0].Result != checkresult.Indeterminate || dc[0].Document != sigDoc ||
		!strings.Contains(dc[0].Detail, "nicht in der Nachricht") || meta.Report.DocumentVerdict != checkresult.Indeterminate {
		t.Fatalf("state %s, document signatures %+v, verdict %q", m.State, dc, meta.Report.DocumentVerdict)
	}
}

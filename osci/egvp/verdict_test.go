package egvp

import (
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
)

// TestVerdict is the one rule for the overall result, as a table: each
// reason is its own code, first match wins.
func TestVerdict(t *testing.T) {
	ok := SignatureCheck{Object: "a", Integrity: checkresult.OK, CertValidity: checkresult.Valid}
	signed := ContentCheck{Container: "project_coco", Name: "a.pdf", Kind: ContentDocument, Delivered: true, Signed: true, Coverage: CoverContent}
	byTransport := ContentCheck{Container: "contentcontainer0", Name: "content1", Document: "a.txt", Kind: ContentDocument, Delivered: true,
		Signed: true, Coverage: CoverTransport}
	unsigned := ContentCheck{Container: "project_coco", Name: "b.pdf", Kind: ContentDocument, Delivered: true}
	corrupted := SignatureCheck{Object: "c", Integrity: checkresult.Corrupted, CertValidity: checkresult.Valid}
	badCert := SignatureCheck{Object: "d", Integrity: checkresult.OK, CertValidity: checkresult.Invalid}
	tests := []struct {
		name   string
		r      Report
		status string
		reason string
	}{
		{"no signature at all", Report{}, checkresult.Indeterminate, ReasonNoSignature},
		{"no signature, unsigned content", Report{Contents: []ContentCheck{unsigned}}, checkresult.Indeterminate, ReasonNoSignature},
		{"everything signed and valid", Report{Signatures: []SignatureCheck{ok, ok}, Contents: []ContentCheck{signed}}, checkresult.Valid, ""},
		{"covered by the transport signature", Report{Signatures: []SignatureCheck{ok, ok}, Contents: []ContentCheck{byTransport}}, checkresult.Valid, ""},
		{"signatures valid, nothing delivered", Report{Signatures: []SignatureCheck{ok}}, checkresult.Valid, ""},
		{"unsigned content is never valid", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed, unsigned}},
			checkresult.Indeterminate, ReasonUnsignedContent},
		{"unsigned but not delivered (stylesheet)", Report{Signatures: []SignatureCheck{ok},
			Contents: []ContentCheck{signed, {Container: "project_coco", Name: "nachricht.xsl", Kind: ContentStylesheet}}}, checkresult.Valid, ""},
		{"check without result", Report{Signatures: []SignatureCheck{ok, {Integrity: checkresult.Indeterminate, CertValidity: checkresult.Valid}}},
			checkresult.Indeterminate, ReasonCheckIndeterminate},
		{"certificate not determinable (chains to no configured CA)", Report{Signatures: []SignatureCheck{{Integrity: checkresult.OK, CertValidity: checkresult.Indeterminate}}},
			checkresult.Indeterminate, ReasonCheckIndeterminate},
		{"corrupted signature", Report{Signatures: []SignatureCheck{ok, corrupted}, Contents: []ContentCheck{unsigned}}, checkresult.Invalid, ReasonSignatureInvalid},
		{"corrupted outranks an invalid certificate", Report{Signatures: []SignatureCheck{badCert, corrupted}}, checkresult.Invalid, ReasonSignatureInvalid},
		{"intermediary found a signature corrupted", Report{Signatures: []SignatureCheck{ok}, Inspections: []InspectionFinding{{Corrupted: true, Text: "x"}}},
			checkresult.Invalid, ReasonSignatureInvalid},
		{"intermediary found a certificate revoked", Report{Signatures: []SignatureCheck{ok}, Inspections: []InspectionFinding{{Text: "x"}}},
			checkresult.Invalid, ReasonCertificateInvalid},
		{"invalid certificate", Report{Signatures: []SignatureCheck{badCert}}, checkresult.Invalid, ReasonCertificateInvalid},
		{"invalid certificate outranks a problem", Report{Signatures: []SignatureCheck{badCert}, Problems: []string{"x"}}, checkresult.Invalid, ReasonCertificateInvalid},
		{"problem", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed}, Problems: []string{"x"}}, checkresult.Invalid, ReasonFormatUnreadable},
		{"problem without signature", Report{Problems: []string{"x"}}, checkresult.Invalid, ReasonFormatUnreadable},
		{"policy", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed}, Policy: []string{"Container x"}}, checkresult.Invalid, ReasonPolicyEndToEnd},
		{"problem outranks policy", Report{Signatures: []SignatureCheck{ok}, Problems: []string{"x"}, Policy: []string{"Container x"}}, checkresult.Invalid, ReasonFormatUnreadable},
		{"policy outranks unsigned content", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{unsigned}, Policy: []string{"Container x"}},
			checkresult.Invalid, ReasonPolicyEndToEnd},
		{"sender contradicts certificate", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed},
			Sender: SenderIdentity{Conflicts: []string{"Nutzer-ID"}}}, checkresult.Invalid, ReasonSenderMismatch},
		{"sender conflict outranks a failed signature", Report{Signatures: []SignatureCheck{{Integrity: checkresult.Corrupted}},
			Sender: SenderIdentity{Conflicts: []string{"Nutzer-ID"}}}, checkresult.Invalid, ReasonSenderMismatch},
		{"notes do not change the verdict", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed},
			Sender: SenderIdentity{Notes: []string{"Kein VHN"}}, Notes: []string{NoteNotEndToEnd, NoteNotEGVP}}, checkresult.Valid, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.r.Verdict()
			if v.Status != tc.status || v.Reason != tc.reason || v.Text == "" {
				t.Fatalf("verdict %+v, want %s/%s", v, tc.status, tc.reason)
			}
		})
	}
}

package egvp

import "testing"

// TestVerdict is the one rule for the overall result, as a table: each
// reason is its own code, first match wins.
func TestVerdict(t *testing.T) {
	ok := SignatureCheck{Object: "a", Integrity: ResultOK, CertValidity: ResultValid}
	signed := ContentCheck{Container: "project_coco", Name: "a.pdf", Kind: ContentDocument, Delivered: true, Signed: true, Coverage: CoverContent}
	byTransport := ContentCheck{Container: "contentcontainer0", Name: "content1", Document: "a.txt", Kind: ContentDocument, Delivered: true,
		Signed: true, Coverage: CoverTransport}
	unsigned := ContentCheck{Container: "project_coco", Name: "b.pdf", Kind: ContentDocument, Delivered: true}
	corrupted := SignatureCheck{Object: "c", Integrity: ResultCorrupted, CertValidity: ResultValid}
	badCert := SignatureCheck{Object: "d", Integrity: ResultOK, CertValidity: ResultInvalid}
	tests := []struct {
		name   string
		r      Report
		status string
		reason string
	}{
		{"no signature at all", Report{}, ResultIndeterminate, ReasonNoSignature},
		{"no signature, unsigned content", Report{Contents: []ContentCheck{unsigned}}, ResultIndeterminate, ReasonNoSignature},
		{"everything signed and valid", Report{Signatures: []SignatureCheck{ok, ok}, Contents: []ContentCheck{signed}}, ResultValid, ""},
		{"covered by the transport signature", Report{Signatures: []SignatureCheck{ok, ok}, Contents: []ContentCheck{byTransport}}, ResultValid, ""},
		{"signatures valid, nothing delivered", Report{Signatures: []SignatureCheck{ok}}, ResultValid, ""},
		{"unsigned content is never valid", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed, unsigned}},
			ResultIndeterminate, ReasonUnsignedContent},
		{"unsigned but not delivered (stylesheet)", Report{Signatures: []SignatureCheck{ok},
			Contents: []ContentCheck{signed, {Container: "project_coco", Name: "nachricht.xsl", Kind: ContentStylesheet}}}, ResultValid, ""},
		{"check without result", Report{Signatures: []SignatureCheck{ok, {Integrity: ResultIndeterminate, CertValidity: ResultValid}}},
			ResultIndeterminate, ReasonCheckIndeterminate},
		{"certificate not determinable (chains to no configured CA)", Report{Signatures: []SignatureCheck{{Integrity: ResultOK, CertValidity: ResultIndeterminate}}},
			ResultIndeterminate, ReasonCheckIndeterminate},
		{"corrupted signature", Report{Signatures: []SignatureCheck{ok, corrupted}, Contents: []ContentCheck{unsigned}}, ResultInvalid, ReasonSignatureInvalid},
		{"corrupted outranks an invalid certificate", Report{Signatures: []SignatureCheck{badCert, corrupted}}, ResultInvalid, ReasonSignatureInvalid},
		{"intermediary found a signature corrupted", Report{Signatures: []SignatureCheck{ok}, Inspections: []InspectionFinding{{Corrupted: true, Text: "x"}}},
			ResultInvalid, ReasonSignatureInvalid},
		{"intermediary found a certificate revoked", Report{Signatures: []SignatureCheck{ok}, Inspections: []InspectionFinding{{Text: "x"}}},
			ResultInvalid, ReasonCertificateInvalid},
		{"invalid certificate", Report{Signatures: []SignatureCheck{badCert}}, ResultInvalid, ReasonCertificateInvalid},
		{"invalid certificate outranks a problem", Report{Signatures: []SignatureCheck{badCert}, Problems: []string{"x"}}, ResultInvalid, ReasonCertificateInvalid},
		{"problem", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed}, Problems: []string{"x"}}, ResultInvalid, ReasonFormatUnreadable},
		{"problem without signature", Report{Problems: []string{"x"}}, ResultInvalid, ReasonFormatUnreadable},
		{"policy", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed}, Policy: []string{"Container x"}}, ResultInvalid, ReasonPolicyEndToEnd},
		{"problem outranks policy", Report{Signatures: []SignatureCheck{ok}, Problems: []string{"x"}, Policy: []string{"Container x"}}, ResultInvalid, ReasonFormatUnreadable},
		{"policy outranks unsigned content", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{unsigned}, Policy: []string{"Container x"}},
			ResultInvalid, ReasonPolicyEndToEnd},
		{"sender contradicts certificate", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed},
			Sender: SenderIdentity{Conflicts: []string{"Nutzer-ID"}}}, ResultInvalid, ReasonSenderMismatch},
		{"sender conflict outranks a failed signature", Report{Signatures: []SignatureCheck{{Integrity: ResultCorrupted}},
			Sender: SenderIdentity{Conflicts: []string{"Nutzer-ID"}}}, ResultInvalid, ReasonSenderMismatch},
		{"notes do not change the verdict", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed},
			Sender: SenderIdentity{Notes: []string{"Kein VHN"}}, Notes: []string{NoteNotEndToEnd, NoteNotEGVP}}, ResultValid, ""},
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

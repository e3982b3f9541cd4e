package egvp

import "testing"

// TestVerdict is the one rule for the overall result, as a table.
func TestVerdict(t *testing.T) {
	ok := SignatureCheck{Object: "a", Integrity: ResultOK, CertValidity: ResultValid}
	signed := ContentCheck{Container: "project_coco", Name: "a.pdf", Kind: ContentDocument, Delivered: true, Signed: true}
	unsigned := ContentCheck{Container: "project_coco", Name: "b.pdf", Kind: ContentDocument, Delivered: true}
	tests := []struct {
		name   string
		r      Report
		status string
		reason string
	}{
		{"no signature at all", Report{}, ResultIndeterminate, ReasonNoSignature},
		{"no signature, unsigned content", Report{Contents: []ContentCheck{unsigned}}, ResultIndeterminate, ReasonNoSignature},
		{"everything signed and valid", Report{Signatures: []SignatureCheck{ok, ok}, Contents: []ContentCheck{signed}}, ResultValid, ""},
		{"signatures valid, nothing delivered", Report{Signatures: []SignatureCheck{ok}}, ResultValid, ""},
		{"unsigned content is never valid", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed, unsigned}},
			ResultIndeterminate, ReasonUnsignedContent},
		{"unsigned but not delivered (stylesheet)", Report{Signatures: []SignatureCheck{ok},
			Contents: []ContentCheck{signed, {Container: "project_coco", Name: "nachricht.xsl", Kind: ContentStylesheet}}}, ResultValid, ""},
		{"check without result", Report{Signatures: []SignatureCheck{ok, {Integrity: ResultIndeterminate, CertValidity: ResultValid}}},
			ResultIndeterminate, ReasonCheckIndeterminate},
		{"certificate not determinable", Report{Signatures: []SignatureCheck{{Integrity: ResultOK, CertValidity: ResultIndeterminate}}},
			ResultIndeterminate, ReasonCheckIndeterminate},
		{"corrupted signature", Report{Signatures: []SignatureCheck{ok, {Integrity: ResultCorrupted, CertValidity: ResultValid}},
			Contents: []ContentCheck{unsigned}}, ResultInvalid, ReasonVerificationFailed},
		{"invalid certificate", Report{Signatures: []SignatureCheck{{Integrity: ResultOK, CertValidity: ResultInvalid}}}, ResultInvalid, ReasonVerificationFailed},
		{"problem", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed}, Problems: []string{"x"}}, ResultInvalid, ReasonVerificationFailed},
		{"problem without signature", Report{Problems: []string{"x"}}, ResultInvalid, ReasonVerificationFailed},
		{"sender contradicts certificate", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed},
			Sender: SenderIdentity{Conflicts: []string{"Nutzer-ID"}}}, ResultInvalid, ReasonSenderMismatch},
		{"sender conflict outranks a failed signature", Report{Signatures: []SignatureCheck{{Integrity: ResultCorrupted}},
			Sender: SenderIdentity{Conflicts: []string{"Nutzer-ID"}}}, ResultInvalid, ReasonSenderMismatch},
		{"notes do not change the verdict", Report{Signatures: []SignatureCheck{ok}, Contents: []ContentCheck{signed},
			Sender: SenderIdentity{Notes: []string{"Kein VHN"}}}, ResultValid, ""},
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

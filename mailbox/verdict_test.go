package mailbox_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestStoredVerdictIsTheStatus: the mailbox acts on the verdict the
// verifier stored and never judges the signatures itself; a report
// without a verdict (stored before there was one) or with an unknown one
// is indeterminate.
func TestStoredVerdictIsTheStatus(t *testing.T) {
	corrupted := []mailbox.SignatureCheck{{Integrity: checkresult.Corrupted, CertValidity: checkresult.Invalid}}
	for _, tc := range []struct {
		verdict string
		want    string
	}{
		{"", checkresult.Indeterminate},
		{checkresult.Valid, checkresult.Valid},
		{checkresult.Invalid, checkresult.Invalid},
		{checkresult.Indeterminate, checkresult.Indeterminate},
		{"VALID", checkresult.Indeterminate},
		{"ok", checkresult.Indeterminate},
	} {
		r := mailbox.VerificationReport{Verdict: tc.verdict, Signatures: corrupted, Problems: []string{"x"}}
		if got := r.Status(); got != tc.want {
			t.Errorf("verdict %q: status %q, want %q", tc.verdict, got, tc.want)
		}
	}
}

// TestLegacySenderIsAClaim: metadata stored before the sender was split
// held the business card flat; it reads back as the sender's claim, never
// as confirmed.
func TestLegacySenderIsAClaim(t *testing.T) {
	var meta mailbox.IncomingMeta
	if err := json.Unmarshal([]byte(`{"sender":{"safeId":"DE.Justiz.x","name":"Amtsgericht"},"report":{"checkedAt":"2026-03-02T09:30:00Z"}}`), &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Sender.Confirmed != (mailbox.ConfirmedSender{}) || meta.Sender.Claimed.SafeID != "DE.Justiz.x" || meta.Sender.Claimed.Name != "Amtsgericht" ||
		meta.Report.Status() != checkresult.Indeterminate {
		t.Fatalf("legacy meta %+v", meta)
	}
	in := mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: "DE.Justiz.a", TrustedFor: "vhn"}, Claimed: mailbox.Party{SafeID: "DE.Justiz.b"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out mailbox.SenderIdentity
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip %s: %+v %v", b, out, err)
	}
}

// TestForgedSenderIsQuarantinedWithItsReason: a delivery whose verifier
// found the sender's claims contradicting its certificate is quarantined
// with that reason and its German text, not as a generic verification
// failure, and the claim never reaches the intake as the sender.
func TestForgedSenderIsQuarantinedWithItsReason(t *testing.T) {
	e := newEnv(t)
	peer := newFakeMailbox("govapp_forged")
	d := peer.deliveries["govapp_forged"]
	d.Meta.Sender = mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: "DE.Justiz.attacker", TrustedFor: "vhn"},
		Claimed: mailbox.Party{SafeID: "DE.Justiz.ag", Name: "Amtsgericht Erkelenz"}}
	d.Meta.Report.Verdict, d.Meta.Report.Reason = checkresult.Invalid, "sender_identity_mismatch"
	d.Meta.Report.ReasonText = "Die Angaben des Absenders widersprechen seinem geprüften Zertifikat oder dem Verzeichnis: Nutzer-ID der Visitenkarte DE.Justiz.ag"
	d.Meta.Report.VHNPresent = false
	e.fetch(t, peer, "mb")
	folder, root := e.folderIntake(t)
	if _, err := (&mailbox.Deliverer{Store: e.store, Blobs: e.blobs, Sink: folder, Now: e.clk.Now}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := e.store.GetByOSCIMessageID(ctx, mailbox.In, "mb", "govapp_forged")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != mailbox.StateQuarantined || m.LastErrorCode != "sender_identity_mismatch" || !strings.Contains(m.LastErrorText, "widersprechen") {
		t.Fatalf("state %s code %q text %q", m.State, m.LastErrorCode, m.LastErrorText)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Fatalf("intake holds %d entries", len(ents))
	}
}

// TestNotesAndCoverageReachTheIntake: the verifier's notes ("Inhalt nicht
// Ende-zu-Ende verschlüsselt", "keine EGVP-Nachricht") and how each
// document is covered appear in metadata.json, metadata.xml and the
// Prüfprotokoll; a document is found by the name it was delivered under,
// which for plain OSCI content differs from the content's Id.
func TestNotesAndCoverageReachTheIntake(t *testing.T) {
	rep := mailbox.VerificationReport{Verdict: checkresult.Valid, Notes: []string{"Inhalt nicht Ende-zu-Ende verschlüsselt: Container c0", "keine EGVP-Nachricht"},
		Contents: []mailbox.ContentCheck{
			{Container: "c0", Name: "content1", Document: "schriftsatz.txt", Kind: "document", Delivered: true, Signed: true,
				Coverage: "transport-signature", SignedBy: []string{"CN=Alice"}},
			{Container: "c1", Name: "content3", Document: "geheim.txt", Kind: "document", Delivered: true, Signed: true,
				Coverage: "content-signature", SignedBy: []string{"CN=Alice"}}}}
	for name, want := range map[string]string{"schriftsatz.txt": "transport-signature", "geheim.txt": "content-signature", "content1": ""} {
		if signed, how, _ := rep.DocumentSignature(name); how != want || signed != (want != "") {
			t.Errorf("%s: signed %v by %q, want %q", name, signed, how, want)
		}
	}
	md := mailbox.IntakeMetadata{MessageID: "m", Notes: rep.Notes,
		Documents: []mailbox.DocumentMeta{{FileName: "schriftsatz.txt", OriginalName: "schriftsatz.txt", Signed: true, Coverage: "transport-signature"}}}
	j, err := mailbox.RenderMetadataJSON(md)
	if err != nil || !strings.Contains(string(j), `"notes": [`) || !strings.Contains(string(j), `"coverage": "transport-signature"`) {
		t.Fatalf("metadata.json %s %v", j, err)
	}
	x, err := mailbox.RenderMetadataXML(md)
	if err != nil || !strings.Contains(string(x), "<Hinweis>keine EGVP-Nachricht</Hinweis>") || !strings.Contains(string(x), "<SigniertDurch>transport-signature</SigniertDurch>") {
		t.Fatalf("metadata.xml %s %v", x, err)
	}
	if x, err := mailbox.RenderMetadataXML(mailbox.IntakeMetadata{}); err != nil || strings.Contains(string(x), "Hinweise") {
		t.Fatalf("metadata.xml without notes %s %v", x, err)
	}
	h, err := mailbox.RenderReportHTML(md, rep)
	if err != nil || !strings.Contains(string(h), "Hinweis: Inhalt nicht Ende-zu-Ende verschlüsselt") ||
		!strings.Contains(string(h), "durch die Transportsignatur des Absenders") {
		t.Fatalf("pruefprotokoll.html %s %v", h, err)
	}
	px, err := mailbox.RenderReportXML(md, rep)
	if err != nil || !strings.Contains(string(px), "<Hinweis>keine EGVP-Nachricht</Hinweis>") || !strings.Contains(string(px), "<Dokument>geheim.txt</Dokument>") {
		t.Fatalf("pruefprotokoll.xml %s %v", px, err)
	}
}

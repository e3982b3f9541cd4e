package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// TestCourtBuildValidatesWithXmllint is the acceptance: court
// build prints a record for two documents with an eEB request that
// xmllint --schema accepts with the shared 3.5.1 schemas; a record
// without a court is refused.
func TestCourtBuildValidatesWithXmllint(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, nil, "court", "build", "--court", "R1502", "--case-sender", "32-12/26", "--case-recipient", "3 C 17/26",
		"--subject", "Ordnungswidrigkeit", "--eeb", "--class", "003", "--sender", "Stadt Erkelenz", "Klage.pdf", "Anlage_K1.pdf")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "Klage.pdf\tsend as Klage_") || !strings.Contains(out, "ruecksendungEEB.erforderlich") || strings.Count(out, "<tns:dokument>") != 2 {
		t.Errorf("stdout %.300s\nstderr %s", out, errs)
	}
	rec := filepath.Join(dir, "xjustiz_nachricht.xml")
	if err := os.WriteFile(rec, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1", "xsd", "xjustiz_0005_nachrichten_3_1.xsd")
	if b, err := exec.Command(certstest.NeedTool(t, "xmllint"), "--noout", "--nonet", "--schema", xsd, rec).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, b)
	}
	broken := filepath.Join(dir, "broken.xml")
	if err := os.WriteFile(broken, []byte(strings.Replace(out, "<tns:eigeneNachrichtenID>", "<tns:eigeneNachrichtenID>x", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLICases(t, nil, []cliCase{
		{"validate", []string{"court", "validate", rec}, ExitOK, "valid (XJustiz 3.5.1, nachricht.gds.uebermittlungSchriftgutobjekte.0005005)", ""},
		{"validate broken", []string{"court", "validate", broken}, ExitFail, "", "eigeneNachrichtenID"},
		{"no court", []string{"court", "build", "--sender", "Stadt Erkelenz", "Klage.pdf"}, ExitFail, "", "court missing"},
		{"unknown court", []string{"court", "build", "--court", "Z9999", "--sender", "Stadt Erkelenz", "Klage.pdf"}, ExitFail, "", "not in GDS.Gerichte"},
		{"dissolved court", []string{"court", "build", "--court", "R1507", "--sender", "Stadt Erkelenz", "Klage.pdf"}, ExitFail, "", "dissolved"},
		{"unknown class", []string{"court", "build", "--court", "R1502", "--class", "999", "--sender", "S", "Klage.pdf"}, ExitFail, "", "GDS.Dokumentklasse"},
		{"no sender", []string{"court", "build", "--court", "R1502", "Klage.pdf"}, ExitUsage, "", "--sender"},
		{"no files", []string{"court", "build", "--court", "R1502", "--sender", "S"}, ExitUsage, "", "give the files"},
	})
}

// TestCourtCheck is the acceptance for the pre-flight: a text
// file named .pdf, a .docx, a PDF with JavaScript and an encrypted PDF
// are refused, a plain PDF and a TIFF pass.
func TestCourtCheck(t *testing.T) {
	dir := t.TempDir()
	doc := func(name string) string { return filepath.Join(certstest.RepoRoot(t), "testdata", "documents", name) }
	fake := filepath.Join(dir, "Fake.pdf")
	word := filepath.Join(dir, "Brief.docx")
	for p, content := range map[string]string{fake: "nur Text", word: "PK\x03\x04word/document.xml"} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runCLICases(t, nil, []cliCase{
		{"plain PDF and TIFF", []string{"court", "check", doc("plain_gs.pdf"), doc("scan_g4.tif")}, ExitOK, "no findings", ""},
		{"text named .pdf", []string{"court", "check", fake}, ExitFail, "error  Fake.pdf", ""},
		{"docx", []string{"court", "check", word}, ExitFail, "file-type", ""},
		{"javascript", []string{"court", "check", doc("javascript_openaction.pdf")}, ExitFail, "pdf-javascript", ""},
		{"encrypted", []string{"court", "check", doc("encrypted_aes256.pdf")}, ExitFail, "pdf-encrypted", ""},
		{"json", []string{"court", "check", "--json", doc("encrypted_aes256.pdf")}, ExitFail, `"rule": "pdf-encrypted"`, ""},
	})
}

package textpdf_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/textpdf"
)

// TestOtherSoftwareReadsIt: poppler reads the title, German letters and
// every line across pages, and a second rendering gives the same bytes.
func TestOtherSoftwareReadsIt(t *testing.T) {
	pdftotext := certstest.NeedTool(t, "pdftotext")
	var lines []string
	for i := range 120 {
		lines = append(lines, "Zeile "+strings.Repeat("ä", i%5)+" Größe € (Klammer) \\ Ende")
	}
	b := textpdf.Document("Prüfung – Übersicht", lines)
	p := filepath.Join(t.TempDir(), "x.pdf")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", p, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "Prüfung – Übersicht") || strings.Count(text, "Größe € (Klammer) \\ Ende") != 120 || !strings.Contains(text, "Seite 3 von 3") {
		t.Errorf("text read back:\n%s", text)
	}
	if string(textpdf.Document("Prüfung – Übersicht", lines)) != string(b) {
		t.Error("a second rendering differs")
	}
}

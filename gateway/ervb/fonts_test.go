package ervb_test

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
)

// The PDFs of the two real EGVP messages (a scanner app, an office suite)
// pass: what a court accepted must not be refused. Their fonts that are
// not embedded are reported as poppler's pdffonts lists them ("emb no").
func TestRealCourtFilings(t *testing.T) {
	dir := filepath.Join(certstest.SharedDir(t), "vectors", "egvp", "Testnachricht_xjustiz321", "attachments")
	for name, notEmbedded := range map[string][]string{
		"001_Ermittlungsübersicht_Abverfügung.pdf":                              nil,
		"002_Antrag_auf_richterliche_Entscheidung_zur_Wohnungsdurchsuchung.pdf": {"Arial-BoldMT", "Arial-ItalicMT", "ArialMT"},
		"003_Sachverhalt.pdf":   {"Arial-BoldMT", "ArialMT"},
		"xjustiz_nachricht.xml": nil,
	} {
		t.Run(name, func(t *testing.T) {
			fs := check(t, ervb.OSFile(name, filepath.Join(dir, name)))
			if err := fs.Err(); err != nil {
				t.Fatal(err)
			}
			if got := reportedFonts(fs); strings.Join(got, ",") != strings.Join(notEmbedded, ",") {
				t.Fatalf("not embedded: %v, want %v", got, notEmbedded)
			}
		})
	}
}

// reportedFonts are the font names of the pdf-font-not-embedded finding.
func reportedFonts(fs ervb.Findings) []string {
	for _, f := range fs {
		if f.Rule == ervb.RulePDFFontMissing {
			list := f.Message[strings.Index(f.Message, "(")+1 : strings.Index(f.Message, ")")]
			names := strings.Split(list, ", ")
			sort.Strings(names)
			return names
		}
	}
	return nil
}

// Differential: for every sample and real PDF, the fonts reported as not
// embedded are those poppler's pdffonts marks "emb no" (when installed).
func TestFontsAgreeWithPoppler(t *testing.T) {
	tool, err := exec.LookPath("pdffonts")
	if err != nil {
		t.Skip("pdffonts (poppler-utils) not installed")
	}
	paths, _ := filepath.Glob(filepath.Join(certstest.RepoRoot(t), "testdata", "documents", "*.pdf"))
	real, _ := filepath.Glob(filepath.Join(certstest.SharedDir(t), "vectors", "egvp", "*", "attachments", "*.pdf"))
	for _, p := range append(paths, real...) {
		if strings.Contains(p, "encrypted") {
			continue
		}
		out, err := exec.Command(tool, p).Output()
		if err != nil {
			t.Fatalf("pdffonts %s: %v", p, err)
		}
		var want []string
		for _, line := range strings.Split(string(out), "\n")[2:] {
			f := strings.Fields(line)
			if len(f) >= 7 && f[len(f)-5] == "no" && !strings.Contains(line, "Type 3") {
				want = append(want, f[0])
			}
		}
		sort.Strings(want)
		got := reportedFonts(check(t, ervb.OSFile("Datei.pdf", p)))
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: not embedded %v, pdffonts says %v", filepath.Base(p), got, want)
		}
	}
}

package mailbox

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Klage.pdf", "Klage.pdf"},
		{"001_Ermittlungsübersicht_Abverfügung.pdf", "001_Ermittlungsübersicht_Abverfügung.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\x\Schriftsatz vom 1.2.2026.pdf`, "Schriftsatz_vom_1_2_2026.pdf"},
		{"..", "dokument"},
		{".", "dokument"},
		{"", "dokument"},
		{".bashrc", "dokument.bashrc"},
		{"  Klage.pdf ", "Klage.pdf"},
		{"a\x00b.pdf", "a_b.pdf"},
		{"Anlage K1 (Vertrag).PDF", "Anlage_K1__Vertrag.PDF"},
		{"(1) Klage.pdf", "1__Klage.pdf"},
		{"().pdf", "dokument.pdf"},
		{"NUL.txt", "Datei_NUL.txt"},
		{"com1.pdf", "Datei_com1.pdf"},
		{"_Anlage_.pdf", "_Anlage_.pdf"},
		{"name.tar.gz", "name_tar.gz"},
		{"x.p d f", "x.pdf"},
		{"bad\xffutf8.pdf", "bad_utf8.pdf"},
		{"Straße—Café.pdf", "Straße_Caf.pdf"},
	}
	for _, tc := range tests {
		if got := SafeFileName(tc.in); got != tc.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("ä", 200) + ".pdf"
	got := SafeFileName(long)
	if n := utf8.RuneCountInString(got); n != MaxFileNameRunes || !strings.HasSuffix(got, ".pdf") {
		t.Fatalf("long name: %d runes %q", n, got)
	}
}

// Another sender's software named two attachments CON.pdf and con.pdf:
// both get names the intake's own check accepts, so neither is retried
// for ever.
func TestUniqueFileNamesForReservedNamesAreFixedPoints(t *testing.T) {
	got := UniqueFileNames([]string{"CON.pdf", "con.pdf", "Con.PDF", "nul", "LPT1.txt"})
	want := []string{"Datei_CON.pdf", "Datei_con_2.pdf", "Datei_Con_3.PDF", "Datei_nul", "Datei_LPT1.txt"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, n := range got {
		if SafeFileName(n) != n {
			t.Errorf("%q is not its own safe name (%q)", n, SafeFileName(n))
		}
	}
}

// The submission's check and the intake's renaming are one rule: a name
// ValidFileName accepts is its own safe name, and a safe name with an
// extension is valid.
func TestValidAndSafeFileNamesAgree(t *testing.T) {
	for _, n := range []string{"Klage.pdf", "_Anlage_.pdf", "a__b-c.TIFF", "Schriftsatz_Müller-Groß_ÄÖÜ.pdf", strings.Repeat("a", 86) + ".pdf"} {
		if err := ValidFileName(n); err != nil {
			t.Errorf("ValidFileName(%q): %v", n, err)
		}
		if SafeFileName(n) != n {
			t.Errorf("SafeFileName(%q) = %q", n, SafeFileName(n))
		}
	}
	for _, n := range []string{"", "Klage", ".pdf", "Klage.", "Klage.final.pdf", "Klage 1.pdf", "../Klage.pdf", "Klage(1).pdf", "Klagé.pdf",
		"Klage.p-f", strings.Repeat("a", 87) + ".pdf", "CON.pdf", "con.txt", "Lpt9.pdf", "\xff.pdf"} {
		if err := ValidFileName(n); !errors.Is(err, ErrFileName) {
			t.Errorf("ValidFileName(%q) = %v, want ErrFileName", n, err)
		}
		if s := SafeFileName(n); strings.Contains(s, ".") && ValidFileName(s) != nil {
			t.Errorf("SafeFileName(%q) = %q is not valid: %v", n, s, ValidFileName(s))
		}
	}
}

func TestUniqueFileNames(t *testing.T) {
	got := UniqueFileNames([]string{"a.pdf", "A.pdf", "a.pdf", "x/a.pdf", "metadata.json"}, "metadata.json")
	want := []string{"a.pdf", "A_2.pdf", "a_3.pdf", "a_4.pdf", "metadata_2.json"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %v, want %v", got, want)
	}
	long := strings.Repeat("b", 100) + ".pdf"
	u := UniqueFileNames([]string{long, long})
	if u[0] == u[1] || utf8.RuneCountInString(u[1]) > MaxFileNameRunes || !strings.HasSuffix(u[1], "_2.pdf") {
		t.Fatalf("long duplicates: %v", u)
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"govapp_1638957835003741065649003093795", "govapp_1638957835003741065649003093795"},
		{"../x", "id-"},
		{"a/b", "id-"},
		{"", "id-"},
	}
	for _, tc := range tests {
		got := EntryName(tc.in)
		if tc.want == "id-" {
			if !strings.HasPrefix(got, "id-") || len(got) != 43 || strings.ContainsAny(got, "./") {
				t.Errorf("EntryName(%q) = %q", tc.in, got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("EntryName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if EntryName("a/b") == EntryName("a\\b") {
		t.Fatal("distinct ids share an entry")
	}
}

// The justice sample data name a detached signature after its document
// plus ".p7s" (Klage_<uuid>.pdf.p7s): the one name with two dots the rule
// accepts, and every function of the rule keeps it beside its document.
func TestSignatureFileNames(t *testing.T) {
	const uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
	for _, n := range []string{"Klage_" + uuid + ".pdf.p7s", "Scan.tif.P7S", "a.p7s.p7s", strings.Repeat("a", 82) + ".pdf.p7s"} {
		if err := ValidFileName(n); err != nil {
			t.Errorf("ValidFileName(%q): %v", n, err)
		}
		if SafeFileName(n) != n {
			t.Errorf("SafeFileName(%q) = %q", n, SafeFileName(n))
		}
	}
	for _, n := range []string{"Klage.final.pdf.p7s", "Klage.pdf.p7m", "Kla ge.pdf.p7s", "CON.pdf.p7s", ".pdf.p7s", "Klage..p7s",
		strings.Repeat("a", 83) + ".pdf.p7s", "Klage.pdf.p7s.p7s"} {
		if err := ValidFileName(n); !errors.Is(err, ErrFileName) {
			t.Errorf("ValidFileName(%q) = %v, want ErrFileName", n, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"Klage (1).pdf.p7s", "Klage__1.pdf.p7s"},
		{"CON.pdf.p7s", "Datei_CON.pdf.p7s"},
		{"../Klage.pdf.P7S", "Klage.pdf.P7S"},
		{"x..p7s", "x.p7s"},
		{".pdf.p7s", "dokument.pdf.p7s"},
		{"Klage.final.pdf.p7s", "Klage_final.pdf.p7s"},
		{strings.Repeat("b", 100) + ".pdf.p7s", strings.Repeat("b", 82) + ".pdf.p7s"},
	} {
		if got := SafeFileName(tc.in); got != tc.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if doc, _ := SignedDocumentName(tc.in); strings.Count(tc.want, ".") == 2 && len(tc.in) < MaxFileNameRunes && SafeFileName(tc.in) != SafeFileName(doc)+tc.in[len(doc):] {
			t.Errorf("SafeFileName(%q) is not beside its document's %q", tc.in, SafeFileName(doc))
		}
	}
	got := UniqueFileNames([]string{"Klage.pdf", "klage.pdf", "Klage.pdf.p7s", "klage.pdf.p7s", "Klage.PDF.P7S"})
	want := []string{"Klage.pdf", "klage_2.pdf", "Klage.pdf.p7s", "klage_2.pdf.p7s", "Klage_3.PDF.P7S"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("UniqueFileNames = %v, want %v", got, want)
	}
	if FileNameKey("Klage.PDF.p7s") != FileNameKey("klage.pdf.P7S") || FileNameKey("Klage.pdf.p7s") == FileNameKey("Klage.pdf") {
		t.Fatal("FileNameKey does not tell signatures apart by their document alone")
	}
	if doc, ok := SignedDocumentName("Klage.pdf.P7S"); !ok || doc != "Klage.pdf" {
		t.Fatalf("SignedDocumentName = %q, %v", doc, ok)
	}
	if _, ok := SignedDocumentName(".p7s"); ok {
		t.Fatal("SignedDocumentName(.p7s) names a document")
	}
}

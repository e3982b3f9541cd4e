package mailbox

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSafeFileName: whatever a sender names a document, the result stays
// inside the intake entry, keeps the ERVB limits and is stable. Two dots
// only in a signature's name (a document's name plus ".p7s").
func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"Klage.pdf", "../../etc/passwd", `..\..\x`, ".", "..", "", "NUL", "CON.pdf", "con.pdf", "_con_2.pdf", "a.b.c", "ä\x00.pdf", strings.Repeat("ß", 100) + ".pdf", "x." + strings.Repeat("p", 100),
		"Klage_0f8fad5b-d9cb-469f-a165-70867728950e.pdf.p7s", "a (1).pdf.P7S", "x..p7s", "CON.pdf.p7s", ".pdf.p7s", "a.p7s.p7s", strings.Repeat("ä", 90) + ".pdf.p7s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeFileName(in)
		switch {
		case out == "" || out == "." || out == "..":
			t.Fatalf("SafeFileName(%q) = %q", in, out)
		case strings.ContainsAny(out, "/\\\x00 "):
			t.Fatalf("SafeFileName(%q) = %q contains a separator or space", in, out)
		case strings.HasPrefix(out, "."):
			t.Fatalf("SafeFileName(%q) = %q is hidden", in, out)
		case strings.Count(out, ".") > 2 || strings.Count(out, ".") == 2 && !isSignatureName(out):
			t.Fatalf("SafeFileName(%q) = %q has more than one dot and is no signature's name", in, out)
		case !utf8.ValidString(out) || utf8.RuneCountInString(out) > MaxFileNameRunes:
			t.Fatalf("SafeFileName(%q) = %q breaks the length or encoding rule", in, out)
		case SafeFileName(out) != out:
			t.Fatalf("SafeFileName not stable: %q → %q → %q", in, out, SafeFileName(out))
		case strings.Contains(out, ".") && ValidFileName(out) != nil:
			t.Fatalf("SafeFileName(%q) = %q breaks the ERVB rule: %v", in, out, ValidFileName(out))
		case ValidFileName(in) == nil && out != in:
			t.Fatalf("valid name %q renamed to %q", in, out)
		}
		// Two names that differ only in case or in what sanitising drops
		// still get distinct names, each its own safe name.
		u := UniqueFileNames([]string{in, strings.ToUpper(in), strings.ToLower(in), in + " "})
		seen := map[string]bool{}
		for _, n := range u {
			if SafeFileName(n) != n || seen[strings.ToLower(n)] {
				t.Fatalf("UniqueFileNames(%q) = %q", in, u)
			}
			seen[strings.ToLower(n)] = true
		}
	})
}

func isSignatureName(name string) bool {
	doc, ok := SignedDocumentName(name)
	return ok && strings.Count(doc, ".") == 1
}

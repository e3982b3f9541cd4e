package mailbox

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSafeFileName: whatever a sender names a document, the result stays
// inside the intake entry, keeps the ERVB limits and is stable.
func FuzzSafeFileName(f *testing.F) {
	for _, s := range []string{"Klage.pdf", "../../etc/passwd", `..\..\x`, ".", "..", "", "NUL", "CON.pdf", "con.pdf", "_con_2.pdf", "a.b.c", "ä\x00.pdf", strings.Repeat("ß", 100) + ".pdf", "x." + strings.Repeat("p", 100)} {
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
		case strings.Count(out, ".") > 1:
			t.Fatalf("SafeFileName(%q) = %q has more than one dot", in, out)
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

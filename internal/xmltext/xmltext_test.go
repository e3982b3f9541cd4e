package xmltext

import "testing"

func TestValid(t *testing.T) {
	for _, s := range []string{"", "Räumung\tZeile\r\n2", "\u263a \U0001F600"} {
		if !Valid(s) {
			t.Errorf("Valid(%q) refuses text XML can carry", s)
		}
	}
	for _, s := range []string{"bell\a", "nul\x00", "esc\x1b", "\uFFFE", "\uFFFF", "\xff"} {
		if Valid(s) {
			t.Errorf("Valid(%q) accepts text XML cannot carry", s)
		}
	}
}

// TestNormalizeLineBreaks: CRLF and a lone CR become LF, in one pass that
// leaves nothing to do for a second one ("\r\r\n" is two line breaks, not
// a CR before a CRLF that a second pass would find).
func TestNormalizeLineBreaks(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"a\nb":           "a\nb",
		"a\r\nb":         "a\nb",
		"a\rb":           "a\nb",
		"a\r\r\nb":       "a\n\nb",
		"a\r\n\rb\r":     "a\n\nb\n",
		"\n\r\r\r\n\n\r": "\n\n\n\n\n\n",
	} {
		got := LineBreaksToLF(in)
		if got != want {
			t.Errorf("LineBreaksToLF(%q) = %q, want %q", in, got, want)
		}
		if again := LineBreaksToLF(got); again != got {
			t.Errorf("LineBreaksToLF(%q) changed %q again into %q", in, got, again)
		}
	}
}

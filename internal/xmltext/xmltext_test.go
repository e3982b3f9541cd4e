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

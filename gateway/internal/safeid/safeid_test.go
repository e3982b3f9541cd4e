package safeid

import "testing"

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"DE.Justiz.3b3a6e68-5f0e-4f8f-9a5a-1b1f0f6f1c11.0a1b": true,
		"DE.BRAK.1234567":              true,
		"govello-1234567890":           true,
		"DE.Demo.Stadtverwaltung.0001": true,
		"":                             false,
		"ab":                           false,
		".DE.Justiz":                   false,
		"DE Justiz":                    false,
		"DE/../etc":                    false,
		"DE.Justiz\n":                  false,
	} {
		if got := Valid(s); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
}

package config

import (
	"strings"
	"testing"
)

func TestXDomeaIntake(t *testing.T) {
	ok := strings.Replace(validConfig, "    path: intake\n", "    path: intake\n  - name: eakte-xdomea\n    type: xdomea\n    path: xdomea\n    xdomea: {format_code_other: '999', format_list_version: '1.0', format_codes: {pdf: '018'}}\n", 1)
	c, err := Decode(strings.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if x := c.Intakes[1].XDomea; x.Version != "3.0.0" || x.FormatCodes["pdf"] != "018" {
		t.Fatalf("%+v", x)
	}
	v4 := strings.Replace(ok, "xdomea: {format_code_other", "xdomea: {version: 4.0.0, format_code_other", 1)
	c, err = Decode(strings.NewReader(v4))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("4.0.0 refused: %v", err)
	}
	if x := c.Intakes[1].XDomea; x.Version != "4.0.0" {
		t.Fatalf("%+v", x)
	}
	bad := strings.Replace(validConfig, "    path: intake\n", "    path: intake\n    xdomea: {}\n  - name: x1\n    type: xdomea\n  - name: x2\n    type: xdomea\n    path: x2\n    xdomea: {version: 2.4.0}\n", 1)
	c, err = Decode(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, want := range []string{
		"intakes[0].xdomea: is for xdomea intakes only",
		"intakes[1].path: is required for an xdomea intake",
		"intakes[1].xdomea: is required",
		`intakes[2].xdomea.version: must be one of [3.0.0 4.0.0], not "2.4.0"`,
		"intakes[2].xdomea.format_code_other: is required",
		"intakes[2].xdomea.format_list_version: is required",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
}

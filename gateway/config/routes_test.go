package config

import (
	"strings"
	"testing"
)

const routedMailbox = `
    routes:
      - name: zivil
        match: {court: F1100, sender: DE.Justiz.lg-berlin.1, case_number: '^2 O ', type: eeb_request}
        intake: eakte
      - match: {type: register_answer}
        intake: eakte
`

func TestRoutesDecodeAndValidate(t *testing.T) {
	c, err := Decode(strings.NewReader(validConfig + routedMailbox))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	r := c.Mailboxes[0].Routes
	if len(r) != 2 || r[0].Match.Court != "F1100" || r[0].Match.CaseNumber != "^2 O " || r[0].Match.Type != "eeb_request" || r[1].Intake != "eakte" {
		t.Fatalf("routes %+v", r)
	}
}

func TestRoutesEveryProblemAtOnce(t *testing.T) {
	s := validConfig + `
    routes:
      - name: zivil
        match: {court: X9999, case_number: '^(2 O'}
        intake: nowhere
      - name: zivil
        match: {case_number: '2 O', type: fax}
        intake: eakte
`
	err := refused(t, s)
	for _, want := range []string{
		`mailboxes[0].routes[0].match.court: "X9999" is not a code of GDS.Gerichte`,
		`mailboxes[0].routes[0].match.case_number: "^(2 O" is no regular expression`,
		`mailboxes[0].routes[0].intake: names no intake "nowhere" (defined: eakte)`,
		`mailboxes[0].routes[1].match.case_number: "2 O" must be anchored`,
		`mailboxes[0].routes[1].match.type: must be eeb_request, register_answer or ordinary, not "fax"`,
		`mailboxes[0].routes[1].name: "zivil" is used twice`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 6 {
		t.Errorf("%d problems, want 6:\n%v", n, err)
	}
}

func TestRoutesUnknownKeyRefused(t *testing.T) {
	s := validConfig + "    routes:\n      - match: {court: F1100, colour: red}\n        intake: eakte\n"
	if _, err := Decode(strings.NewReader(s)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("err = %v, want the unknown key named", err)
	}
}

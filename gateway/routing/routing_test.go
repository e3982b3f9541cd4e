package routing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/routing"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

const (
	lgKoeln  = "DE.Justiz.lg-koeln.1"
	agKoeln  = "DE.Justiz.ag-koeln.1"
	lawyer   = "DE.BRAK.kanzlei.7"
	stranger = "DE.Justiz.other.2"
)

var intakes = map[string]bool{"eakte-zivil": true, "eakte-straf": true, "eeb-stelle": true, "vergabe": true, "ordnungsamt": true, "poststelle": true}

func known(n string) bool { return intakes[n] }

// book is the address book's court codes by SAFE-ID.
func book(id string) string {
	return map[string]string{lgKoeln: "R3300", agKoeln: "r3306"}[id]
}

// fiveRules is the routing table: a register answer, a
// sender, a court with a case number, eEB requests, a case number.
func fiveRules(t *testing.T) *routing.Table {
	t.Helper()
	tab, err := routing.Compile([]routing.Rule{
		{Name: "vergabe", Match: routing.Match{Type: routing.TypeRegisterAnswer}, Intake: "vergabe"},
		{Match: routing.Match{Sender: lawyer}, Intake: "ordnungsamt"},
		{Name: "lg-zivil", Match: routing.Match{Court: "R3300", CaseNumber: `^\d+ O \d+/\d{2}$`}, Intake: "eakte-zivil"},
		{Name: "eeb", Match: routing.Match{Type: routing.TypeEEBRequest}, Intake: "eeb-stelle"},
		{Name: "straf", Match: routing.Match{CaseNumber: `^(\d+ )?(Js|Ds|Cs) `}, Intake: "eakte-straf"},
	}, "poststelle", known)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func meta(confirmed, claimed, caseNo string, eeb bool, subject string) mailbox.IntakeMetadata {
	return mailbox.IntakeMetadata{Sender: mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: confirmed}, Claimed: mailbox.Party{SafeID: claimed}},
		CaseNumberRecipient: caseNo, EEBRequested: eeb, OSCISubject: subject}
}

func TestFiveRulesRouteEachMessage(t *testing.T) {
	tab := fiveRules(t)
	tests := []struct {
		name       string
		md         mailbox.IntakeMetadata
		intake     string
		rule       string
		court      string
		senderSeen string
	}{
		{"register answer beats every later rule", meta("", "", "2 O 17/26", true, "wettbewerbsregister-answer"), "vergabe", "vergabe", "", ""},
		{"lawyer by confirmed SAFE-ID, unnamed rule", meta(lawyer, "", "", true, "x"), "ordnungsamt", "routes[1]", "", lawyer},
		{"civil chamber: court and case number", meta(lgKoeln, "", "2 O 17/26", true, "x"), "eakte-zivil", "lg-zivil", "R3300", lgKoeln},
		{"same court, other case number: eEB rule", meta(lgKoeln, "", "2 S 17/26", true, "x"), "eeb-stelle", "eeb", "R3300", lgKoeln},
		{"criminal case number from the local court", meta(agKoeln, "", "51 Js 123/26", false, "x"), "eakte-straf", "straf", "R3306", agKoeln},
		{"case number pattern is anchored", meta(agKoeln, "", "Az. 51 Js 123/26", false, "x"), "poststelle", routing.DefaultRule, "R3306", agKoeln},
		{"nothing matches: default", meta(stranger, "", "", false, "x"), "poststelle", routing.DefaultRule, "", stranger},
		{"claimed SAFE-ID only where none is confirmed", meta("", lawyer, "", false, "x"), "ordnungsamt", "routes[1]", "", lawyer},
		{"confirmed SAFE-ID wins over the claim", meta(stranger, lawyer, "", false, "x"), "poststelle", routing.DefaultRule, "", stranger},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := routing.MessageOf(tc.md, book)
			if m.Sender != tc.senderSeen || !strings.EqualFold(m.Court, tc.court) {
				t.Fatalf("message %+v, want sender %q court %q", m, tc.senderSeen, tc.court)
			}
			if d := tab.Route(m); d.Intake != tc.intake || d.Rule != tc.rule {
				t.Fatalf("routed to %+v, want intake %q by rule %q", d, tc.intake, tc.rule)
			}
		})
	}
}

func TestMessageType(t *testing.T) {
	for _, tc := range []struct {
		md   mailbox.IntakeMetadata
		want routing.Type
	}{
		{meta("", "", "", false, "Klage"), routing.TypeOrdinary},
		{meta("", "", "", true, "Klage"), routing.TypeEEBRequest},
		{meta("", "", "", false, "wettbewerbsregister-sheet"), routing.TypeRegisterAnswer},
	} {
		if got := routing.MessageOf(tc.md, nil).Type; got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.md, got, tc.want)
		}
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	_, err := routing.Compile([]routing.Rule{
		{Match: routing.Match{Court: "X9999"}, Intake: "eakte-zivil"},
		{Match: routing.Match{Court: "B1301"}, Intake: "eakte-zivil"},
		{Match: routing.Match{CaseNumber: "2 O "}, Intake: "eakte-zivil"},
		{Match: routing.Match{CaseNumber: "^(2 O"}, Intake: "eakte-zivil"},
		{Match: routing.Match{CaseNumber: "^" + strings.Repeat("a", routing.MaxPatternLen)}, Intake: "eakte-zivil"},
		{Match: routing.Match{Sender: "not a safe id!"}, Intake: "eakte-zivil"},
		{Match: routing.Match{Type: "fax"}, Intake: "eakte-zivil"},
		{Match: routing.Match{Type: routing.TypeEEBRequest}, Intake: "nowhere"},
		{Match: routing.Match{Type: routing.TypeEEBRequest}},
		{Intake: "eakte-zivil"},
	}, "", known)
	if !errors.Is(err, routing.ErrRule) {
		t.Fatalf("%v, want ErrRule", err)
	}
	for _, want := range []string{
		"a default intake is required",
		`routes[0].match.court: routing: bad rule: "X9999" is not a code`,
		"routes[1].match.court: routing: bad rule: B1301 (Amtsgericht Eppingen) is dissolved",
		`routes[2].match.case_number: routing: bad rule: "2 O " must be anchored`,
		`routes[3].match.case_number: routing: bad rule: "^(2 O" is no regular expression`,
		"routes[4].match.case_number: routing: bad rule: is 257 bytes long, at most 256",
		`routes[5].match.sender: routing: bad rule: "not a safe id!" is not a SAFE-ID`,
		`routes[6].match.type: routing: bad rule: must be eeb_request, register_answer or ordinary, not "fax"`,
		`routes[7].intake: routing: bad rule: names no intake "nowhere"`,
		"routes[8].intake: routing: bad rule: is required",
		"routes[9].match: routing: bad rule: needs at least one of",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 11 {
		t.Errorf("%d problems, want 11:\n%v", n, err)
	}
}

func TestNoRulesRoutesToDefault(t *testing.T) {
	tab, err := routing.Compile(nil, "poststelle", known)
	if err != nil {
		t.Fatal(err)
	}
	if d := tab.Route(routing.Message{Type: routing.TypeEEBRequest}); d != (routing.Decision{Intake: "poststelle", Rule: routing.DefaultRule}) {
		t.Fatalf("%+v", d)
	}
}

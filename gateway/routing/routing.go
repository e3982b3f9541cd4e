package routing

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/safeid"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ErrRule is wrapped by every problem Check and Compile report.
var ErrRule = errors.New("routing: bad rule")

// Type is the kind of a message as the rules see it.
type Type string

// Message types.
const (
	TypeOrdinary       Type = "ordinary"
	TypeEEBRequest     Type = "eeb_request"     // the sender asks for an elektronisches Empfangsbekenntnis
	TypeRegisterAnswer Type = "register_answer" // filed from the Wettbewerbsregister (gateway/register)
)

// DefaultRule is the rule name a message routed by the default intake
// records.
const DefaultRule = "default"

// MaxPatternLen bounds a case-number pattern.
const MaxPatternLen = 256

// registerSubjectPrefix starts the OSCI subject of what gateway/register
// files (answers and query sheets).
const registerSubjectPrefix = "wettbewerbsregister-"

// Match is what a rule asks of a message. Empty criteria match anything;
// a rule needs at least one.
type Match struct {
	Court      string `yaml:"court" json:"court,omitempty"`            // GDS.Gerichte code of the sending court, e.g. F1100
	Sender     string `yaml:"sender" json:"sender,omitempty"`          // the sender's SAFE-ID, exactly
	CaseNumber string `yaml:"case_number" json:"caseNumber,omitempty"` // anchored regular expression on the recipient's case number
	Type       Type   `yaml:"type" json:"type,omitempty"`
}

// Rule sends the messages it matches to Intake. Name is what deliveries
// record; it defaults to "routes[<index>]".
type Rule struct {
	Name   string `yaml:"name" json:"name,omitempty"`
	Match  Match  `yaml:"match" json:"match"`
	Intake string `yaml:"intake" json:"intake"`
}

// Problem is one thing wrong with a rule: the field (relative to the
// rule, e.g. "match.case_number") and what is wrong.
type Problem struct {
	Field string
	Err   error
}

// Check returns every problem of r. known reports whether an intake name
// is configured.
func (r Rule) Check(known func(string) bool) []Problem {
	var out []Problem
	add := func(f, format string, a ...any) {
		out = append(out, Problem{f, fmt.Errorf("%w: "+format, append([]any{ErrRule}, a...)...)})
	}
	m := r.Match
	if m == (Match{}) {
		add("match", "needs at least one of court, sender, case_number, type (the mailbox's intake is the default)")
	}
	if m.Court != "" {
		if c, ok := courts.Lookup(m.Court); !ok {
			add("match.court", "%q is not a code of GDS.Gerichte", m.Court)
		} else if c.Dissolved {
			add("match.court", "%s (%s) is dissolved", c.Code, c.Name)
		}
	}
	if m.Sender != "" && !safeid.Valid(m.Sender) {
		add("match.sender", "%q is not a SAFE-ID (e.g. %s)", m.Sender, safeid.Example)
	}
	if m.CaseNumber != "" {
		if _, err := compilePattern(m.CaseNumber); err != nil {
			add("match.case_number", "%v", err)
		}
	}
	switch m.Type {
	case "", TypeOrdinary, TypeEEBRequest, TypeRegisterAnswer:
	default:
		add("match.type", "must be %s, %s or %s, not %q", TypeEEBRequest, TypeRegisterAnswer, TypeOrdinary, m.Type)
	}
	if r.Intake == "" {
		add("intake", "is required")
	} else if known != nil && !known(r.Intake) {
		add("intake", "names no intake %q", r.Intake)
	}
	return out
}

func compilePattern(p string) (*regexp.Regexp, error) {
	if len(p) > MaxPatternLen {
		return nil, fmt.Errorf("is %d bytes long, at most %d", len(p), MaxPatternLen)
	}
	if !strings.HasPrefix(p, "^") {
		return nil, fmt.Errorf("%q must be anchored: start it with ^", p)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("%q is no regular expression: %v", p, err)
	}
	return re, nil
}

// Table is one mailbox's compiled rules and its default intake.
type Table struct {
	rules []compiled
	def   string
}

type compiled struct {
	name string
	r    Rule
	re   *regexp.Regexp
}

// Compile checks every rule (see Rule.Check) and builds the table; it
// returns all problems at once, each naming "routes[<i>].<field>".
func Compile(rules []Rule, defaultIntake string, known func(string) bool) (*Table, error) {
	t := &Table{def: defaultIntake}
	var errs []error
	if defaultIntake == "" {
		errs = append(errs, fmt.Errorf("%w: a default intake is required", ErrRule))
	}
	for i, r := range rules {
		key := fmt.Sprintf("routes[%d]", i)
		if ps := r.Check(known); len(ps) > 0 {
			for _, p := range ps {
				errs = append(errs, fmt.Errorf("%s.%s: %w", key, p.Field, p.Err))
			}
			continue
		}
		c := compiled{name: r.Name, r: r}
		if c.name == "" {
			c.name = key
		}
		if r.Match.CaseNumber != "" {
			c.re, _ = compilePattern(r.Match.CaseNumber)
		}
		c.r.Match.Court = strings.ToUpper(strings.TrimSpace(r.Match.Court))
		t.rules = append(t.rules, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Message is what the rules look at.
type Message struct {
	Court      string // of the sender, from the address book ("" when it is no court)
	Sender     string // SAFE-ID
	CaseNumber string // the recipient's
	Type       Type
}

// Decision is where a message goes and which rule said so.
type Decision struct {
	Intake string
	Rule   string
}

// Route returns the first matching rule's intake, or the default.
func (t *Table) Route(m Message) Decision {
	court := strings.ToUpper(strings.TrimSpace(m.Court))
	for _, c := range t.rules {
		mt := c.r.Match
		switch {
		case mt.Court != "" && mt.Court != court,
			mt.Sender != "" && mt.Sender != m.Sender,
			mt.Type != "" && mt.Type != m.Type,
			c.re != nil && !c.re.MatchString(m.CaseNumber):
			continue
		}
		return Decision{Intake: c.r.Intake, Rule: c.name}
	}
	return Decision{Intake: t.def, Rule: DefaultRule}
}

// MessageOf is the rules' view of an intake entry. courtOf returns the
// court code the address book holds for a SAFE-ID ("" for none); nil
// means no court is known.
func MessageOf(md mailbox.IntakeMetadata, courtOf func(safeID string) string) Message {
	m := Message{Sender: md.Sender.Confirmed.SafeID, CaseNumber: md.CaseNumberRecipient, Type: TypeOrdinary}
	if m.Sender == "" {
		m.Sender = md.Sender.Claimed.SafeID
	}
	switch {
	case strings.HasPrefix(md.OSCISubject, registerSubjectPrefix):
		m.Type = TypeRegisterAnswer
	case md.EEBRequested:
		m.Type = TypeEEBRequest
	}
	if courtOf != nil && m.Sender != "" {
		m.Court = courtOf(m.Sender)
	}
	return m
}

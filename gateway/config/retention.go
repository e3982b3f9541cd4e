package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// RetentionConfig says how long a mailbox keeps the documents of messages
// that reached their end: incoming ones delivered to the intake, outgoing
// ones confirmed as fetched by the recipient (mailbox.Retention). Zero
// (the default) keeps them for ever. Message rows, process cards, intake
// records and the journal are always kept.
type RetentionConfig struct {
	// IncomingBodies: the documents and structured data of a delivered
	// message (the eAkte holds its copy).
	IncomingBodies Period `yaml:"incoming_bodies"`
	// IncomingOriginals: the received OSCI message, the evidence of what
	// arrived (signed and encrypted); not shorter than IncomingBodies.
	IncomingOriginals Period `yaml:"incoming_originals"`
	// OutgoingBodies: the documents of a confirmed outgoing message.
	OutgoingBodies Period `yaml:"outgoing_bodies"`
}

// MinRetention is the shortest retention period accepted: a document is
// never removed on the day it was delivered or confirmed.
const MinRetention = 24 * time.Hour

// Period is a duration written in days ("90d") or as a Go duration
// ("2160h").
type Period time.Duration

// UnmarshalYAML reads "90d" or a Go duration.
func (p *Period) UnmarshalYAML(n *yaml.Node) error {
	d, err := ParsePeriod(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = Period(d)
	return nil
}

// ParsePeriod reads "90d" (days) or a Go duration such as "2160h".
func ParsePeriod(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days such as 90d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither days (90d) nor a duration (2160h)", s)
	}
	return d, nil
}

// Duration returns the period as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) }

func (r *RetentionConfig) validate(p *problems, key string) {
	for _, f := range []struct {
		name string
		v    Period
	}{{"incoming_bodies", r.IncomingBodies}, {"incoming_originals", r.IncomingOriginals}, {"outgoing_bodies", r.OutgoingBodies}} {
		if f.v != 0 && f.v.Duration() < MinRetention {
			p.add(key+"."+f.name, "must be at least 1d (or 0 to keep for ever), not %s", f.v.Duration())
		}
	}
	if r.IncomingOriginals != 0 && (r.IncomingBodies == 0 || r.IncomingOriginals < r.IncomingBodies) {
		p.add(key+".incoming_originals", "must not be shorter than incoming_bodies: the original holds the bodies too")
	}
}

// RetentionRules turns each mailbox's retention section into the
// mailbox's purge rules; a period of 0 (keep for ever) gives no rule.
func (cfg *Config) RetentionRules() []mailbox.RetentionRule {
	var rules []mailbox.RetentionRule
	for _, mc := range cfg.Mailboxes {
		r := mc.Retention
		for _, rule := range []mailbox.RetentionRule{
			{Mailbox: mc.Name, Direction: mailbox.In, Keep: r.IncomingBodies.Duration(), Roles: mailbox.BodyRoles},
			{Mailbox: mc.Name, Direction: mailbox.In, Keep: r.IncomingOriginals.Duration(), Roles: []mailbox.Role{mailbox.RoleOriginal}},
			{Mailbox: mc.Name, Direction: mailbox.Out, Keep: r.OutgoingBodies.Duration(), Roles: mailbox.BodyRoles},
		} {
			if rule.Keep > 0 {
				rules = append(rules, rule)
			}
		}
	}
	return rules
}

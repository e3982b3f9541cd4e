package config_test

import (
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestRetentionRulesFromConfig(t *testing.T) {
	day := config.Period(24 * time.Hour)
	cfg := &config.Config{Mailboxes: []config.MailboxConfig{
		{Name: "stadt", Retention: config.RetentionConfig{IncomingBodies: 90 * day, IncomingOriginals: 3650 * day, OutgoingBodies: 365 * day}},
		{Name: "kasse"},
		{Name: "amt", Retention: config.RetentionConfig{OutgoingBodies: 30 * day}},
	}}
	rules := cfg.RetentionRules()
	want := []mailbox.RetentionRule{
		{Mailbox: "stadt", Direction: mailbox.In, Keep: 90 * 24 * time.Hour, Roles: mailbox.BodyRoles},
		{Mailbox: "stadt", Direction: mailbox.In, Keep: 3650 * 24 * time.Hour, Roles: []mailbox.Role{mailbox.RoleOriginal}},
		{Mailbox: "stadt", Direction: mailbox.Out, Keep: 365 * 24 * time.Hour, Roles: mailbox.BodyRoles},
		{Mailbox: "amt", Direction: mailbox.Out, Keep: 30 * 24 * time.Hour, Roles: mailbox.BodyRoles},
	}
	if len(rules) != len(want) {
		t.Fatalf("rules %+v, want %+v", rules, want)
	}
	for i := range want {
		if rules[i].Mailbox != want[i].Mailbox || rules[i].Direction != want[i].Direction || rules[i].Keep != want[i].Keep || len(rules[i].Roles) != len(want[i].Roles) || rules[i].Roles[0] != want[i].Roles[0] {
			t.Errorf("rule %d: %+v, want %+v", i, rules[i], want[i])
		}
	}
}

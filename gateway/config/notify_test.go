package config

import (
	"strings"
	"testing"
	"time"
)

func TestNotifyConfigValidate(t *testing.T) {
	no := false
	smtp := func(f func(*SMTPConfig)) *SMTPConfig {
		s := &SMTPConfig{Host: "mail.stadt.example", From: "gateway@stadt.example", Username: "gw", Password: SecretRef{Env: "SMTP_PW"}}
		if f != nil {
			f(s)
		}
		return s
	}
	for _, tc := range []struct {
		name string
		nc   NotifyConfig
		want []string // every problem, reported at once
	}{
		{"smtp", NotifyConfig{BaseURL: "https://gateway.example/", SMTP: smtp(nil)}, nil},
		{"webhooks only", NotifyConfig{BaseURL: "https://gateway.example/", Webhooks: WebhookConfig{AllowedHosts: []string{"prod-00.westeurope.logic.azure.com"}}}, nil},
		{"nothing to tell by", NotifyConfig{BaseURL: "https://gateway.example/"}, []string{"needs smtp or webhooks"}},
		{"plain http base", NotifyConfig{BaseURL: "http://gateway.example/", SMTP: smtp(nil)}, []string{"notify.base_url"}},
		{"password without username", NotifyConfig{BaseURL: "https://g.example", SMTP: smtp(func(s *SMTPConfig) { s.Username = "" })}, []string{"notify.smtp.username"}},
		{"username without password", NotifyConfig{BaseURL: "https://g.example", SMTP: smtp(func(s *SMTPConfig) { s.Password = SecretRef{} })}, []string{"notify.smtp.password: is required"}},
		{"password in the clear", NotifyConfig{BaseURL: "https://g.example", SMTP: smtp(func(s *SMTPConfig) { s.RequireSTARTTLS = &no })}, []string{"require_starttls"}},
		{"all at once", NotifyConfig{BaseURL: "", EEBWarnBefore: -time.Hour, Webhooks: WebhookConfig{AllowedHosts: []string{"https://x.example/"}},
			SMTP: &SMTPConfig{Host: "mail:25", Port: 70000, From: "Gateway <gw@x.example>", Password: SecretRef{File: "a", Env: "B"}, Timeout: -1}},
			[]string{"notify.base_url", "notify.eeb_warn_before", "allowed_hosts[0]", "notify.smtp.host", "notify.smtp.port", "notify.smtp.from",
				"give file or env", "notify.smtp.username", "notify.smtp.timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p problems
			tc.nc.validate(&p)
			err := p.err()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if tc.nc.SMTP != nil && (tc.nc.SMTP.Port != DefaultSMTPPort || !tc.nc.SMTP.STARTTLSRequired()) {
					t.Fatalf("defaults not applied: %+v", tc.nc.SMTP)
				}
				if tc.nc.EEBWarnBefore != DefaultEEBWarnBefore {
					t.Fatalf("eeb_warn_before default: %s", tc.nc.EEBWarnBefore)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := len(Problems(err)); got != len(tc.want) {
				t.Errorf("%d problems, want %d: %v", got, len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in %v", w, err)
				}
			}
		})
	}
}

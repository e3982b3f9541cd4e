package config

import (
	"strings"
	"testing"
	"time"
)

func TestRegisterConfigValidate(t *testing.T) {
	mbs := map[string]bool{"vergabe": true}
	for _, tc := range []struct {
		name string
		rc   RegisterConfig
		want string
	}{
		{"defaults", RegisterConfig{Mailbox: "vergabe"}, ""},
		{"unknown mailbox", RegisterConfig{Mailbox: "x"}, "register.mailbox"},
		{"retention too short", RegisterConfig{Mailbox: "vergabe", Retention: 30 * 24 * time.Hour}, "register.retention"},
		{"interface without certificate", RegisterConfig{Mailbox: "vergabe", Interface: &RegisterInterfaceConfig{URL: "https://register.example/api"}}, "certificate.pkcs12"},
		{"interface plain http elsewhere", RegisterConfig{Mailbox: "vergabe", Interface: &RegisterInterfaceConfig{URL: "http://register.example/api"}}, "plain http"},
		{"simulator on loopback", RegisterConfig{Mailbox: "vergabe", Interface: &RegisterInterfaceConfig{URL: "http://127.0.0.1:9/"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p problems
			tc.rc.validate(&p, mbs)
			err := p.err()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if tc.rc.Retention == 0 {
				t.Fatal("no default retention")
			}
		})
	}
}

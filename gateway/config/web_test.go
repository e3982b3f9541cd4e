package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wc     WebConfig
		want   string
		secure bool
	}{
		{"defaults", WebConfig{Listen: "127.0.0.1:8441"}, "", false},
		{"https base url", WebConfig{Listen: "127.0.0.1:8441", BaseURL: "https://gateway.example/"}, "", true},
		{"own tls", WebConfig{Listen: ":8441", TLSCert: "c.pem", TLSKey: "k.pem"}, "", true},
		{"no listen", WebConfig{}, "web.listen", false},
		{"bad base url", WebConfig{Listen: ":8441", BaseURL: "ftp://x"}, "web.base_url", false},
		{"idle above ttl", WebConfig{Listen: ":8441", SessionTTL: time.Hour, IdleTimeout: 2 * time.Hour}, "idle_timeout", false},
		{"cert without key", WebConfig{Listen: ":8441", TLSCert: "c.pem"}, "web.tls_cert", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p problems
			tc.wc.validate(&p)
			err := p.err()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if tc.wc.Secure() != tc.secure {
				t.Fatalf("Secure() = %v, want %v", tc.wc.Secure(), tc.secure)
			}
			if tc.want == "" && (tc.wc.SessionTTL != DefaultSessionTTL || tc.wc.BaseURL == "") {
				t.Fatalf("defaults not filled in: %+v", tc.wc)
			}
		})
	}
	c := &Config{DataDir: "/var/lib/g"}
	if got := c.WebUsersPath(); got != "/var/lib/g/web/users.json" {
		t.Fatalf("users path %q", got)
	}
}

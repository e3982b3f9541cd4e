package config

import (
	"errors"
	"strings"
	"testing"
)

func validOIDC() OIDCConfig {
	return OIDCConfig{
		Issuer:        "https://login.microsoftonline.com/8c3f1b2e-0d4a-4f7e-9b1c-2a5d6e7f8a9b/v2.0",
		ClientID:      "gateway",
		ClientSecret:  SecretRef{Env: "OIDC_SECRET"},
		RedirectURL:   "https://gateway.example/anmeldung/oidc/callback",
		GroupMappings: []GroupMappingConfig{{Group: "0b6a3c1d-1111-4222-8333-944455566677", Roles: []string{"legal"}, Mailboxes: []string{"stadt"}}},
	}
}

func TestOIDCConfigValidate(t *testing.T) {
	mbs := map[string]bool{"stadt": true}
	for _, tc := range []struct {
		name   string
		change func(*OIDCConfig)
		want   []string // every key that must be named; none: valid
	}{
		{"valid with defaults", func(*OIDCConfig) {}, nil},
		{"keycloak group names", func(o *OIDCConfig) {
			o.Issuer = "https://sso.example/realms/stadt"
			o.GroupMappings = []GroupMappingConfig{{Group: "Rechtsamt", Roles: []string{"legal", "records"}, Mailboxes: []string{"stadt"}}}
		}, nil},
		{"local provider on loopback", func(o *OIDCConfig) {
			o.Issuer, o.RedirectURL = "http://127.0.0.1:9/", "http://localhost:8441/anmeldung/oidc/callback"
		}, nil},
		{"entra common endpoint", func(o *OIDCConfig) { o.Issuer = "https://login.microsoftonline.com/common/v2.0" }, []string{"web.oidc.issuer"}},
		{"entra organizations endpoint", func(o *OIDCConfig) { o.Issuer = "https://login.microsoftonline.com/organizations/v2.0" }, []string{"web.oidc.issuer"}},
		{"plain http issuer elsewhere", func(o *OIDCConfig) { o.Issuer = "http://sso.example/" }, []string{"web.oidc.issuer"}},
		{"secret twice", func(o *OIDCConfig) { o.ClientSecret.File = "/etc/secret" }, []string{"web.oidc.client_secret"}},
		{"graph needs object ids", func(o *OIDCConfig) {
			o.GroupOverage = "graph"
			o.GroupMappings[0].Group = "Rechtsamt"
		}, []string{"web.oidc.group_mappings[0].group"}},
		{"graph with object ids", func(o *OIDCConfig) { o.GroupOverage = "graph" }, nil},
		{"every mailbox", func(o *OIDCConfig) { o.GroupMappings[0].Mailboxes = []string{"*"} }, nil},
		{"callback elsewhere", func(o *OIDCConfig) { o.RedirectURL = "https://gateway.example/callback" }, []string{"web.oidc.redirect_url"}},
		{"everything wrong at once", func(o *OIDCConfig) {
			o.Issuer, o.ClientID, o.ClientSecret, o.RedirectURL = "", "", SecretRef{}, "ftp://x"
			o.Scopes = []string{"profile"}
			o.GroupOverage = "ignore"
			o.GroupMappings = append(o.GroupMappings,
				GroupMappingConfig{Group: "0B6A3C1D-1111-4222-8333-944455566677", Roles: []string{"legal"}},
				GroupMappingConfig{Roles: []string{"judge"}, Mailboxes: []string{"nowhere"}},
				GroupMappingConfig{Group: "x"})
		}, []string{
			"web.oidc.issuer", "web.oidc.client_id", "web.oidc.client_secret", "web.oidc.redirect_url",
			"web.oidc.scopes", "web.oidc.group_overage", "web.oidc.group_mappings[1].group",
			"web.oidc.group_mappings[2].group", "web.oidc.group_mappings[2].roles[0]",
			"web.oidc.group_mappings[2].mailboxes[0]", "web.oidc.group_mappings[3].roles",
		}},
		{"no mappings", func(o *OIDCConfig) { o.GroupMappings = nil }, []string{"web.oidc.group_mappings"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOIDC()
			tc.change(&o)
			var p problems
			o.validate(&p, "web.oidc", mbs)
			err := p.err()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid configuration refused: %v", err)
				}
				if o.GroupOverage == "" || len(o.Scopes) == 0 || o.GraphURL == "" {
					t.Fatalf("defaults not applied: %+v", o)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
			keys := map[string]bool{}
			for _, pr := range Problems(err) {
				keys[pr.Key] = true
			}
			for _, k := range tc.want {
				if !keys[k] {
					t.Errorf("no problem at %s in:\n%v", k, err)
				}
			}
			if len(keys) != len(tc.want) {
				t.Errorf("problems at %d keys, want %d:\n%v", len(keys), len(tc.want), strings.TrimSpace(err.Error()))
			}
		})
	}
}

func TestOIDCConfigSecretFileRelativeToConfig(t *testing.T) {
	o := OIDCConfig{ClientSecret: SecretRef{File: "secrets/oidc"}}
	o.resolvePaths(func(p *string) {
		if *p != "" {
			*p = "/etc/bebpo-gateway/" + *p
		}
	})
	if o.ClientSecret.File != "/etc/bebpo-gateway/secrets/oidc" {
		t.Fatalf("client secret file %q", o.ClientSecret.File)
	}
}

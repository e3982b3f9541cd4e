package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// OIDCConfig is `web.oidc:`: log-in to the web application through an
// OpenID Connect provider (Microsoft Entra ID, Keycloak, ...) with the
// authorization code flow and PKCE (gateway/web/oidclogin). Directory
// groups decide who may log in and with which roles and mailboxes; a user
// in no mapped group cannot log in.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL; its discovery document is read
	// from Issuer + "/.well-known/openid-configuration" and must name the
	// same issuer. For Entra ID it is tenant-specific:
	// https://login.microsoftonline.com/<tenant-id>/v2.0 (the common,
	// organizations and consumers endpoints are refused: they would
	// accept accounts of any tenant).
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecret is the application's client secret, from a file or
	// an environment variable.
	ClientSecret SecretRef `yaml:"client_secret"`
	// RedirectURL is this application's callback as registered at the
	// provider: the web application's address and OIDCCallbackPath
	// (https://gateway.example/anmeldung/oidc/callback).
	RedirectURL string `yaml:"redirect_url"`
	// Scopes requested (default openid, profile, email); openid is
	// required. With group_overage: graph, add User.Read.
	Scopes []string `yaml:"scopes"`
	// GroupOverage says what happens when the ID token carries no groups
	// because the user is in more groups than fit (Entra ID: more than
	// 200; the token then names a source in _claim_names instead):
	// "refuse" (default) refuses the log-in with a message naming the
	// cause; "graph" asks Microsoft Graph (me/checkMemberGroups, with the
	// log-in's access token, which needs the User.Read scope) which of the
	// mapped groups the user is in. The better remedy is on the provider's
	// side: emit only the groups assigned to the application.
	GroupOverage string `yaml:"group_overage"`
	// GraphURL is Microsoft Graph's base URL (default
	// https://graph.microsoft.com), used only with group_overage: graph.
	GraphURL string `yaml:"graph_url"`
	// GroupMappings map a directory group (the value in the token's
	// groups claim: an object id for Entra ID, a name elsewhere; compared
	// ignoring case) to roles and mailboxes ("*": every mailbox). A user
	// in several mapped groups gets the union.
	GroupMappings []GroupMappingConfig `yaml:"group_mappings"`
}

// GroupMappingConfig grants the members of one directory group roles,
// scoped to mailboxes.
type GroupMappingConfig struct {
	Group     string   `yaml:"group"`
	Roles     []string `yaml:"roles"`
	Mailboxes []string `yaml:"mailboxes"`
}

// OIDC group overage modes.
const (
	GroupOverageRefuse = "refuse"
	GroupOverageGraph  = "graph"
)

// OIDCCallbackPath is where the web application serves the provider's
// redirect back; redirect_url must end in it.
const OIDCCallbackPath = "/anmeldung/oidc/callback"

// DefaultGraphURL is OIDCConfig.GraphURL's default.
const DefaultGraphURL = "https://graph.microsoft.com"

// DefaultOIDCScopes are OIDCConfig.Scopes' default.
var DefaultOIDCScopes = []string{"openid", "profile", "email"}

// WebRoles are the roles a web user (and a group mapping) may hold.
var WebRoles = []string{"legal", "procurement", "records", "admin"}

// objectIDPattern is an Entra ID object id (a GUID).
var objectIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (o *OIDCConfig) applyDefaults() {
	if len(o.Scopes) == 0 {
		o.Scopes = slices.Clone(DefaultOIDCScopes)
	}
	if o.GroupOverage == "" {
		o.GroupOverage = GroupOverageRefuse
	}
	if o.GraphURL == "" {
		o.GraphURL = DefaultGraphURL
	}
}

func (o *OIDCConfig) resolvePaths(abs func(*string)) {
	abs(&o.ClientSecret.File)
}

// validate adds every problem of the section under key ("web.oidc");
// mailboxes are the configured mailbox names.
func (o *OIDCConfig) validate(p *problems, key string, mailboxes map[string]bool) {
	o.applyDefaults()
	checkURL(p, key+".issuer", o.Issuer, false)
	if u, err := url.Parse(o.Issuer); err == nil && strings.EqualFold(u.Hostname(), "login.microsoftonline.com") {
		switch strings.ToLower(strings.Split(strings.Trim(u.Path, "/"), "/")[0]) {
		case "", "common", "organizations", "consumers":
			p.add(key+".issuer", "must name the Entra ID tenant (https://login.microsoftonline.com/<tenant-id>/v2.0), not %q: the multi-tenant endpoints accept accounts of any tenant", o.Issuer)
		}
	}
	if o.ClientID == "" {
		p.add(key+".client_id", "is required")
	}
	switch s := o.ClientSecret; {
	case s.File == "" && s.Env == "":
		p.add(key+".client_secret", "is required: a file or env holding the application's client secret")
	case s.File != "" && s.Env != "":
		p.add(key+".client_secret", "give the secret either as a file or as an environment variable, not both")
	}
	checkURL(p, key+".redirect_url", o.RedirectURL, false)
	if u, err := url.Parse(o.RedirectURL); err == nil && o.RedirectURL != "" && !strings.HasSuffix(u.Path, OIDCCallbackPath) {
		p.add(key+".redirect_url", "must end in %s, where the web application receives the log-in, not %q", OIDCCallbackPath, o.RedirectURL)
	}
	if !slices.Contains(o.Scopes, "openid") {
		p.add(key+".scopes", "must include openid, not %q", o.Scopes)
	}
	switch o.GroupOverage {
	case GroupOverageRefuse:
	case GroupOverageGraph:
		checkURL(p, key+".graph_url", o.GraphURL, false)
	default:
		p.add(key+".group_overage", "must be refuse or graph, not %q", o.GroupOverage)
	}
	if len(o.GroupMappings) == 0 {
		p.add(key+".group_mappings", "at least one mapping is required: a user in no mapped group cannot log in")
	}
	seen := map[string]bool{}
	for i, m := range o.GroupMappings {
		mk := fmt.Sprintf("%s.group_mappings[%d]", key, i)
		switch g := strings.ToLower(m.Group); {
		case g == "":
			p.add(mk+".group", "is required")
		case seen[g]:
			p.add(mk+".group", "%q is mapped twice", m.Group)
		case o.GroupOverage == GroupOverageGraph && !objectIDPattern.MatchString(g):
			p.add(mk+".group", "must be a group's object id with group_overage: graph, not %q", m.Group)
		}
		seen[strings.ToLower(m.Group)] = true
		if len(m.Roles) == 0 {
			p.add(mk+".roles", "at least one role is required (%s)", strings.Join(WebRoles, ", "))
		}
		for j, r := range m.Roles {
			if !slices.Contains(WebRoles, r) {
				p.add(fmt.Sprintf("%s.roles[%d]", mk, j), "must be one of %s, not %q", strings.Join(WebRoles, ", "), r)
			}
		}
		for j, mb := range m.Mailboxes {
			if mb != "*" && !mailboxes[mb] {
				p.add(fmt.Sprintf("%s.mailboxes[%d]", mk, j), "names no mailbox %q", mb)
			}
		}
	}
}

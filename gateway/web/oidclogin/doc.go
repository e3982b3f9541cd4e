// Package oidclogin logs people into the web application through an
// OpenID Connect provider: Microsoft Entra ID for a site with Active
// Directory, or any other provider (Keycloak, ...). It implements the
// authorization code flow (OpenID Connect Core 1.0, 3.1) with PKCE
// (RFC 7636, S256 only) on github.com/coreos/go-oidc and
// golang.org/x/oauth2, and maps directory groups to the web
// application's roles and mailbox scopes (web.oidc.group_mappings).
//
// Guarantee: a session is started only for a user whose ID token
//   - came from the token endpoint in exchange for the code of a log-in
//     this process started, with the PKCE verifier only it knew;
//   - carries the state and nonce bound to that log-in: both, with the
//     verifier, travel in a log-in cookie signed with HMAC-SHA256
//     (HttpOnly, SameSite=Lax, Secure when redirect_url is https, valid
//     for LoginTTL); the cookie is spent on the callback whatever the
//     outcome, and a state is accepted once (remembered until its
//     cookie expires);
//   - was signed by a key of the provider's JWKS with an algorithm its
//     discovery document names, is issued by the configured issuer (the
//     discovery document must name the same one), is for our client id
//     (and, with several audiences, authorized to it by azp), has not
//     expired by the injected clock, and carries the log-in's nonce;
//   - names a user (preferred_username, else email, lower-cased, of
//     [a-z0-9._@-]) in at least one mapped group: the user gets the
//     union of those groups' roles and mailboxes.
//
// Entra ID: the issuer must be tenant-specific
// (https://login.microsoftonline.com/<tenant-id>/v2.0); the groups claim
// holds group object ids (the app registration's "groups" optional claim,
// preferably "groups assigned to the application"); preferred_username
// is the UPN, email is read when present, name is the display name. When
// a user is in more groups than a token can carry (more than 200), Entra
// ID leaves the groups out and names a source in _claim_names instead
// ("group overage"): the log-in is refused with ErrGroupOverage and a
// German message that names the cause, unless group_overage: graph asks
// Microsoft Graph (me/checkMemberGroups with the log-in's access token;
// scope User.Read) which of the mapped groups the user is in.
//
// Failure: every refusal wraps exactly one sentinel (ErrLoginCookie,
// ErrState, ErrStateReplayed, ErrDenied, ErrIssuer, ErrAudience,
// ErrExpired, ErrSignature, ErrNonce, ErrIDToken, ErrGroupOverage,
// ErrNoUsername, ErrNotAuthorized, ErrProvider, ErrBusy, ErrSession);
// Temporary tells the ones where trying again later may help. The person
// at the browser gets a German page (Message) and no session; the log
// gets one line per log-in with the reason or the granted roles, never
// the person's name, e-mail or ids (the session layer journals who
// logged in). The provider is discovered at the first log-in, not at
// start, and again after a failed discovery, so the web application
// runs while the provider is away. Logging out is the session layer's;
// the provider's own session is left as it is.
package oidclogin

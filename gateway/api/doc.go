// Package api is the gateway's admin HTTP API: submissions (multipart,
// streamed into the submission path), message listing, documents,
// operator actions, the address book, status, health, readiness and
// Prometheus metrics. It holds no business rule: validation is the
// submit and addressbook packages', state changes the store's.
//
// Guarantees: every route but /healthz, /readyz and /metrics needs a
// bearer token or a verified client certificate, and every such request
// is journaled with its principal and outcome (never bodies or tokens,
// paths cut at 256 bytes); requests refused for missing or invalid
// credentials are counted and journaled as one summary a minute, so what
// an unauthenticated caller can make the gateway store is bounded;
// every refusal is problem+json naming the field; an error that is not
// the caller's is answered 500 without internals and logged; a download
// is re-hashed while it is sent and cut off if the stored file no longer
// matches. The Client in this package is how the CLI talks to it.
//
// How it fails: a refusal of the request (credentials, role, scope, a
// field) is answered 4xx with problem+json and changes nothing; an error
// of the store or a service behind it is answered 500 without internals
// and logged with its path; an audit entry that cannot be journaled is
// logged as an error and the answer stands. The Client returns an error
// answer as *Error, carrying its status, its problem and a 503's
// Retry-After.
package api

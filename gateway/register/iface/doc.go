// Package iface is the register.Adapter for the Wettbewerbsregister's
// official interface (amtliche Schnittstelle): an HTTPS client that
// authenticates with the authority's software certificate (PKCS#12, read
// through certs), retries with go-retryablehttp what provably did not
// arrive or what the server asks to repeat (429, 503), and maps every
// outcome to the register.Adapter contract: a refusal is
// register.ErrRefused (permanent), everything else temporary. The wire
// format is not published; every assumption about it is in wire.go.
// FromConfig builds the client from the configuration's
// register.interface section, failing with config.ErrConfig or
// config.ErrKeyMaterial naming the key.
//
// Redaction: no error or log line carries a request or response body or
// the company data (they are personal data); URLs are shown redacted.
package iface

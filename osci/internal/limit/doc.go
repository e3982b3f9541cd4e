// Package limit is where osci/xmlsec and the osci package itself still
// reach the module's limit rule, internal/limit (a zero or negative limit
// takes its default); it adds nothing and fails as internal/limit.Fill
// does. The other osci packages import internal/limit directly.
//
// Deprecated: import internal/limit.
package limit

// Package limit is where osci/xmlsec and the osci package itself reach the
// module's limit rule, internal/limit (a zero or negative limit takes its
// default); it adds nothing and fails as internal/limit.Fill does. The
// other osci packages import internal/limit directly; once these two do,
// this package goes.
package limit

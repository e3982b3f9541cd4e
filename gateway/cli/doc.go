// Package cli is the bebpo-gateway command line: one ordered table of
// commands (table.go), each a function that returns an error, and one
// function (exitCode) that maps the outcome to the exit status: 0 done, 1
// the command ran and the answer is "no" (a check failed, the gateway
// refused), 2 the command line, the configuration or the key material is
// wrong. Every command has --help; operators read English, machines get
// JSON with --json, and times are RFC 3339 with their offset.
//
// How it fails: a command never exits on its own; it returns its error
// and Main prints it once on standard error (a usage error with the
// pointer to --help) and exits with the status exitCode gives it.
package cli

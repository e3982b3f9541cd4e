// Package configcheck is the configuration check behind `check-config`,
// the daemon's start and its reload (SIGHUP): one rule, run in the same
// way by all three, so a configuration check-config passes is one the
// daemon accepts.
//
// Guarantees: Check reads the file and everything it names (keys,
// certificates, secrets, the address book, the folders the gateway writes
// to) and reports every finding at once, each with its key and the line
// of the file that sets it; it changes nothing and writes no file (a
// folder's writability is asked of the kernel, access(2)). A certificate
// that expired or expires within ExpiryWarning is a warning; so is an
// intermediary's pinned certificate that does not serve its purpose,
// since it concerns only the messages to that intermediary. With
// Options.Online every intermediary is asked for a message id with a
// mailbox's own keys, which proves the pins and the keys work together.
//
// How it fails: Check itself does not fail; Report.Err joins the error
// findings, each a *config.Problem matching config.ErrConfig or
// config.ErrKeyMaterial, and the daemon refuses to start or reload on
// any. An intermediary that does not answer the online check is an error
// finding that matches neither (the configuration may be right and the
// network down).
package configcheck

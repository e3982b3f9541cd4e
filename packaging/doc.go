// Command packaging builds the Debian package of bebpo-gateway with nfpm:
// the binary, the systemd unit, the annotated example configuration (a
// conffile: an upgrade never overwrites the operator's), the manual pages
// and the bash completion generated from the command table, the service
// user (sysusers.d) and its intake and outgoing folders (tmpfiles.d).
//
// It is its own Go module, so that the packaging library and its
// dependencies never enter the gateway's build. `make deb` runs it:
//
//	go run . --bin ../bin/bebpo-gateway --version 1.2.3 --out ../bin
//
// The package is reproducible: every file carries SOURCE_DATE_EPOCH (or
// the time given with --mtime) and the same inputs give the same bytes.
// It fails, writing nothing under --out, when an input is missing.
package main

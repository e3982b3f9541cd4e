// Package gateway is the bebpo-gateway daemon: it wires the packages
// below into one long-running process and owns its lifecycle (NewDaemon,
// Run, Reload, drain). It holds no business rule of its own.
//
// # Wiring
//
// Outgoing: the admin API (package api), the outgoing folder (outfolder)
// and the CLI through the API hand submissions to the one submission path
// (submit), which stores them durably in the mailbox store; the send
// engine (mailbox.Sender) claims them and sends them through each
// mailbox's OSCI bridge (osciendpoint) to its intermediary.
//
// Incoming: one fetch loop per mailbox runs a fetch dialog through the
// bridge (verify, decrypt), the fetch engine (mailbox.Fetcher) stores each
// delivery before it is acknowledged, and the intake engine
// (mailbox.Deliverer) hands it to the eAkte intake the mailbox names.
//
// Configuration (config) is one generation (runtimeConfig) of keys, trust,
// endpoints and sinks: SIGHUP builds a new generation beside the running
// one, validates everything and swaps it in between worker rounds; a
// refused reload changes nothing, and settings that need a restart
// (data_dir, api, log, address_book, the set of mailboxes) are reported
// and the rest applied. SIGTERM stops claiming work, waits for in-flight
// rounds within the drain timeout and exits; a second signal exits at
// once. One process per data directory (flock on gateway.lock). Start and
// reload first run configcheck.Check, the checks of `check-config`,
// and refuse with every problem it finds, each with its key and line.
// Under systemd (NOTIFY_SOCKET) Run reports READY=1 once the API serves,
// RELOADING=1 and READY=1 around a reload, STOPPING=1 before the drain,
// and feeds the watchdog from its loop (systemd.go).
//
// Every business event (accepted, sent, confirmed, failed and why,
// received, quarantined and why, delivered, operator actions) gets one
// structured log line, read from the journal (internal/eventlog), so a line is
// written exactly for the changes that committed; the log carries ids,
// mailboxes, states and reason codes, never subjects or names.
//
// # How it fails
//
// A configuration or key problem at start is ErrConfig or ErrKeyMaterial
// (package config) before any mailbox or the store is touched. A store
// I/O error ends the process after a drain; recovery on the next start
// continues from the last commit (package mailbox states what is durable
// when). Everything else a round meets is logged and retried by the
// engines' policies.
package gateway

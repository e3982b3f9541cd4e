// Package eventlog writes the gateway's business events to the log, one
// structured line each: a message accepted for sending, sent, confirmed,
// failed for good and why, received, quarantined and why, delivered, and
// every operator action (Follower, read from the mailbox journal); a
// fetched delivery that needs attention (FetchNotice); and one of our
// certificates near or past its end (CertificateExpiry).
//
// Guarantees: Follower reads the journal, where every state change is
// recorded in the same transaction as the change, so a line is written
// exactly for the changes that committed, however they were made (an
// engine, the API, the CLI on the data directory); what the journal held
// before Start is not logged again. A message that needs an operator gets
// exactly one warning line with its id and reason code. The lines carry
// ids, mailboxes, states and reason codes (the keys of
// gateway/internal/logging), never subjects, names, free texts or a
// certificate's subject.
//
// How it fails: Start and Round return the store's errors and log
// nothing for the entries they could not read; the next Round continues
// after the last entry logged. A message that cannot be read for its
// mailbox still gets its line, without the mailbox.
package eventlog

// Package register is the procurement office's Wettbewerbsregister
// workflow: before an award of 30,000 EUR net or more (§6 WRegG; sector
// authorities and concessions from the EU thresholds, a dated table with
// its legal sources in thresholds.go) the federal competition register is
// queried about the bidder intended for the award, once per member of a
// consortium (§5 Abs. 1 Satz 2 WRegV); an answer younger than two months
// about the same company may be reused (§6 Abs. 1 Satz 5 WRegG, counted
// by §§187, 188 BGB, confirmed by a clerk); an answer with entries needs
// an assessment (§§123–125 GWB) by a named person before the gate opens.
//
// Channels: portal mode (the clerk queries in the web portal from the
// query sheet this package makes, then hands the answer over) and
// interface mode (an Adapter for the official interface, whose format is
// not published: register/iface keeps every assumption in one file;
// register/registersim simulates the same contract). The registration
// form (§2 WRegV) goes to the Bundeskartellamt through gateway/submit.
//
// Guarantees. Every change commits durably in the Store, with its journal
// entry (hash-chained, mailbox.Seal) in the same transaction, before a
// method returns nil: the query log says who queried what, when, for
// which procedure, with the §5 Abs. 2 WRegV confirmation. Every answer and
// query sheet is queued for the eAkte intake in the transaction that
// stored it, and the Filer hands it to a mailbox.Intake sink until the
// sink confirms it (retried forever; the sink is idempotent on the
// MessageId, so nothing is filed twice). An interface query is submitted
// under an idempotency key: an outage is retried (Poller.Policy) without
// a second query, and a pending query is polled until its answer comes;
// a refusal by the register is permanent and journaled. Answers are
// personal data about offences: their content and the reasoning of an
// assessment never enter a log line or the journal (only hashes, ids and
// outcomes), and Retain deletes an answer's document once it is older than
// Limits.Retention and filed, journaling the deletion. Failures: refusals
// wrap ErrInvalid (or ErrConfirmation, ErrTooLarge); unknown things
// ErrNotFound; a worker whose lease was taken over gets ErrLeaseLost and
// changes nothing; store errors pass through (mailbox.ErrDiskFull, the
// store's fatal I/O error).
package register

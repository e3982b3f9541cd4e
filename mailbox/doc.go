// Package mailbox keeps the gateway's promise that no court document is
// lost or handed on twice: the durable store of outgoing and incoming
// messages, the send and fetch engines that move them, the eAkte intake
// (elektronische Akte) they end in, and the hash-chained audit journal.
//
// # When a message is durable
//
// Outgoing: Submit streams every document into the content-addressed blob
// store (temp file → fsync → rename → fsync directory), then commits the
// row in StateQueued (SQLite: WAL, synchronous=FULL). Only when Submit
// returns nil may the submitter be told "accepted". Incoming: the fetch
// engine commits the original OSCI message and every document as blobs,
// then the row in StateReceived, and only then makes the next request in
// the dialog, which the intermediary takes as the acknowledgement
// (Laufzettel: Reception). A row never refers to a blob that is not
// durable. Every state change and its journal entry commit in one
// transaction.
//
// # Reception in the intake
//
// The next request after a stored delivery is its receipt
// (Session.Receipt: fetchProcessCard for that MessageId in the same
// dialog). It acknowledges the delivery, and the card the intermediary
// answers with carries Reception, which UpdateProcessCard stores. The row
// is inserted held from the intake (NewIncoming.NotBefore, ReceiptWait
// ahead) and released by that update, so metadata.json, metadata.xml and
// the Prüfprotokoll show Creation, Forwarding and Reception. A receipt
// that fails loses and doubles nothing: the failure is journaled
// ("receipt_failed"), the row is released without Reception, and a receipt
// error that broke the dialog abandons it. If the order reached the
// intermediary but its answer did not come back, the delivery counts as
// received there and is not handed out again, so the entry stays without
// Reception; a later fetchProcessCard could fill the stored card in, but
// an intake entry once written is not rewritten. A process that stops
// between storing and the receipt leaves the row held until ReceiptWait
// runs out; the intermediary hands the unacknowledged delivery out again,
// and that duplicate's receipt completes the card.
//
// # How failures are handled
//
// The engines ask one helper, Classify, about every failed call:
//   - Temporary (the peer says retrying may help): retried with the
//     RetryPolicy — DefaultSendPolicy waits 1, 2, 4 … minutes, at most 30,
//     with equal jitter, for up to 48 hours from queueing, then parks the
//     message as failed. After storeDelivery even a temporary failure is
//     resolved through the process card before the next send (below).
//   - Permanent (the intermediary refused it, e.g. 9601 bad signature):
//     parked at once as failed with the intermediary's code and text.
//   - Ambiguous (timeout, reset or any unclassified error after the request
//     may have arrived), and any non-permanent storeDelivery failure: the
//     message stays in StateSending and the next attempt first fetches the
//     process card of its MessageId. A card means it was accepted (→ sent);
//     "no card" (9804) means it was not, and it is sent again under the
//     same MessageId, which the intermediary would refuse (9801) had it
//     been used; such a 9801 keeps the message asking rather than parking
//     it. Ambiguous messages are never parked, only asked about at the
//     longest interval.
//
// A failed eAkte hand-over is retried forever (DefaultIntakePolicy: 10 s,
// doubling, at most every 10 minutes); a received document is never given
// up. A failed fetch dialog is not retried by the Fetcher: the caller runs
// FetchMailbox again at its poll interval, and the intermediary keeps every
// delivery not acknowledged.
//
// The MessageId from getMessageId is committed (StateIDAssigned) before
// storeDelivery is sent, and StateSending is committed before the request
// leaves. A disk-full condition returns ErrDiskFull to whoever submitted or
// fetched (the fetch dialog is then abandoned without a further request, so
// nothing unsaved is acknowledged); the engines pick up again when space
// returns, without a restart. Any write or fsync error fails the operation;
// nothing is reported durable that was not. A blob write that failed is
// discarded whole and a later try writes a fresh file, so a failed fsync is
// never "retried" into success; a database I/O error (sqlite.ErrIO) should
// end the process, and recovery on restart continues from the last commit.
//
// # What recovery does with each state
//
// Work is claimed with leases (ClaimDue); a crashed worker's lease expires
// and the message is claimed again with a new fencing token, so the old
// worker can change nothing. Before storeDelivery and before an intake
// hand-over the worker renews its lease (a fenced write, so a worker whose
// lease was taken over never sends), and keeps renewing it while the
// request runs. RecoverExpired journals the expired leases.
//   - queued: getMessageId is asked again (an unused MessageId is harmless).
//   - id_assigned: storeDelivery was never sent; it is sent with the stored id.
//   - sending: outcome unknown; resolved through the process card as above.
//   - sent: the Laufzettel is polled until Reception (→ confirmed), for at
//     most 14 days; then the message stays sent.
//   - received: classified again from the stored verification report
//     (once its receipt hold has ended, see above).
//   - intake_pending: handed to the intake again; sinks are idempotent.
//   - failed, quarantined, confirmed, delivered, held, deleted: left alone
//     until an operator acts (hold, release, requeue, delete). Deleted rows
//     stay as tombstones so a MessageId is never reused; their blobs are
//     not yet garbage-collected.
//
// Temporary files of interrupted blob writes are removed by OpenBlobs, and
// unfinished intake entries by NewFolderIntake.
//
// # Incoming messages
//
// Received → quarantined | intake_pending → delivered. The verdict is the
// verifier's (VerificationReport.Verdict, copied by the bridge); the
// mailbox never recomputes it, and a report without one (stored before
// verdicts were stored) counts as indeterminate. A delivery whose verdict
// is invalid, or whose stored metadata is unreadable, is stored and
// quarantined with the verifier's reason code and German text (e.g.
// sender_identity_mismatch), never dropped; an operator requeue sends it
// to the intake after inspection. The intake shows the sender in two
// parts that are never mixed: sender.confirmed (only from verified
// certificates) and sender.claimed (the business card, "Angaben des
// Absenders (nicht bestätigt)"), and each document's signed status. Deduplication uses the MessageId and IncomingDigest, the
// hash of the decrypted documents (stable when the intermediary hands a
// delivery out again with fresh transport encryption): the same MessageId
// in a mailbox is stored once (ErrDuplicate; with other documents
// ErrDuplicateConflict, journaled, the second original kept as a blob); a
// different MessageId with documents already stored is kept and
// quarantined as duplicate_content, so a sender's blind resend never
// reaches the eAkte twice without a person deciding.
//
// # Folder intake completeness contract
//
// See FolderIntake: a directory below the intake root whose name does not
// start with "." is complete, holds manifest.sha256 (written last) with the
// SHA-256 of every other file, and was renamed into place only after every
// file and directory was fsync'd. Its name derives from the MessageId, so a
// repeated hand-over finds, verifies and reports the existing entry.
//
// # Journal
//
// The journal is append-only; each entry carries the SHA-256 of the
// previous entry's canonical encoding (GenesisHash for the first).
// VerifyJournal names the first broken entry. Cutting entries off the end
// is detected only against a head hash kept elsewhere
// (`bebpo-gateway journal verify` prints it).
package mailbox

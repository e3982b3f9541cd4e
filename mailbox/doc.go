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
// engine commits the original OSCI message and every document as blobs
// (a finished spool file on the folder store's file system is linked in
// instead of copied, and fsync'd, renamed and its directory fsync'd all
// the same: BlobLinker), then the row in StateReceived, and only then makes the next request in
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
// A session that is a ReceiptBatcher gets one receipt order for all the
// deliveries of a dialog instead: each is acknowledged by the fetch that
// follows it, and their cards come with one fetchProcessCard selecting
// their MessageIds at the end of the dialog (on the way, once the first
// has waited a quarter second); the rows stay held until then. If the
// dialog breaks before, their receipts are asked for in a dialog of their
// own; failing that, they are released without Reception and journaled
// as above.
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
// delivery not acknowledged. The caller runs the next dialog at once only
// when FetchResult.More says so: the dialog stored new deliveries and left
// others beyond its Limit. One that met only known deliveries waits for
// the poll interval, so a fetch loop never spins on them.
//
// A delivery that keeps failing never stops its mailbox (see "Poison
// deliveries" below).
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
// hand-over the worker makes a fenced write (so a worker whose lease was
// taken over never sends): its step to sending or intake_pending when it
// just made one with most of the lease left, else a renewal of the
// lease; and it keeps renewing it while the request runs.
// RecoverExpired journals the expired leases.
//   - queued: getMessageId is asked again (an unused MessageId is harmless).
//   - id_assigned: storeDelivery was never sent; it is sent with the stored id.
//   - sending: outcome unknown; resolved through the process card as above.
//   - sent: the Laufzettel is polled until Reception (→ confirmed), for at
//     most 14 days; then the message stays sent.
//   - received: classified again from the stored verification report
//     (once its receipt hold has ended, see above).
//   - intake_pending: handed to the intake again; sinks are idempotent.
//   - failed, quarantined, confirmed, delivered, held, deleted: left alone
//     until an operator acts (hold, release, requeue, delete; a parked
//     delivery also Reprocess). Deleted rows
//     stay as tombstones so a MessageId is never reused; their blobs are
//     not yet garbage-collected.
//
// Blobs are kept by a BlobStore: the folder Blobs here, PostgreSQL
// (mailbox/pgblobs) or an S3-compatible object store (mailbox/s3blobs),
// all held to one contract by the conformance suite mailbox/blobtest;
// docs/scale.md says which to use at what size. Path, ReadBlobs and the
// backup are the folder's alone.
//
// Temporary files of interrupted blob writes are removed by OpenBlobs,
// blob files a garbage collection had moved aside are put back by it, and
// unfinished intake entries are removed by NewFolderIntake.
//
// # Retention
//
// Retention (per mailbox and direction) removes the documents of messages
// that reached their end, delivered or confirmed, a configured time ago:
// by default the bodies (BodyRoles); the original OSCI message is the
// evidence of what arrived and goes only when a rule names it. Store.Purge
// marks the document rows (Document.PurgedAt), journals one "purged"
// entry per message and puts each blob that no unpurged document refers
// to on a garbage list, in one transaction; message rows, process cards,
// intake records and the journal stay. CollectGarbage then removes those
// files, journaled as "blobs_removed". Blobs are shared by content, so a
// file is removed only if it was last written before a grace period
// (DefaultRetentionGrace, longer than any submission between its blob and
// its row) and if, once moved aside into purge/, no kept document refers
// to it; otherwise it is put back. A stop anywhere loses nothing kept: a
// blob stays on the garbage list until its file is gone, and OpenBlobs
// puts back a file left aside. A backup holds the collection lock
// (Blobs.LockCollection) while it copies, and no file is removed then.
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
// Absenders (nicht bestätigt)"), each document's signed status and what
// covers it (a content signature, or the sender's transport signature),
// and the verifier's notes (what is unusual but no failure, e.g. content
// not end-to-end encrypted), which never change the verdict. Signatures on
// the documents themselves (SignatureKindDocument: a detached .p7s, one
// inside a PDF) are listed with the others, each with its own result, and
// their worst result (DocumentVerdict) stands beside the verdict and, per
// document, in the metadata; whether one changes the verdict is the
// verifier's policy, never the mailbox's.
//
// Deduplication is by (mailbox, MessageId) among incoming messages and by
// nothing else. The same MessageId handed out again is stored once
// (ErrDuplicate, counted in FetchResult.Duplicates); with other documents
// (IncomingDigest, the hash of the decrypted documents, stable when the
// intermediary hands a delivery out again with fresh transport encryption)
// it is ErrDuplicateConflict, journaled, the second original kept as a
// blob. An outgoing message under the same MessageId is another message: a
// mailbox that sends to its own SAFE-ID receives the message like any
// other.
//
// A new MessageId is a new message, also when its documents equal those of
// an earlier one (a form letter sent in ten cases, or a third party copying
// a document to suppress the real delivery): it is stored and delivered
// like any other, never held, and flagged with the MessageId of the
// earliest incoming message with those documents (Message.SameContentAs,
// "sameContentAs" in metadata.json, GleicherInhaltWie in metadata.xml, a
// note in the Prüfprotokoll, "same_content_as" in the journal). The fetch
// result counts it in SameContent and lists it in Notices, for one log
// line. Rows an earlier version quarantined as "duplicate_content" stay
// quarantined until an operator requeues them to the intake.
//
// # Poison deliveries
//
// Every read of a delivery is counted in the store (BeginFetch, per
// mailbox and MessageId) before it starts, so a read that stops the
// process counts as well. A read that received nothing usable (a transport
// failure, a response cut short) or failed on our side (a full disk) is
// taken back: it is a normal retry however often it happens, and never
// parks anything. A delivery that arrived completely but cannot be read
// (Session.FetchDelivery returns an *UnreadableError with the response as
// received) is journaled ("fetch_unreadable") and the dialog abandoned, so
// nothing is acknowledged; at its Fetcher.MaxAttempts-th read (default 3)
// it is parked instead: its original is stored as a blob, the row in
// StateQuarantined with LastErrorCode "unreadable" and the reason as
// LastErrorText (and as a problem in the Prüfprotokoll), acknowledged like
// any stored delivery, and the dialog goes on with the next one. When
// MaxAttempts reads ended without any outcome (the process stopped each
// time), the delivery is no longer read: a session that is an
// OriginalFetcher fetches it unread and it is parked; otherwise it is
// skipped, left unacknowledged at the intermediary, until an operator
// clears its count (EndFetch with Clear). FetchResult counts Parked and
// Skipped and lists each in Notices, for one log line and a metric; the
// parked row shows in every listing of quarantined messages. An operator
// retries a parked delivery with Reprocess (the stored original handed to
// the bridge's Reprocessor: read, the message goes on like a fresh
// delivery, verification first; still unreadable, it stays parked with
// the new reason) or releases it unread with OpRequeue (the intake
// receives the original and the reason).
//
// # Folder intake completeness contract
//
// See FolderIntake: a directory below the intake root whose name does not
// start with "." is complete, holds manifest.sha256 (written last) with the
// SHA-256 of every other file, and was renamed into place only after every
// file and directory was fsync'd. Its name derives from the MessageId, so a
// repeated hand-over finds, verifies and reports the existing entry.
//
// # HTTP intake
//
// See HTTPIntake: a message counts as handed over only on a 2xx answer to
// the POST at the configured URL; a redirect is a failure and is never
// followed. One request may take BaseTimeout plus TimeoutPerMiB per MiB of
// the entry, so a large delivery is not cut off at a fixed limit. Plain
// http is refused, before any request, unless the endpoint is a loopback
// address or AllowInsecureHTTP is set.
//
// # Journal
//
// The journal is append-only; each entry carries the SHA-256 of the
// previous entry's canonical encoding (GenesisHash for the first). Its
// head (sequence number and hash of the last entry) is also kept outside
// the journal (Store.AnchoredHead; for SQLite a file beside the database,
// written atomically: temporary file, fsync, rename, fsync directory). A
// store moves that anchor forward after every commit that appended
// entries; it never moves it backwards, never past an anchored entry that
// is no longer in the journal unchanged (the anchor then stays as
// evidence), and never writes a removed anchor anew by itself. The
// guarantee: the anchor is never ahead of the committed journal, and it is
// behind only by the entries of commits whose process stopped before
// writing it (at most one transaction per writing process), which the
// next start anchors. A failed anchor write does not undo its commit; the
// next commit tries again.
//
// VerifyJournal (`bebpo-gateway journal verify`) fails with
// ErrJournalBroken naming the first bad entry when an entry was edited,
// removed or reordered, when the journal ends before its anchored head
// (ErrJournalTruncated: the first missing entry), when the anchored entry
// differs (the chain up to it was rewritten), or when the anchor was
// removed (ErrNoAnchor). Entries after the anchor (AnchorBehind in the
// report) rest on the chain alone. The daemon is to log AnchoredHead at
// start, at stop and every hour, so that a copy of the head outlives the
// data directory: someone who can rewrite both the database and the
// anchor is caught only against those log lines.
package mailbox

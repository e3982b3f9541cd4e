// Package eeb handles the elektronisches Empfangsbekenntnis (eEB) both
// ways. Incoming: a court's message whose XJustiz record
// (xjustiz_nachricht.xml) asks for an eEB (ruecksendungEEB.erforderlich)
// opens a task; a person acknowledges it on a date or rejects it with a
// reason of EEB.StoerungsID (1–3 and free text), and the gateway queues
// nachricht.eeb.zuruecklaufend.2200007 (fremdeNachrichtenID = the court's
// message id) to the court's SAFE-ID through the one submission path
// (gateway/submit), recording who answered, when, and the message.
// Outgoing: a court's 2200007 is matched to the message of ours whose
// record it names (our eigeneNachrichtenID in fremdeNachrichtenID) and
// recorded on it; an answer that matches none of ours is kept and
// flagged, never dropped.
//
// Guarantees. The Service follows the message journal with a cursor kept
// in its own database (eeb.db beside gateway.db: SQLite, WAL,
// synchronous=FULL, one writer); the tasks, records and replies an entry
// yields are committed with the new cursor in one transaction, and a
// task or reply is keyed by its message, so a crash anywhere neither
// loses nor doubles one. Only incoming messages that reached
// intake_pending count (verified, or released by an operator): a
// quarantined request or answer waits for a person first. Nothing is ever
// answered automatically: an answer needs a person's decision and names
// them. One request gets at most one answer: the task is claimed before
// the answer is built, answering an answered task fails with ErrAnswered,
// and the submission's idempotency key is derived from the court's
// request, so the message store refuses a second answer even if this
// database is lost; a process stopped after queueing is completed from
// the queued message by Resume (the deadline guard runs it). The deadline
// guard reports tasks open longer than OverdueAfter (status, metrics, one
// log line a day). Log lines carry message ids, task ids and court codes,
// never names, case numbers or reasons; the journal entries
// eeb_answered, eeb_reply and eeb_reply_unmatched keep the facts beside
// the messages.
//
// Failure: store and blob failures are returned and the round is retried
// from the cursor; a record that cannot be read is logged once and left
// to a person (the message is delivered all the same); refusals of a
// person's answer wrap ErrBadAnswer, ErrAnswered or ErrBusy and change
// nothing.
package eeb

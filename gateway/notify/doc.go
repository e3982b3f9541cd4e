// Package notify tells people where they already look — Outlook and
// Teams — that something waits for them in the gateway: new mail in
// their mailboxes (an incoming message verified), an eEB task close to
// the deadline guard's limit, a quarantined message, a Wettbewerbsregister
// answer with entries. Each user chooses per kind: e-mail through the
// authority's mail server (SMTP submission with STARTTLS required by
// default, net/smtp) and optionally a webhook (a Teams incoming webhook's
// Adaptive Card, or a generic JSON object; https only, except to the
// loopback interface, and only to the configured hosts). Who hears about
// what is the Recipients interface, implemented by the web application's
// user store.
//
// What a notification says. A headline ("Neue Nachricht im Postfach
// rechtsamt"), the link to the page in the web application and the number
// of the message, eEB task or register procedure — never a subject, a
// sender, a case number, a name or a document: whoever reads the mail or
// the Teams channel learns only that something waits behind the log-in.
//
// Guarantees. Service.Follow reads the message journal (and the
// register's) from cursors kept in its own database (notify.db beside
// gateway.db: SQLite, WAL, synchronous=FULL, one writer, 0600); the
// notices an entry yields, their jobs (one per user and channel) and the
// new cursors commit in one transaction, and a notice is keyed by its kind
// and number, so a crash or a replay neither loses nor doubles one. A
// journal followed for the first time starts at its end: switching
// notifications on does not tell the past. Service.Deadlines scans the
// open eEB tasks and tells each task once. Service.Send makes one attempt
// per due job and commits its outcome before the next: sent; retried
// with Policy's backoff after a temporary failure (an SMTP 4xx answer, a
// lost connection, a webhook's 408/425/429/5xx, a mail server without
// STARTTLS); given up at once after a permanent one (an SMTP 5xx answer,
// another webhook status, a host not allowed) or when Policy's lifetime
// has passed (default a day). A job is sent twice only if the process
// dies between the server's acceptance and the commit; its Message-ID
// stays the same. A job that is done keeps no address.
//
// Failure: the recipients' store, the journals and the queue database
// return errors and the round is retried from the cursor; every failed
// attempt gets exactly one log line with its reason code (Reason) and
// the address masked (MaskAddress), never the mail server's text or a
// webhook's URL, which may carry a secret.
package notify

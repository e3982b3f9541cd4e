package eventlog

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Follower writes one structured log line for every business event: it
// follows the journal, where every state change is recorded in the same
// transaction as the change itself, so a line is never written for a
// change that did not commit, and none is missed however the change was
// made (an engine, the API, the CLI on the data directory). Subjects, names
// and free texts stay in the journal: the log carries ids, mailboxes,
// states and reason codes. A message that needs an operator (quarantined,
// failed permanently) gets exactly one warning line, with its id and the
// reason (KeyReason).
type Follower struct {
	after int64 // the last journal entry logged
}

// Start skips what the journal held before the daemon started.
func (e *Follower) Start(ctx context.Context, st mailbox.Store) error {
	h, err := st.AnchoredHead(ctx)
	if err != nil {
		return err
	}
	e.after = h.Seq
	for {
		evs, err := st.Events(ctx, e.after, 1000)
		if err != nil || len(evs) == 0 {
			return err
		}
		e.after = evs[len(evs)-1].Seq
	}
}

// Round logs the entries journaled since the last round; more reports
// that the journal holds further entries.
func (e *Follower) Round(ctx context.Context, st mailbox.Store, log *zap.Logger) (more bool, err error) {
	evs, err := st.Events(ctx, e.after, 500)
	if err != nil {
		return false, err
	}
	for _, ev := range evs {
		e.after = ev.Seq
		var m mailbox.Message
		if ev.MessageID != 0 && (ev.Kind == "state" || ev.Kind == "operator") {
			m, _ = st.Get(ctx, ev.MessageID) // a line without the mailbox beats no line
		}
		logEvent(log, ev, m)
	}
	return len(evs) == 500, nil
}

// logEvent writes the line of one journal entry, if it is a business
// event; m is its message where the entry does not name the mailbox.
func logEvent(log *zap.Logger, ev mailbox.Event, m mailbox.Message) {
	d := map[string]string{}
	_ = json.Unmarshal([]byte(ev.Detail), &d)
	if d["mailbox"] == "" && m.Mailbox != "" {
		d["mailbox"], d["direction"] = m.Mailbox, string(m.Direction)
	}
	f := []zap.Field{zap.Int64(logging.KeyMessageID, ev.MessageID)}
	add := func(key, detail string) {
		if v := d[detail]; v != "" {
			f = append(f, zap.String(key, v))
		}
	}
	add(logging.KeyMailbox, "mailbox")
	add("direction", "direction")
	switch ev.Kind {
	case "enqueued":
		add("documents", "documents")
		log.Info("message accepted for sending", f...)
	case "received":
		add(logging.KeyOSCIID, "osci_message_id")
		add("sameContentAs", "same_content_as")
		if d["state"] == string(mailbox.StateQuarantined) {
			add(logging.KeyCode, "code")
			add(logging.KeyReason, "code")
			add("attempts", "attempts")
			if d["code"] == mailbox.ReasonUnreadable {
				add("readError", "text") // short and free of personal data (mailbox.UnreadableError)
			}
			log.Warn("message received and quarantined; it waits for an operator (messages show, requeue or reprocess)", f...)
			return
		}
		log.Info("message received", f...)
	case "duplicate_conflict":
		log.Warn("a delivery came again under a known MessageId with other documents; the second original is kept", f...)
	case "operator":
		add("op", "op")
		add("actor", "actor")
		add(logging.KeyState, "to")
		log.Info("operator action", f...)
	case "state":
		add(logging.KeyState, "to")
		add(logging.KeyCode, "code")
		switch d["to"] {
		case string(mailbox.StateSent):
			log.Info("message sent: the intermediary accepted it", f...)
		case string(mailbox.StateConfirmed):
			log.Info("message confirmed: the recipient fetched it", f...)
		case string(mailbox.StateFailed):
			log.Warn("message failed permanently; an operator has to act (messages requeue or delete)", append(f, failReason(d)...)...)
		case string(mailbox.StateQuarantined):
			add(logging.KeyReason, "code")
			log.Warn("message quarantined; it waits for an operator (messages show, requeue or reprocess)", f...)
		case string(mailbox.StateDelivered):
			log.Info("message delivered to the eAkte intake", f...)
		}
	}
}

// failReason names why a send failed for good: the intermediary's or the
// transport's code when the error was permanent, retries_exhausted when a
// temporary one lasted past the retry lifetime (the line's code is then
// the last error's).
func failReason(d map[string]string) []zap.Field {
	reason := d["code"]
	if c := d["class"]; c != "" && c != "permanent" {
		reason = "retries_exhausted"
	}
	if reason == "" {
		reason = "unknown"
	}
	return []zap.Field{zap.String(logging.KeyReason, reason)}
}

// FetchNotice writes the line of a fetch notice. A parked delivery is a
// quarantined message whose one line Follower writes from the journal,
// so it gets none here.
func FetchNotice(log *zap.Logger, n mailbox.FetchNotice) {
	if n.Kind == mailbox.NoticeParked {
		return
	}
	log.Warn("fetched delivery needs attention", zap.String("notice", n.Kind), zap.Int64(logging.KeyMessageID, n.Message),
		zap.String(logging.KeyOSCIID, n.OSCIMessageID), zap.String("sameContentAs", n.SameContentAs), zap.String(logging.KeyReason, n.Reason), zap.Int("attempts", n.Attempts))
}

// CertificateWarnDays is how close to its end a certificate is logged.
const CertificateWarnDays = 30

// CertificateExpiry writes the line for one of our certificates near or
// past its end (within CertificateWarnDays a warning, once ended an
// error, else nothing): the mailbox, purpose, end and days left; never
// the subject, which may name a person.
func CertificateExpiry(log *zap.Logger, mailboxName string, e certs.Expiry, now time.Time) {
	f := []zap.Field{zap.String(logging.KeyMailbox, mailboxName), zap.String("purpose", e.Purpose.String()),
		zap.Time("notAfter", e.NotAfter), zap.Int("days", e.Days)}
	switch {
	case !now.Before(e.NotAfter):
		log.Error("certificate expired; replace it and reload", f...)
	case e.Days < CertificateWarnDays:
		log.Warn("certificate expires soon; replace it and reload before it does", f...)
	}
}

package osciendpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// OpenSession opens an explicit dialog (initDialog) for the fetch engine.
//
// The OSCI rule that the next order acknowledges the previous delivery is
// kept like this: FetchDelivery hands a delivery to the engine and the
// session then sends nothing. mailbox.Session has no "durable now" call;
// the engine makes its next call (Receipt, ListUndelivered, FetchDelivery
// or Exit) only after it committed the delivery, so that call is the
// signal: it
// acknowledges the delivery to osci.Session (Acknowledge) and then sends
// its order, which records the reception at the intermediary. Abandon
// acknowledges nothing.
//
// With KeepIdleDialogs, a dialog the engine ended with nothing handed out
// is kept open instead of exited (Exit), and the next OpenSession
// continues it: a poll then costs one order (the listing) instead of
// three. If the intermediary has ended the kept dialog meanwhile, the
// listing goes to a fresh one.
func (m *Mailbox) OpenSession(ctx context.Context) (mailbox.Session, error) {
	if kept := m.takeKept(); kept != nil {
		return kept, nil
	}
	s, err := m.client.OpenSession(ctx)
	if err != nil {
		return nil, peerError(err)
	}
	return &osciSession{m: m, s: s}, nil
}

// keptDialogs bounds the idle dialogs a mailbox keeps open: as many as a
// poll fetches in side by side (the gateway's fetch width).
const keptDialogs = 4

// takeKept returns a kept idle dialog, marked reused, or nil.
func (m *Mailbox) takeKept() *osciSession {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.kept)
	if n == 0 {
		return nil
	}
	s := m.kept[n-1]
	m.kept = m.kept[:n-1]
	s.reused = true
	return s
}

// keep puts an idle dialog back for a later poll; beyond keptDialogs it
// is closed instead (exitDialog).
func (m *Mailbox) keep(ctx context.Context, s *osciSession) error {
	m.mu.Lock()
	if len(m.kept) < keptDialogs {
		m.kept = append(m.kept, s)
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	return peerError(s.s.Close(ctx))
}

type osciSession struct {
	m       *Mailbox
	s       *osci.Session
	reused  bool   // continues a dialog kept open since an earlier poll
	pending string // MessageId handed out, not yet acknowledged
	dir     string // files of the pending delivery
	orig    *os.File
	open    []io.Closer
}

// acknowledge tells osci that the pending delivery is durable (the engine
// called again) and removes its files.
func (s *osciSession) acknowledge() error {
	if s.pending == "" {
		return nil
	}
	if err := s.s.Acknowledge(s.pending); err != nil {
		return err
	}
	s.pending = ""
	s.cleanup()
	return nil
}

func (s *osciSession) cleanup() {
	for _, c := range s.open {
		c.Close()
	}
	s.open, s.orig = nil, nil
	if s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			s.m.log.Warn("removing fetched delivery files", zap.Error(err))
		}
		s.dir = ""
	}
}

// ListUndelivered lists the MessageIds of deliveries without Reception
// addressed to us (fetchProcessCard, selection RecentModification ≥ 0,
// NoReception, Role Addressee). Feedback 3801 (more cards) is followed by
// asking again from the latest RecentModification seen (at most 1000 pages).
func (s *osciSession) ListUndelivered(ctx context.Context) ([]string, error) {
	if err := s.acknowledge(); err != nil {
		return nil, err
	}
	ids, err := s.list(ctx)
	if err != nil && s.reused {
		// The listing changes nothing at the intermediary.
		if oerr := s.reopen(ctx); oerr != nil {
			return nil, oerr
		}
		ids, err = s.list(ctx)
	}
	s.reused = false
	return ids, err
}

// reopen replaces a kept dialog whose first order failed (the
// intermediary may have ended it) by a fresh one, for that order to be
// made again. Only an order that left nothing to acknowledge in the old
// dialog may be: the dialog is dropped without a further order.
func (s *osciSession) reopen(ctx context.Context) error {
	s.reused = false
	s.s.Abandon()
	fresh, err := s.m.client.OpenSession(ctx)
	if err != nil {
		return peerError(err)
	}
	s.s = fresh
	return nil
}

func (s *osciSession) list(ctx context.Context) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	from := time.Time{}
	for page := 0; page < 1000; page++ {
		at := from
		cards, more, err := s.s.ProcessCards(ctx, &osci.SelectionRule{RecentModification: &at, NoReception: true, Role: "Addressee"}, s.m.cfg.ListLimit)
		if errors.Is(err, osci.ErrFeedbackNoProcessCard) {
			return ids, nil
		}
		if err != nil {
			return nil, peerError(err)
		}
		fresh, next := 0, from
		for _, c := range cards {
			if c.ProcessCard.RecentModification.After(next) {
				next = c.ProcessCard.RecentModification
			}
			if c.ProcessCard.Reception != nil || seen[c.MessageID] {
				continue
			}
			seen[c.MessageID] = true
			ids = append(ids, c.MessageID)
			fresh++
		}
		if !more {
			return ids, nil
		}
		// OSCI times have whole seconds: when a page ends inside one second,
		// move past it. Cards skipped that way stay without Reception and
		// are listed by the next dialog.
		if fresh == 0 || !next.After(from) {
			next = from.Add(time.Second)
		}
		from = next
	}
	return ids, nil
}

// FetchDelivery fetches one delivery into a private directory, decrypts
// and verifies it with egvp, and hands it to the engine. Verification
// failures are in Meta.Report. A delivery whose response arrived whole
// but cannot be read is a *mailbox.UnreadableError carrying that response
// as received, and the session stays usable: the dialog goes on from the
// response's ControlBlock (osci.Session.ResumeUnreadable), the delivery
// is pending, and the engine's next call acknowledges it once parked.
// Any other error means nothing usable arrived.
func (s *osciSession) FetchDelivery(ctx context.Context, id string) (*mailbox.Delivery, error) {
	return s.fetchAnew(ctx, id, true)
}

// fetchAnew fetches delivery id as fetch does, into a fresh spool. In a
// kept dialog a first fetch that brought nothing usable is made again in
// a fresh dialog (reopen): the delivery, if the ended dialog handed it
// out, was not acknowledged there, and is handed out again.
func (s *osciSession) fetchAnew(ctx context.Context, id string, read bool) (*mailbox.Delivery, error) {
	d, err := s.fetchSpooled(ctx, id, read)
	var ue *mailbox.UnreadableError
	if err != nil && s.reused && !errors.As(err, &ue) {
		if oerr := s.reopen(ctx); oerr != nil {
			return nil, errors.Join(err, oerr)
		}
		d, err = s.fetchSpooled(ctx, id, read)
	}
	s.reused = false
	return d, err
}

// fetchSpooled is fetch into a fresh spool, removed again when nothing
// usable arrived.
func (s *osciSession) fetchSpooled(ctx context.Context, id string, read bool) (*mailbox.Delivery, error) {
	dir, err := s.spool()
	if err != nil {
		return nil, err
	}
	d, err := s.fetch(ctx, id, dir, read)
	var ue *mailbox.UnreadableError
	if err != nil && !errors.As(err, &ue) {
		s.cleanup()
		return nil, err
	}
	return d, err
}

// FetchOriginal fetches delivery id without reading its content: the
// response as received, checked as far as the dialog needs (transport
// decryption, the intermediary's signature, the ControlBlock), or, when
// even that fails on a response that arrived whole, resumed from its
// ControlBlock. The engine uses it for a delivery whose earlier reads
// ended without an outcome, so that it is parked rather than read again;
// the next call acknowledges it.
func (s *osciSession) FetchOriginal(ctx context.Context, id string) (io.Reader, error) {
	_, err := s.fetchAnew(ctx, id, false)
	var ue *mailbox.UnreadableError
	switch {
	case errors.As(err, &ue):
		return ue.Original, nil
	case err != nil:
		return nil, err
	}
	return rewound(s.orig)
}

// spool acknowledges the delivery handed out before, if any, and makes
// the private directory the next one is fetched into.
func (s *osciSession) spool() (string, error) {
	if err := s.acknowledge(); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(s.m.cfg.SpoolDir, "osci-in-*")
	if err != nil {
		return "", fmt.Errorf("osciendpoint: fetch spool: %w", err)
	}
	s.dir = dir
	return dir, nil
}

// fetch receives delivery id into dir and, with read, reads it with egvp.
// Without read it returns no delivery, only the original in s.orig.
func (s *osciSession) fetch(ctx context.Context, id, dir string, read bool) (*mailbox.Delivery, error) {
	for _, sub := range []string{"parts", "docs"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("osciendpoint: fetch spool: %w", err)
		}
	}
	orig, err := os.OpenFile(filepath.Join(dir, "original"), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("osciendpoint: fetch spool: %w", err)
	}
	s.open = append(s.open, orig)
	s.orig = orig
	parts := &osci.DirAttachments{Dir: filepath.Join(dir, "parts"), Spool: true}
	cctx, captured := withCapture(ctx, orig)
	od, err := s.s.FetchDelivery(cctx, id, parts)
	origSum, cerr := captured()
	if cerr != nil {
		return nil, fmt.Errorf("osciendpoint: fetch spool: %w", cerr) // our disk: tried again, nothing acknowledged
	}
	if err != nil {
		// A response that arrived whole resumes the dialog from its
		// ControlBlock; only the intermediary's own response can.
		r, rerr := rewound(orig)
		if rerr != nil {
			return nil, rerr
		}
		if rerr := s.s.ResumeUnreadable(id, r); rerr != nil {
			return nil, peerError(err)
		}
		s.pending = id
		return nil, s.unreadable(id, orig, err)
	}
	s.pending = id
	if !read {
		return nil, nil
	}
	rcv, err := s.m.reader(dir).Read(ctx, od, parts, filepath.Join(dir, "docs"))
	if errors.Is(err, egvp.ErrTooLarge) {
		return nil, s.unreadable(id, orig, err)
	}
	if err != nil {
		return nil, err
	}
	if _, err := rewound(orig); err != nil {
		return nil, err
	}
	// The original and the documents go to the blob store with the
	// digests taken while they were written.
	d, err := s.m.delivery(ctx, id, od, rcv, &mailbox.HashedFile{File: orig, SHA256: origSum}, &s.open)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// unreadable is the engine's error for a delivery received whole that
// cannot be read, with the response as received.
func (s *osciSession) unreadable(id string, orig *os.File, err error) error {
	r, rerr := rewound(orig)
	if rerr != nil {
		return rerr
	}
	ue := &mailbox.UnreadableError{Original: r, Reason: unreadableReason(err), Err: err}
	s.m.log.Warn("fetched delivery cannot be read", zap.String("osci_message_id", id), zap.String("reason", ue.Reason))
	return ue
}

// rewound returns f from its start.
func rewound(f *os.File) (io.Reader, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("osciendpoint: fetch spool: %w", err)
	}
	return f, nil
}

// unreadableReasons are the causes a delivery cannot be read for, each
// named by its sentinel's text (no content, no names).
var unreadableReasons = []error{egvp.ErrTooLarge, osci.ErrLimit, xmlsec.ErrTooLarge, xmlsec.ErrTooDeep, xmlsec.ErrTooManyElements,
	xmlsec.ErrTooManyAttrs, xmlsec.ErrTooManyNamespace, xmlsec.ErrDoctype, xmlsec.ErrSyntax, xmlenc.ErrDecrypt, osci.ErrEncryption,
	osci.ErrNotEncrypted, osci.ErrMIME, osci.ErrMIMETruncated, osci.ErrNotOSCI, osci.ErrUnknownType, osci.ErrInvalidOrder,
	osci.ErrUnverified}

// unreadableReason says why a delivery could not be read, short and
// without personal data: it becomes the parked row's LastErrorText.
func unreadableReason(err error) string {
	for _, r := range unreadableReasons {
		if errors.Is(err, r) {
			if errors.Is(err, egvp.ErrTooLarge) {
				return err.Error() // the limit and count, nothing of the content
			}
			return r.Error()
		}
	}
	return "the response could not be read"
}

// reader is the egvp reading of this mailbox, spooling into dir.
func (m *Mailbox) reader(dir string) *egvp.Reader {
	cfg := m.cfg
	return &egvp.Reader{Cipher: cfg.Identity.Cipher, Trust: cfg.Trust, SpoolDir: dir, Now: m.now, Limits: cfg.Limits,
		XML: cfg.XML, RequireEndToEnd: cfg.RequireEndToEnd}
}

// delivery turns what egvp read into the engine's delivery, with the
// signatures on its documents checked (checkDocumentSignatures); the
// documents are opened from their files and added to open.
func (m *Mailbox) delivery(ctx context.Context, id string, od *osci.Delivery, rcv *egvp.Received, orig io.Reader, open *[]io.Closer) (*mailbox.Delivery, error) {
	sender := rcv.SenderID
	if sender == "" {
		sender = rcv.Report.Sender.Confirmed.SafeID
	}
	d := &mailbox.Delivery{MessageID: id, Original: orig, Card: processCard(od.Card), Sender: sender,
		Recipient: m.cfg.SafeID, Subject: rcv.Subject, Meta: incomingMeta(rcv)}
	if rcv.Nachricht.RecipientID != "" {
		d.Recipient = rcv.Nachricht.RecipientID
	}
	d.Card.OSCIMessageID = id
	for _, doc := range rcv.Documents {
		f, err := os.Open(doc.Path)
		if err != nil {
			return nil, fmt.Errorf("osciendpoint: fetched document: %w", err)
		}
		*open = append(*open, f)
		role := mailbox.RoleDocument
		if doc.Structured {
			role = mailbox.RoleStructured
		}
		d.Documents = append(d.Documents, mailbox.IncomingDocument{Name: doc.Name, ContentType: doc.ContentType, Role: role,
			Body: &mailbox.HashedFile{File: f, SHA256: doc.SHA256}})
	}
	if err := m.checkDocumentSignatures(ctx, id, rcv.Documents, &d.Meta.Report); err != nil {
		return nil, err
	}
	v := rcv.Report.Verdict()
	if v.Status != checkresult.Valid {
		m.log.Warn(verdictLogLine(v), zap.String("osci_message_id", id), zap.String("status", v.Status),
			zap.String("reason", v.Reason), zap.Int("problems", len(rcv.Report.Problems)))
	}
	if len(rcv.Report.Notes) > 0 {
		m.log.Info("fetched delivery with notes", zap.String("osci_message_id", id), zap.Bool("egvp", rcv.EGVP), zap.Int("notes", len(rcv.Report.Notes)))
	}
	return d, nil
}

// verdictLogLine is the one log line of each verdict reason.
func verdictLogLine(v egvp.Verdict) string {
	switch v.Reason {
	case egvp.ReasonSenderMismatch:
		return "fetched delivery quarantined: the sender's claims contradict its certificate or the directory"
	case egvp.ReasonSignatureInvalid:
		return "fetched delivery quarantined: a signature is broken"
	case egvp.ReasonCertificateInvalid:
		return "fetched delivery quarantined: a certificate is not valid"
	case egvp.ReasonFormatUnreadable:
		return "fetched delivery quarantined: a part could not be read"
	case egvp.ReasonPolicyEndToEnd:
		return "fetched delivery quarantined: the mailbox requires end-to-end encryption"
	case egvp.ReasonNoSignature:
		return "fetched delivery is not signed"
	case egvp.ReasonCheckIndeterminate:
		return "fetched delivery: a check had no result (e.g. a certificate of an unconfigured CA)"
	case egvp.ReasonUnsignedContent:
		return "fetched delivery holds content no signature covers"
	}
	return "fetched delivery did not verify"
}

// incomingMeta maps what egvp read onto the engine's metadata: the
// verdict as egvp gave it, the confirmed sender and the sender's claims
// apart, and what covers each content.
func incomingMeta(r *egvp.Received) mailbox.IncomingMeta {
	v := r.Report.Verdict()
	conf, claim := r.Report.Sender.Confirmed, r.Report.Sender.Claimed
	m := mailbox.IncomingMeta{
		Sender: mailbox.SenderIdentity{
			Confirmed: mailbox.ConfirmedSender{SafeID: conf.SafeID, RoleID: conf.RoleID, Certificate: conf.Subject, Issuer: conf.Issuer},
			Claimed:   mailbox.Party{SafeID: r.SenderID, RoleID: claim.Card.RoleID, Name: claim.Card.DisplayName(), Organisation: claim.Card.Organisation}},
		OSCISubject: r.OSCISubject, UserSubject: r.Subject, CaseNumberSender: r.Nachricht.CaseNumberSender,
		CaseNumberRecipient: r.Nachricht.CaseNumberRecipient, EEBRequested: r.EEBRequested,
		Report: mailbox.VerificationReport{CheckedAt: r.Report.CheckedAt, Verdict: v.Status, Reason: v.Reason, ReasonText: v.Text,
			VHNPresent: r.Report.VHNPresent, VHNText: r.Report.VHNText, Problems: problems(r.Report), Notes: r.Report.Notes,
			SenderConflicts: r.Report.Sender.Conflicts, SenderNotes: r.Report.Sender.Notes},
	}
	if conf.TrustedFor != 0 {
		m.Sender.Confirmed.TrustedFor = conf.TrustedFor.String()
	}
	if r.XJustiz != nil {
		m.XJustizMessageID = r.XJustiz.MessageID
	}
	for _, c := range r.Report.Certificates {
		m.Report.Certificates = append(m.Report.Certificates, mailbox.ReportCertificate{Role: c.Role, DER: c.Cert.Raw})
	}
	for _, c := range r.Report.Signatures {
		m.Report.Signatures = append(m.Report.Signatures, mailbox.SignatureCheck{Object: c.Object, Kind: c.Kind,
			Integrity: c.Integrity, CertValidity: c.CertValidity, CertType: c.CertType, Signer: c.Signer, Issuer: c.Issuer,
			Serial: c.Serial, SigningTime: c.SigningTime, CheckedAt: c.CheckedAt, Detail: c.Detail})
	}
	for _, c := range r.Report.Contents {
		m.Report.Contents = append(m.Report.Contents, mailbox.ContentCheck{Container: c.Container, Name: c.Name, Document: c.Document,
			Kind: c.Kind, Delivered: c.Delivered, Signed: c.Signed, Coverage: c.Coverage, SignedBy: c.SignedBy})
	}
	return m
}

// problems lists every failure of a report that is not a signature's for
// the Prüfprotokoll: reading problems, the intermediary's negative
// inspections, and what breaks the mailbox's policy.
func problems(r egvp.Report) []string {
	out := append([]string(nil), r.Problems...)
	for _, f := range r.Inspections {
		out = append(out, f.Text)
	}
	return append(out, r.Policy...)
}

// Receipt acknowledges the pending delivery and, as that order, asks for
// its process card (fetchProcessCard selecting its MessageId). The
// intermediary records Reception when it receives this order, so the card
// it answers with carries it. An answer without the card (feedback, e.g.
// 9804) matches mailbox.ErrNoReceipt and leaves the dialog usable; any
// other failure has ended it.
func (s *osciSession) Receipt(ctx context.Context, id string) (mailbox.ProcessCard, error) {
	if err := s.acknowledge(); err != nil {
		return mailbox.ProcessCard{}, err
	}
	cards, _, err := s.s.ProcessCards(ctx, &osci.SelectionRule{MessageIDs: []string{id}}, 1)
	var fe *osci.FeedbackError
	if errors.As(err, &fe) {
		return mailbox.ProcessCard{}, fmt.Errorf("%w: %w", mailbox.ErrNoReceipt, peerError(err))
	}
	if err != nil {
		return mailbox.ProcessCard{}, peerError(err)
	}
	for i := range cards {
		if cards[i].MessageID == id {
			return processCard(&cards[i]), nil
		}
	}
	return mailbox.ProcessCard{}, fmt.Errorf("%w: the answer holds no card of %s", mailbox.ErrNoReceipt, id)
}

// Receipts is Receipt for several deliveries of the dialog in one order
// (mailbox.ReceiptBatcher): it acknowledges the pending delivery and asks
// for the cards of ids; the earlier ones were acknowledged by the orders
// that followed them, so their cards carry Reception too.
func (s *osciSession) Receipts(ctx context.Context, ids []string) (map[string]mailbox.ProcessCard, error) {
	if err := s.acknowledge(); err != nil {
		return nil, err
	}
	cards, _, err := s.s.ProcessCards(ctx, &osci.SelectionRule{MessageIDs: ids}, len(ids))
	var fe *osci.FeedbackError
	if errors.As(err, &fe) {
		return nil, fmt.Errorf("%w: %w", mailbox.ErrNoReceipt, peerError(err))
	}
	if err != nil {
		return nil, peerError(err)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	out := make(map[string]mailbox.ProcessCard, len(cards))
	for i := range cards {
		if want[cards[i].MessageID] {
			out[cards[i].MessageID] = processCard(&cards[i])
		}
	}
	return out, nil
}

// Exit acknowledges the last delivery and ends the dialog (exitDialog).
// A dialog whose last order handed nothing out (a listing, the receipts)
// has nothing to acknowledge: it is kept open for the next poll instead.
func (s *osciSession) Exit(ctx context.Context) error {
	if s.m.cfg.KeepIdleDialogs && s.pending == "" && s.s.Idle() {
		s.cleanup()
		s.reused = false
		return s.m.keep(ctx, s)
	}
	if err := s.acknowledge(); err != nil {
		return err
	}
	return peerError(s.s.Close(ctx))
}

// Abandon ends the dialog without another order: the pending delivery
// stays unreceived at the intermediary and is handed out again later.
func (s *osciSession) Abandon() {
	s.s.Abandon()
	s.pending = ""
	s.cleanup()
}

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

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
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
func (m *Mailbox) OpenSession(ctx context.Context) (mailbox.Session, error) {
	s, err := m.client.OpenSession(ctx)
	if err != nil {
		return nil, peerError(err)
	}
	return &osciSession{m: m, s: s}, nil
}

type osciSession struct {
	m       *Mailbox
	s       *osci.Session
	pending string // MessageId handed out, not yet acknowledged
	dir     string // files of the pending delivery
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
	s.open = nil
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
// failures are in Meta.Report; an error means nothing usable arrived.
func (s *osciSession) FetchDelivery(ctx context.Context, id string) (*mailbox.Delivery, error) {
	if err := s.acknowledge(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(s.m.cfg.SpoolDir, "osci-in-*")
	if err != nil {
		return nil, fmt.Errorf("osciendpoint: fetch spool: %w", err)
	}
	s.dir = dir
	d, err := s.fetch(ctx, id, dir)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	return d, nil
}

func (s *osciSession) fetch(ctx context.Context, id, dir string) (*mailbox.Delivery, error) {
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
	parts := &osci.DirAttachments{Dir: filepath.Join(dir, "parts")}
	od, err := s.s.FetchDelivery(withCapture(ctx, orig), id, parts)
	if err != nil {
		return nil, peerError(err)
	}
	s.pending = id
	cfg := s.m.cfg
	r := &egvp.Reader{Cipher: cfg.Identity.Cipher, Trust: cfg.Trust, SpoolDir: dir, Now: s.m.now, Limits: cfg.Limits}
	rcv, err := r.Read(ctx, od, parts, filepath.Join(dir, "docs"))
	if err != nil {
		return nil, err
	}
	if _, err := orig.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("osciendpoint: fetch spool: %w", err)
	}
	d := &mailbox.Delivery{MessageID: id, Original: orig, Card: processCard(od.Card), Sender: rcv.SenderID,
		Recipient: cfg.SafeID, Subject: rcv.Subject, Meta: incomingMeta(rcv)}
	if rcv.Nachricht.RecipientID != "" {
		d.Recipient = rcv.Nachricht.RecipientID
	}
	d.Card.OSCIMessageID = id
	for _, doc := range rcv.Documents {
		f, err := os.Open(doc.Path)
		if err != nil {
			return nil, fmt.Errorf("osciendpoint: fetched document: %w", err)
		}
		s.open = append(s.open, f)
		role := mailbox.RoleDocument
		if doc.Structured {
			role = mailbox.RoleStructured
		}
		d.Documents = append(d.Documents, mailbox.IncomingDocument{Name: doc.Name, ContentType: doc.ContentType, Role: role, Body: f})
	}
	if v := rcv.Report.Verdict(); v.Status != egvp.ResultValid {
		s.m.log.Warn("fetched delivery did not verify", zap.String("osci_message_id", id), zap.String("status", v.Status),
			zap.String("reason", v.Reason), zap.Int("problems", len(rcv.Report.Problems)))
	}
	return d, nil
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
			VHNPresent: r.Report.VHNPresent, VHNText: r.Report.VHNText, Problems: r.Report.Problems,
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
		m.Report.Contents = append(m.Report.Contents, mailbox.ContentCheck{Container: c.Container, Name: c.Name, Kind: c.Kind,
			Delivered: c.Delivered, Signed: c.Signed, SignedBy: c.SignedBy})
	}
	return m
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

// Exit acknowledges the last delivery and ends the dialog (exitDialog).
func (s *osciSession) Exit(ctx context.Context) error {
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

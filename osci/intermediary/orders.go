package intermediary

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// answer runs the dialog checks, the signature check and the order, and
// returns the response and the delivery whose attachments it carries.
func (s *Server) answer(ctx context.Context, req *request) (*osci.Message, *delivery, error) {
	m := req.msg
	now := s.cfg.Now()
	cb, dl, err := s.dialogFor(m, req, now)
	if errors.Is(err, osci.ErrFeedbackExplicitRequired) {
		ch, err := osci.NewChallenge(s.cfg.Rand)
		if err != nil {
			return nil, nil, err
		}
		cb = osci.ControlBlock{Response: m.ControlBlock.Challenge, Challenge: ch, ConversationID: s.newConversationID(), SequenceNumber: 0}
		return &osci.Message{Type: m.Type.ResponseType(), ControlBlock: cb, Feedback: osci.NewFeedback(osci.CodeExplicitRequired)}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	resp := &osci.Message{Type: m.Type.ResponseType(), ControlBlock: cb, Feedback: osci.NewFeedback(osci.CodeDialogClosed)}
	if dl != nil && m.Type != osci.TypeExitDialog {
		resp.Feedback = osci.NewFeedback(osci.CodeDialogOpen)
	}
	if !m.Signed {
		resp.Feedback = osci.NewFeedback(osci.CodeSignatureRequired)
		return resp, nil, nil
	}
	var ids []string
	for _, a := range req.in.Entity.Attachments {
		ids = append(ids, a.Header.ContentID)
	}
	v, err := m.Verify(ctx, osci.VerifyOptions{Keys: offeredKey{s.cfg.Now}, Attachments: req.atts.Open, AttachmentIDs: ids})
	if err != nil {
		resp.Feedback = osci.NewFeedback(osci.CodeSignatureInvalid)
		return resp, nil, nil
	}
	m = v.Message
	if f := req.fault; f != nil && f.Kind == FaultFeedback {
		resp.Feedback = osci.NewFeedback(f.Code)
		return resp, nil, nil
	}
	switch m.Type {
	case osci.TypeGetMessageID:
		resp.MessageID = s.newMessageID(now)
	case osci.TypeStoreDelivery:
		return s.store(resp, m, req, now)
	case osci.TypeFetchDelivery:
		return s.fetch(resp, m, dl, now)
	case osci.TypeFetchProcessCard:
		s.processCards(resp, m, dl)
	}
	return resp, nil, nil
}

// dialogFor checks the ControlBlock against the dialog table and returns
// the response's ControlBlock.
func (s *Server) dialogFor(m *osci.Message, req *request, now time.Time) (osci.ControlBlock, *dialog, error) {
	switch {
	case m.Type == osci.TypeInitDialog:
		sd, cb, err := osci.OpenSupplierDialog(m.ControlBlock, s.newConversationID(), s.cfg.Rand)
		if err != nil {
			return cb, nil, err
		}
		dl := &dialog{sd: sd, fetcher: fingerprint(req.client), cipher: req.client}
		s.dialogs[sd.ConversationID] = dl
		return cb, dl, nil
	case m.ControlBlock.ConversationID == "":
		cb, err := osci.CheckImplicit(m.Type, m.ControlBlock, s.newConversationID())
		return cb, nil, err
	}
	dl := s.dialogs[m.ControlBlock.ConversationID]
	if dl == nil {
		return osci.ControlBlock{}, nil, fmt.Errorf("unknown conversation: %w", osci.ErrFaultSequence)
	}
	cb, err := dl.sd.Accept(m.Type, m.ControlBlock, s.cfg.Rand)
	if err != nil {
		return cb, nil, err
	}
	// Orders after initDialog need not repeat the client's cipher certificate.
	if req.client == nil {
		req.client = dl.cipher
	} else if fingerprint(req.client) != dl.fetcher {
		return osci.ControlBlock{}, nil, fmt.Errorf("cipher certificate changed within the dialog: %w", osci.ErrFaultSequence)
	}
	// The next order in the dialog acknowledges the delivery handed out last.
	if dl.pending != "" {
		if d := s.deliveries[dl.pending]; d != nil && d.card.ProcessCard.Reception == nil {
			d.card.ProcessCard.Reception = &osci.Timestamp{Time: now}
			d.card.ProcessCard.RecentModification = now
		}
		dl.pending = ""
	}
	if dl.sd.Closed {
		delete(s.dialogs, dl.sd.ConversationID)
	}
	return cb, dl, nil
}

func (s *Server) randomDigits(n int) string {
	var b [8]byte
	out := make([]byte, 0, n)
	for len(out) < n {
		if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
			panic(err) // the configured randomness failing is a broken simulator
		}
		out = append(out, fmt.Sprintf("%019d", binary.BigEndian.Uint64(b[:])>>1)...)
	}
	return string(out[:n])
}

func (s *Server) newConversationID() string {
	s.nextConv++
	return fmt.Sprintf("%d%s", s.nextConv, s.randomDigits(20))
}

func (s *Server) newMessageID(now time.Time) string {
	id := fmt.Sprintf("govapp_%d%s", now.UnixMilli(), s.randomDigits(18))
	s.issued[id] = true
	return id
}

func (s *Server) store(resp, m *osci.Message, req *request, now time.Time) (*osci.Message, *delivery, error) {
	if !s.issued[m.MessageID] || s.used[m.MessageID] {
		resp.Feedback = osci.NewFeedback(osci.CodeIllegalMessageID)
		return resp, nil, nil
	}
	addressee := m.NonIntermediary.Get(osci.CipherAddressee)
	d := &delivery{id: m.MessageID, mailbox: fingerprint(addressee), originator: fingerprint(req.client), certs: m.NonIntermediary}
	sum := sha256.Sum256([]byte(m.MessageID))
	d.dir = filepath.Join(s.cfg.DataDir, "mailboxes", d.mailbox, hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(filepath.Join(d.dir, "attachments"), 0o700); err != nil {
		return nil, nil, fmt.Errorf("store: %w: %w", err, osci.ErrFaultInternal)
	}
	if m.ContentPackage != nil {
		c, err := xmlsec.Canonicalize(m.ContentPackage, xmlsec.C14N10)
		if err != nil {
			return nil, nil, err
		}
		d.content = c
		if err := os.WriteFile(filepath.Join(d.dir, "contentpackage.xml"), c, 0o600); err != nil {
			return nil, nil, fmt.Errorf("store: %w: %w", err, osci.ErrFaultInternal)
		}
	}
	for _, a := range req.in.Entity.Attachments {
		src, sum, _ := req.atts.Path(a.Header.ContentID)
		if err := os.Rename(src, attachmentPath(d.dir, a.Header.ContentID)); err != nil {
			return nil, nil, fmt.Errorf("store: %w: %w", err, osci.ErrFaultInternal)
		}
		d.atts = append(d.atts, a.Header.ContentID)
		d.sums = append(d.sums, sum)
	}
	d.card = osci.ProcessCardBundle{MessageID: m.MessageID,
		ProcessCard: osci.ProcessCard{RecentModification: now, Creation: &osci.Timestamp{Time: now}, Subject: m.Subject}}
	for _, e := range m.NonIntermediary {
		if e.Element == osci.CipherOtherReader {
			continue // the same certificate is inspected as addressee
		}
		d.card.Inspections = append(d.card.Inspections, osci.Inspection{Timestamp: osci.Timestamp{Time: now},
			SubjectName: e.Cert.Subject.String(), IssuerName: e.Cert.Issuer.String(), SerialNumber: e.Cert.SerialNumber.String(),
			CertType: "unknown", MathResult: "ok", OfflineResult: "valid"})
	}
	delete(s.issued, m.MessageID)
	s.used[m.MessageID] = true
	s.deliveries[m.MessageID] = d
	s.order = append(s.order, m.MessageID)
	resp.ProcessCards = []osci.ProcessCardBundle{d.card}
	return resp, nil, nil
}

func (s *Server) fetch(resp, m *osci.Message, dl *dialog, now time.Time) (*osci.Message, *delivery, error) {
	resp.Selection = m.Selection
	var found *delivery
	waiting := 0
	for _, id := range s.order {
		d := s.deliveries[id]
		if d.mailbox != dl.fetcher {
			continue
		}
		switch {
		case m.Selection != nil && len(m.Selection.MessageIDs) > 0:
			if id == m.Selection.MessageIDs[0] {
				found = d
			}
		case d.card.ProcessCard.Reception != nil:
		case m.Selection != nil && m.Selection.ReceptionOfDelivery != nil && d.card.ProcessCard.Creation.Time.Before(*m.Selection.ReceptionOfDelivery):
		case found == nil:
			found = d
		}
		if d.card.ProcessCard.Reception == nil && d != found {
			waiting++
		}
	}
	if found == nil {
		resp.Feedback = osci.NewFeedback(osci.CodeNoDelivery)
		return resp, nil, nil
	}
	found.card.ProcessCard.Forwarding = &osci.Timestamp{Time: now}
	found.card.ProcessCard.RecentModification = now
	dl.pending = found.id
	if resp.Selection == nil {
		resp.Selection = &osci.SelectionRule{MessageIDs: []string{found.id}}
	}
	resp.Content, resp.NonIntermediary = found.content, found.certs
	resp.ProcessCards = []osci.ProcessCardBundle{found.card}
	if waiting > 0 {
		resp.Feedback = append(resp.Feedback, osci.NewFeedback(osci.CodeMoreDeliveries)...)
	}
	return resp, found, nil
}

func (s *Server) processCards(resp, m *osci.Message, dl *dialog) {
	resp.Selection, resp.QuantityLimit = m.Selection, m.QuantityLimit
	sel := m.Selection
	for _, id := range s.order {
		d := s.deliveries[id]
		pc := d.card.ProcessCard
		mine := d.mailbox == dl.fetcher || d.originator == dl.fetcher
		switch {
		case !mine:
			continue
		case sel != nil && len(sel.MessageIDs) > 0 && !contains(sel.MessageIDs, id):
			continue
		case sel != nil && sel.RecentModification != nil && pc.RecentModification.Before(*sel.RecentModification):
			continue
		case sel != nil && sel.ReceptionOfDelivery != nil && (pc.Reception == nil || pc.Reception.Time.Before(*sel.ReceptionOfDelivery)):
			continue
		case sel != nil && sel.NoReception && pc.Reception != nil:
			continue
		case sel != nil && sel.Role == "Addressee" && d.mailbox != dl.fetcher,
			sel != nil && sel.Role == "Originator" && d.originator != dl.fetcher:
			continue
		}
		if m.QuantityLimit > 0 && len(resp.ProcessCards) == m.QuantityLimit {
			resp.Feedback = append(resp.Feedback, osci.NewFeedback(osci.CodeMoreProcessCards)...)
			break
		}
		resp.ProcessCards = append(resp.ProcessCards, d.card)
	}
	if len(resp.ProcessCards) == 0 {
		resp.Feedback = osci.NewFeedback(osci.CodeNoProcessCard)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

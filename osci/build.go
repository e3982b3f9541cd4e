package osci

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// block is one emitted header block (or the body) with its Id.
type block struct {
	id    string // "" for unsigned blocks
	bytes []byte // canonical form
}

// Envelope returns the SOAP envelope of m (without XML declaration), unsigned.
// Header blocks and the body are written in C14N form with the five
// namespaces redeclared, so a digest over a block is the hash of its bytes.
func (m *Message) Envelope() ([]byte, error) {
	hs, body, err := m.blocksFor()
	if err != nil {
		return nil, err
	}
	return assemble(m.Type, hs, nil, body), nil
}

// assemble writes the envelope; sig (a signature header block) goes right
// after the ControlBlock, where the schemas put Client/SupplierSignature.
func assemble(t MessageType, hs []block, sig []byte, body block) []byte {
	var b bytes.Buffer
	env := el("soap:Envelope").ns5().attr("xsi:schemaLocation", t.SchemaLocation())
	open := env.bytes()
	b.Write(open[:len(open)-len("</soap:Envelope>")])
	b.WriteString("<soap:Header>")
	for i, h := range hs {
		b.Write(h.bytes)
		if i == 0 && sig != nil {
			b.Write(sig)
		}
	}
	b.WriteString("</soap:Header>")
	b.Write(body.bytes)
	b.WriteString("</soap:Envelope>")
	return b.Bytes()
}

func (m *Message) blocksFor() ([]block, block, error) {
	if !m.Type.Supported() || m.Type == TypeFault || m.Type == TypeMessageEncrypted {
		return nil, block{}, fmt.Errorf("%w: cannot build %s", ErrUnsupportedType, m.Type)
	}
	if err := m.ControlBlock.CheckPresence(m.Type); err != nil {
		return nil, block{}, err
	}
	if err := m.checkBuild(); err != nil {
		return nil, block{}, err
	}
	var hs []*xel
	hs = append(hs, m.ControlBlock.element())
	if !m.Type.IsResponse() {
		lang := m.Languages
		if lang == "" {
			lang = "de"
		}
		hs = append(hs, headerBlock("osci:DesiredLanguages", IDDesiredLanguages, ActorNext).attr("LanguagesList", lang))
	}
	switch m.Type {
	case TypeStoreDelivery:
		hs = append(hs,
			qualityBlock(IDQualityCreation, m.QualityCreation, "creation"),
			qualityBlock(IDQualityReception, m.QualityReception, "reception"))
		sd := headerBlock("osci:storeDelivery", IDStoreDelivery, ActorNext).add(messageIDElement(m.MessageID))
		if m.Subject != "" {
			sd.add(el("osci:Subject").txt(m.Subject))
		}
		hs = append(hs, sd)
	case TypeFetchDelivery:
		hs = append(hs, headerBlock("osci:fetchDelivery", IDFetchDelivery, ActorNext).add(m.Selection.element()))
	case TypeResponseToStoreDelivery, TypeResponseToFetchDelivery:
		name := m.Type.ElementName()
		h := headerBlock("osci:"+name, strings.ToLower(name), ActorNext).add(m.Feedback.element())
		if m.Type == TypeResponseToFetchDelivery {
			h.add(el("osci:fetchDelivery", m.Selection.element()))
		}
		for _, pc := range m.ProcessCards {
			h.add(pc.element())
		}
		hs = append(hs, h)
	}
	if len(m.Intermediary) > 0 {
		hs = append(hs, certificatesBlock(headerIntermediary, IDIntermediaryCerts, m.Intermediary))
	}
	if len(m.NonIntermediary) > 0 {
		hs = append(hs, certificatesBlock(headerNonIntermediary, IDNonIntermediaryCerts, m.NonIntermediary))
	}
	if m.Features != nil {
		hs = append(hs, featureBlock(m.Features))
	}
	out := make([]block, len(hs))
	for i, h := range hs {
		id, _ := h.id()
		out[i] = block{id: id, bytes: h.bytes()}
	}
	body := el("soap:Body").ns5().attr("Id", IDBody)
	body.raw = m.bodyContent()
	return out, block{id: IDBody, bytes: body.bytes()}, nil
}

func (e *xel) id() (string, bool) {
	for _, a := range e.attrs {
		if a[0] == "Id" {
			return a[1], true
		}
	}
	return "", false
}

func (m *Message) bodyContent() []byte {
	switch m.Type {
	case TypeInitDialog, TypeExitDialog, TypeGetMessageID:
		return el("osci:" + m.Type.ElementName()).bytes()
	case TypeFetchProcessCard:
		return m.fetchProcessCardElement().bytes()
	case TypeResponseToInitDialog, TypeResponseToExitDialog, TypeResponseToGetMessageID, TypeResponseToFetchProcessCard:
		r := el("osci:"+m.Type.ElementName(), m.Feedback.element())
		switch m.Type {
		case TypeResponseToGetMessageID:
			if m.MessageID != "" {
				r.add(messageIDElement(m.MessageID))
			}
		case TypeResponseToFetchProcessCard:
			r.add(m.fetchProcessCardElement())
			for _, pc := range m.ProcessCards {
				r.add(pc.element())
			}
		}
		return r.bytes()
	case TypeStoreDelivery, TypeResponseToFetchDelivery:
		return m.Content
	}
	return nil
}

func (m *Message) fetchProcessCardElement() *xel {
	e := el("osci:fetchProcessCard", m.Selection.element())
	if m.QuantityLimit > 0 {
		e.add(el("osci:Quantity").attr("Limit", strconv.Itoa(m.QuantityLimit)))
	}
	return e
}

func (m *Message) checkBuild() error {
	switch m.Type {
	case TypeStoreDelivery:
		if m.MessageID == "" {
			return fmt.Errorf("%w: storeDelivery without MessageId", ErrInvalidOrder)
		}
		if m.NonIntermediary.Get(CipherAddressee) == nil {
			return fmt.Errorf("%w: storeDelivery without CipherCertificateAddressee", ErrInvalidOrder)
		}
		if len(m.Content) > 0 && !bytes.HasPrefix(m.Content, []byte("<osci:ContentPackage")) {
			return fmt.Errorf("%w: content is not an osci:ContentPackage", ErrInvalidOrder)
		}
	case TypeInitDialog:
		if m.NonIntermediary.Get(CipherOriginator) == nil {
			return fmt.Errorf("%w: initDialog without CipherCertificateOriginator", ErrInvalidOrder)
		}
	case TypeFetchDelivery:
		if m.Selection != nil && len(m.Selection.MessageIDs) > 1 {
			return fmt.Errorf("%w: fetchDelivery selects at most one MessageId", ErrInvalidOrder)
		}
	}
	if m.Type.IsResponse() && len(m.Feedback) == 0 {
		return fmt.Errorf("%w: %s", ErrFeedbackMissing, m.Type)
	}
	return nil
}

func qualityBlock(id, quality, service string) *xel {
	if quality == "" {
		quality = "plain"
	}
	return headerBlock("osci:QualityOfTimestamp", id, ActorNext).attr("Quality", quality).attr("Service", service)
}

func featureBlock(fs []Feature) *xel {
	sf := el("osci2017:SupportedFeatures")
	for _, f := range fs {
		sf.add(el("osci2017:Feature").attr("Key", f.Key).attr("Version", f.Version))
	}
	return el("osci2017:FeatureDescription", sf).ns5().xmlns("osci2017", NSOSCI2017).attr("Id", IDFeatureDescription)
}

func (s *SelectionRule) element() *xel {
	if s == nil {
		return nil
	}
	r := el("osci:SelectionRule")
	switch {
	case len(s.MessageIDs) > 0:
		for _, id := range s.MessageIDs {
			r.add(messageIDElement(id))
		}
	case s.ReceptionOfDelivery != nil:
		r.add(s.dateElement("osci:ReceptionOfDelivery", *s.ReceptionOfDelivery))
	case s.RecentModification != nil:
		r.add(s.dateElement("osci:RecentModification", *s.RecentModification))
	}
	return r
}

func (s *SelectionRule) dateElement(name string, t time.Time) *xel {
	e := el(name).txt(FormatTime(t))
	if s.NoReception {
		e.attr("NoReception", "true")
	}
	if s.Role != "" {
		e.attr("Role", s.Role)
	}
	return e
}

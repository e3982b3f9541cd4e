package osci

import (
	"crypto/x509"
	"fmt"
	"strconv"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Parse reads a SOAP envelope (the SOAP part of a MIME entity), dispatches on
// its exact xsi:schemaLocation and returns the message. A SOAP fault is
// returned as a Message of TypeFault together with its *FaultError. A
// transport-encrypted envelope is returned as TypeMessageEncrypted with only
// its tree set. Errors wrap ErrNotOSCI, ErrUnknownType, ErrUnsupportedType
// (answer 9100) or ErrInvalidOrder, ErrControlBlock, ErrBadMessageID,
// ErrBadTimestamp, ErrCertificate (answer 9300/9400); see FaultCode.
//
// Parse checks structure only. Signatures are checked by Verify; until then
// nothing in the message is trustworthy.
func Parse(envelope []byte, lim xmlsec.Limits) (*Message, error) {
	doc, err := xmlsec.ParseBytes(envelope, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotOSCI, err)
	}
	return parseDocument(doc)
}

func parseDocument(doc *etree.Document) (*Message, error) {
	env := doc.Root()
	if !is(env, NSSoap, "Envelope") {
		return nil, fmt.Errorf("%w: root is not soap:Envelope", ErrNotOSCI)
	}
	var header, body *etree.Element
	for i, c := range env.ChildElements() {
		switch {
		case i == 0 && is(c, NSSoap, "Header"):
			header = c
		case body == nil && is(c, NSSoap, "Body"):
			body = c
		default:
			return nil, fmt.Errorf("%w: unexpected envelope child %s", ErrNotOSCI, c.FullTag())
		}
	}
	if body == nil {
		return nil, fmt.Errorf("%w: no soap:Body", ErrNotOSCI)
	}
	loc, ok := attrNS(env, NSXSI, "schemaLocation")
	if !ok {
		if f := child(body, NSSoap, "Fault"); f != nil {
			fe, err := parseFault(f)
			if err != nil {
				return nil, err
			}
			return &Message{Type: TypeFault, doc: doc}, fe
		}
		return nil, fmt.Errorf("%w: no xsi:schemaLocation", ErrNotOSCI)
	}
	t := TypeBySchemaLocation(loc)
	switch {
	case t == TypeUnknown:
		return nil, fmt.Errorf("%w: schemaLocation %q", ErrUnknownType, loc)
	case !t.Supported():
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedType, t)
	case t == TypeMessageEncrypted:
		return &Message{Type: t, doc: doc}, nil
	}
	if header == nil {
		return nil, fmt.Errorf("%w: no soap:Header", ErrNotOSCI)
	}
	m := &Message{Type: t, doc: doc, blocks: map[string]*etree.Element{}, ControlBlock: ControlBlock{SequenceNumber: NoSequence}}
	if err := m.parseHeaders(header); err != nil {
		return nil, err
	}
	if id, ok := attrPlain(body, "Id"); ok {
		m.blocks[id] = body
	}
	if err := m.parseBody(body); err != nil {
		return nil, err
	}
	return m, nil
}

// headerRank orders the OSCI header blocks as the schemas require.
var headerRank = map[string]int{
	"ControlBlock": 0, "ClientSignature": 1, "SupplierSignature": 1, "DesiredLanguages": 2,
	"QualityOfTimestamp": 3, "storeDelivery": 5, "fetchDelivery": 5,
	"responseToStoreDelivery": 5, "responseToFetchDelivery": 5,
	"IntermediaryCertificates": 6, "NonIntermediaryCertificates": 7,
}

// allowedHeaders lists, per type, the OSCI header blocks it may carry.
func allowedHeader(t MessageType, name string) bool {
	switch name {
	case "ControlBlock":
		return true
	case "ClientSignature", "DesiredLanguages":
		return !t.IsResponse()
	case "SupplierSignature", "IntermediaryCertificates":
		return t.IsResponse()
	case "NonIntermediaryCertificates":
		return !t.IsResponse() || t == TypeResponseToFetchDelivery
	case "QualityOfTimestamp", "storeDelivery":
		return t == TypeStoreDelivery
	case "fetchDelivery":
		return t == TypeFetchDelivery
	case "responseToStoreDelivery":
		return t == TypeResponseToStoreDelivery
	case "responseToFetchDelivery":
		return t == TypeResponseToFetchDelivery
	}
	return false
}

func (m *Message) parseHeaders(header *etree.Element) error {
	last, seen := -1, map[string]int{}
	otherSeen := false
	for _, h := range header.ChildElements() {
		if id, ok := attrPlain(h, "Id"); ok {
			if _, dup := m.blocks[id]; dup {
				return fmt.Errorf("%w: duplicate Id %q", ErrInvalidOrder, id)
			}
			m.blocks[id] = h
		}
		if h.NamespaceURI() != NSOSCI {
			otherSeen = true
			if is(h, NSOSCI2017, "FeatureDescription") {
				m.Features = parseFeatures(h)
			}
			continue
		}
		rank, known := headerRank[h.Tag]
		if !known || !allowedHeader(m.Type, h.Tag) {
			return fmt.Errorf("%w: header %s not allowed in %s", ErrInvalidOrder, h.Tag, m.Type)
		}
		if otherSeen {
			return fmt.Errorf("%w: header %s after foreign headers", ErrInvalidOrder, h.Tag)
		}
		if h.Tag == "QualityOfTimestamp" && seen[h.Tag] == 1 {
			rank = 4
		}
		if rank <= last {
			return fmt.Errorf("%w: header %s out of order", ErrInvalidOrder, h.Tag)
		}
		last = rank
		seen[h.Tag]++
		if err := m.parseHeader(h); err != nil {
			return err
		}
	}
	return m.checkRequired(seen)
}

func (m *Message) checkRequired(seen map[string]int) error {
	need := []string{"ControlBlock"}
	if !m.Type.IsResponse() {
		need = append(need, "DesiredLanguages")
	}
	switch m.Type {
	case TypeStoreDelivery:
		need = append(need, "storeDelivery", "NonIntermediaryCertificates")
		if seen["QualityOfTimestamp"] != 2 {
			return fmt.Errorf("%w: storeDelivery needs two QualityOfTimestamp headers", ErrInvalidOrder)
		}
		if m.NonIntermediary.Get(CipherAddressee) == nil {
			return fmt.Errorf("%w: storeDelivery without CipherCertificateAddressee", ErrInvalidOrder)
		}
	case TypeInitDialog:
		need = append(need, "NonIntermediaryCertificates")
	case TypeFetchDelivery, TypeResponseToStoreDelivery, TypeResponseToFetchDelivery:
		need = append(need, m.Type.ElementName())
	}
	for _, n := range need {
		if seen[n] == 0 {
			return fmt.Errorf("%w: %s without %s", ErrInvalidOrder, m.Type, n)
		}
	}
	if m.Type == TypeInitDialog && m.NonIntermediary.Get(CipherOriginator) == nil {
		return fmt.Errorf("%w: initDialog without CipherCertificateOriginator", ErrInvalidOrder)
	}
	if ExplicitOnly(m.Type) && m.ControlBlock.ConversationID == "" {
		// Sent outside a dialog: the supplier answers 9802 (CheckImplicit).
		return nil
	}
	return m.ControlBlock.CheckPresence(m.Type)
}

func (m *Message) parseHeader(h *etree.Element) error {
	var err error
	switch h.Tag {
	case "ControlBlock":
		m.ControlBlock, err = parseControlBlock(h)
	case "ClientSignature", "SupplierSignature":
		m.Signed = true
	case "DesiredLanguages":
		m.Languages = h.SelectAttrValue("LanguagesList", "")
	case "QualityOfTimestamp":
		q := h.SelectAttrValue("Quality", "")
		if q != "plain" && q != "cryptographic" {
			return fmt.Errorf("%w: QualityOfTimestamp %q", ErrInvalidOrder, q)
		}
		switch h.SelectAttrValue("Service", "") {
		case "creation":
			m.QualityCreation = q
		case "reception":
			m.QualityReception = q
		default:
			return fmt.Errorf("%w: QualityOfTimestamp service", ErrInvalidOrder)
		}
	case "storeDelivery":
		if m.MessageID, err = parseMessageID(child(h, NSOSCI, "MessageId")); err != nil {
			return err
		}
		m.Subject = childText(h, NSOSCI, "Subject")
	case "fetchDelivery":
		m.Selection, err = parseSelection(child(h, NSOSCI, "SelectionRule"))
	case "responseToStoreDelivery", "responseToFetchDelivery":
		err = m.parseResponseContent(h)
	case "IntermediaryCertificates":
		m.Intermediary, err = parseCertificates(h)
	case "NonIntermediaryCertificates":
		m.NonIntermediary, err = parseCertificates(h)
	}
	return err
}

// parseResponseContent reads Feedback, the echoed order and process cards.
func (m *Message) parseResponseContent(e *etree.Element) error {
	f := child(e, NSOSCI, "Feedback")
	if f == nil {
		return fmt.Errorf("%w: %s", ErrFeedbackMissing, m.Type)
	}
	var err error
	if m.Feedback, err = parseFeedback(f); err != nil {
		return err
	}
	for _, echo := range []string{"fetchDelivery", "fetchProcessCard"} {
		if x := child(e, NSOSCI, echo); x != nil {
			if m.Selection, err = parseSelection(child(x, NSOSCI, "SelectionRule")); err != nil {
				return err
			}
			if q := child(x, NSOSCI, "Quantity"); q != nil {
				m.QuantityLimit, _ = strconv.Atoi(q.SelectAttrValue("Limit", ""))
			}
		}
	}
	for _, b := range children(e, NSOSCI, "ProcessCardBundle") {
		pc, err := ParseProcessCardBundle(b)
		if err != nil {
			return err
		}
		m.ProcessCards = append(m.ProcessCards, pc)
	}
	if m.Type == TypeResponseToGetMessageID && m.Feedback.Err() == nil {
		if m.MessageID, err = parseMessageID(child(e, NSOSCI, "MessageId")); err != nil {
			return err
		}
	}
	return nil
}

func (m *Message) parseBody(body *etree.Element) error {
	kids := body.ChildElements()
	one := func(name string) (*etree.Element, error) {
		if len(kids) != 1 || !is(kids[0], NSOSCI, name) {
			return nil, fmt.Errorf("%w: %s body must be osci:%s", ErrInvalidOrder, m.Type, name)
		}
		return kids[0], nil
	}
	switch m.Type {
	case TypeInitDialog, TypeExitDialog, TypeGetMessageID:
		_, err := one(m.Type.ElementName())
		return err
	case TypeFetchProcessCard:
		e, err := one("fetchProcessCard")
		if err != nil {
			return err
		}
		if m.Selection, err = parseSelection(child(e, NSOSCI, "SelectionRule")); err != nil {
			return err
		}
		if q := child(e, NSOSCI, "Quantity"); q != nil {
			if m.QuantityLimit, err = strconv.Atoi(q.SelectAttrValue("Limit", "")); err != nil || m.QuantityLimit < 0 {
				return fmt.Errorf("%w: Quantity/@Limit", ErrInvalidOrder)
			}
		}
		return nil
	case TypeResponseToInitDialog, TypeResponseToExitDialog, TypeResponseToGetMessageID, TypeResponseToFetchProcessCard:
		e, err := one(m.Type.ElementName())
		if err != nil {
			return err
		}
		return m.parseResponseContent(e)
	case TypeFetchDelivery, TypeResponseToStoreDelivery:
		if len(kids) != 0 {
			return fmt.Errorf("%w: %s body must be empty", ErrInvalidOrder, m.Type)
		}
		return nil
	case TypeStoreDelivery, TypeResponseToFetchDelivery:
		if len(kids) == 0 && m.Type == TypeResponseToFetchDelivery {
			return nil
		}
		e, err := one("ContentPackage")
		m.ContentPackage = e
		return err
	}
	return nil
}

func parseControlBlock(h *etree.Element) (ControlBlock, error) {
	cb := ControlBlock{SequenceNumber: NoSequence}
	if v, ok := attrPlain(h, "ConversationId"); ok {
		if !isNumber(v) {
			return cb, fmt.Errorf("%w: ConversationId %q", ErrControlBlock, v)
		}
		cb.ConversationID = v
	}
	if v, ok := attrPlain(h, "SequenceNumber"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if !isNumber(v) || err != nil {
			return cb, fmt.Errorf("%w: SequenceNumber %q", ErrControlBlock, v)
		}
		cb.SequenceNumber = n
	}
	for _, c := range h.ChildElements() {
		switch {
		case is(c, NSOSCI, "Response") && cb.Response == "":
			cb.Response = c.Text()
		case is(c, NSOSCI, "Challenge") && cb.Challenge == "":
			cb.Challenge = c.Text()
		default:
			return cb, fmt.Errorf("%w: unexpected %s", ErrControlBlock, c.FullTag())
		}
	}
	return cb, nil
}

func parseCertificates(h *etree.Element) (Certificates, error) {
	var cs Certificates
	for _, c := range h.ChildElements() {
		if _, ok := elementRank[c.Tag]; !ok || c.NamespaceURI() != NSOSCI {
			return nil, fmt.Errorf("%w: unexpected %s", ErrCertificate, c.FullTag())
		}
		der, err := decodeB64(childText(child(c, NSDS, "X509Data"), NSDS, "X509Certificate"))
		if err != nil || len(der) == 0 {
			return nil, fmt.Errorf("%w: %s not base64", ErrCertificate, c.Tag)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrCertificate, c.Tag, err)
		}
		id, _ := attrPlain(c, "Id")
		cs = append(cs, CertEntry{Element: c.Tag, ID: id, Cert: cert})
	}
	return cs, nil
}

func parseSelection(e *etree.Element) (*SelectionRule, error) {
	if e == nil {
		return nil, nil
	}
	s := &SelectionRule{}
	for _, c := range e.ChildElements() {
		switch {
		case is(c, NSOSCI, "MessageId"):
			id, err := parseMessageID(c)
			if err != nil {
				return nil, err
			}
			s.MessageIDs = append(s.MessageIDs, id)
		case is(c, NSOSCI, "ReceptionOfDelivery"), is(c, NSOSCI, "RecentModification"):
			t, err := ParseTime(c.Text())
			if err != nil {
				return nil, err
			}
			if c.Tag == "ReceptionOfDelivery" {
				s.ReceptionOfDelivery = &t
			} else {
				s.RecentModification = &t
			}
			s.NoReception = c.SelectAttrValue("NoReception", "") == "true"
			s.Role = c.SelectAttrValue("Role", "")
		default:
			return nil, fmt.Errorf("%w: selection rule %s", ErrInvalidOrder, c.FullTag())
		}
	}
	return s, nil
}

func parseFeatures(h *etree.Element) []Feature {
	fs := []Feature{}
	for _, f := range children(child(h, NSOSCI2017, "SupportedFeatures"), NSOSCI2017, "Feature") {
		fs = append(fs, Feature{Key: f.SelectAttrValue("Key", ""), Version: f.SelectAttrValue("Version", "")})
	}
	return fs
}

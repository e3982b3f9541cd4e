package osci

import (
	"context"
	"crypto"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/beevik/etree"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// A fetchDelivery response is read twice in its life at most: when it
// arrives (Session.FetchDelivery) and, if that failed on its content, again
// from the bytes as received (ReadDelivery), once the cause is gone. In
// between the dialog may go on (ResumeUnreadable), so that a delivery
// that cannot be read does not stop every later one.

// ReadDelivery reads a fetchDelivery response as received (the HTTP body
// the intermediary sent, kept as evidence) without the intermediary: the
// transport layer decrypted with our cipher key, the intermediary's
// SupplierSignature verified as for a live response (only what it signed
// is returned), and the response checked to answer a selection of
// messageID. Attachments go to store. The dialog's ControlBlock is not
// checked: the dialog is over. Errors are those of parsing, decryption and
// verification, not wrapped in *TransportError or *UnverifiedError: nothing
// is left open about an order here.
func (c *Client) ReadDelivery(ctx context.Context, r io.Reader, messageID string, store AttachmentStore) (*Delivery, error) {
	in, err := c.readResponse(r, store)
	if err != nil {
		return nil, err
	}
	v, err := c.verifyResponse(ctx, in, store)
	if err != nil {
		return nil, err
	}
	if v.Type != TypeResponseToFetchDelivery {
		return nil, fmt.Errorf("%w: %s is not a response to fetchDelivery", ErrUnexpectedType, v.Type)
	}
	if err := v.Feedback.Err(); err != nil {
		return nil, err
	}
	return newDelivery(v, messageID)
}

// newDelivery is the delivery a verified responseToFetchDelivery carries.
func newDelivery(v *Verified, messageID string) (*Delivery, error) {
	if v.Selection == nil || len(v.Selection.MessageIDs) != 1 || v.Selection.MessageIDs[0] != messageID {
		return nil, fmt.Errorf("%w: response echoes another selection", ErrInvalidOrder)
	}
	d := &Delivery{MessageID: messageID, Response: v, Sender: v.NonIntermediary, More: v.Feedback.Has(CodeMoreDeliveries)}
	if len(v.ProcessCards) > 0 {
		d.Card = &v.ProcessCards[0]
	}
	return d, nil
}

// ResumeUnreadable continues the dialog after FetchDelivery of messageID
// failed on a response that arrived whole with status 200 but could not
// be read: parsing, transport decryption, a limit or the signature check
// failed on what it holds. response is that response as received (the
// HTTP body, which the caller keeps). Only its ControlBlock is read,
// streamed, so the limits that failed do not fail again, and checked as
// every response's is (Dialog.Resume): it must return the Challenge of
// our order, which only the intermediary could read. Then the delivery
// counts as handed out, as after a successful FetchDelivery: the session
// sends nothing until Acknowledge, and its next order acknowledges the
// reception. Nothing else of the response is believed. An error
// (ErrDialogState when the last failure was not of that kind) leaves the
// session closed: abandon it.
func (s *Session) ResumeUnreadable(messageID string, response io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unread == "" || s.unread != messageID {
		return fmt.Errorf("%w: no unreadable response of %s to resume from", ErrDialogState, messageID)
	}
	t, cb, err := s.c.responseControlBlock(response)
	if err != nil {
		s.d.Abort()
		return fmt.Errorf("osci: control block of the unreadable response: %w", err)
	}
	if err := s.d.Resume(t, cb); err != nil {
		return err
	}
	s.unread, s.closed, s.unack = "", false, messageID
	return nil
}

// responseControlBlock reads the message type and ControlBlock of a
// transport-encrypted response without parsing the rest of it.
func (c *Client) responseControlBlock(r io.Reader) (MessageType, ControlBlock, error) {
	mr, err := NewMIMEReader(r, c.cfg.MIME)
	if err != nil {
		return 0, ControlBlock{}, err
	}
	p, err := mr.NextPart()
	if err != nil {
		return 0, ControlBlock{}, fmt.Errorf("%w: %w", ErrMissingSOAPPart, err)
	}
	soap, err := io.ReadAll(p.Decoded())
	if err != nil {
		return 0, ControlBlock{}, err
	}
	m, err := Parse(soap, c.cfg.XML)
	if err != nil || m.Type != TypeMessageEncrypted {
		return 0, ControlBlock{}, errors.Join(ErrNotEncrypted, err)
	}
	ed, err := encryptedBody(m)
	if err != nil {
		return 0, ControlBlock{}, err
	}
	cp, err := mr.NextPart()
	if err != nil || cp.Header.ContentID != EncryptedContentID {
		return 0, ControlBlock{}, fmt.Errorf("%w: no cipher part", ErrEncryption)
	}
	dec := &xmlenc.Decrypter{Key: c.cfg.Cipher.Key.(crypto.Decrypter), SpoolDir: c.cfg.SpoolDir, Parts: onePart{cp.Decoded()}}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		_, err := dec.DecryptTo(pw, ed)
		pw.CloseWithError(err)
		close(done)
	}()
	defer func() {
		pr.CloseWithError(errors.New("osci: control block read"))
		<-done
	}()
	inner, err := NewMIMEReader(pr, c.cfg.MIME)
	if err != nil {
		return 0, ControlBlock{}, fmt.Errorf("osci: transport decryption: %w", err)
	}
	ip, err := inner.NextPart()
	if err != nil || ip.Header.ContentID != SOAPContentID {
		return 0, ControlBlock{}, fmt.Errorf("%w: inner message without soap part", ErrMissingSOAPPart)
	}
	return scanControlBlock(ip.Decoded(), c.cfg.XML)
}

// encryptedBody is the one xenc:EncryptedData of a soapMessageEncrypted body.
func encryptedBody(m *Message) (*etree.Element, error) {
	body := child(m.doc.Root(), NSSoap, "Body")
	if body == nil {
		return nil, fmt.Errorf("%w: no body", ErrEncryption)
	}
	eds := body.ChildElements()
	if len(eds) != 1 || !is(eds[0], NSXenc, "EncryptedData") {
		return nil, fmt.Errorf("%w: body must hold one xenc:EncryptedData", ErrEncryption)
	}
	return eds[0], nil
}

// scanControlBlock reads an OSCI envelope as a token stream, building no
// tree, up to the end of its soap:Header: the message type from
// xsi:schemaLocation and the osci:ControlBlock. It reads at most
// lim.MaxBytes and refuses a DOCTYPE.
func scanControlBlock(r io.Reader, lim xmlsec.Limits) (MessageType, ControlBlock, error) {
	dec := xml.NewDecoder(io.LimitReader(r, limit.Fill(lim, xmlsec.DefaultLimits()).MaxBytes))
	dec.Strict = true
	var (
		t      MessageType
		cb     = ControlBlock{SequenceNumber: NoSequence}
		found  bool
		depth  int
		inHead bool
		inCB   bool
		field  *string
	)
	for {
		tok, err := dec.Token()
		if err != nil {
			return 0, ControlBlock{}, fmt.Errorf("%w: %w", ErrNotOSCI, err)
		}
		switch e := tok.(type) {
		case xml.Directive:
			return 0, ControlBlock{}, fmt.Errorf("%w: DOCTYPE or other directive", ErrNotOSCI)
		case xml.StartElement:
			depth++
			n := e.Name
			switch {
			case depth == 1:
				if n.Space != NSSoap || n.Local != "Envelope" {
					return 0, ControlBlock{}, fmt.Errorf("%w: root is not soap:Envelope", ErrNotOSCI)
				}
				for _, a := range e.Attr {
					if a.Name.Space == NSXSI && a.Name.Local == "schemaLocation" {
						t = TypeBySchemaLocation(a.Value)
					}
				}
			case depth == 2:
				if n.Space != NSSoap || n.Local != "Header" {
					return 0, ControlBlock{}, fmt.Errorf("%w: no soap:Header before %s", ErrNotOSCI, n.Local)
				}
				inHead = true
			case depth == 3 && inHead && n.Space == NSOSCI && n.Local == "ControlBlock":
				if found {
					return 0, ControlBlock{}, fmt.Errorf("%w: two ControlBlocks", ErrControlBlock)
				}
				inCB, found = true, true
				for _, a := range e.Attr {
					if a.Name.Space != "" {
						continue
					}
					switch a.Name.Local {
					case "ConversationId":
						if !isNumber(a.Value) {
							return 0, ControlBlock{}, fmt.Errorf("%w: ConversationId %q", ErrControlBlock, a.Value)
						}
						cb.ConversationID = a.Value
					case "SequenceNumber":
						n, err := strconv.ParseInt(a.Value, 10, 64)
						if !isNumber(a.Value) || err != nil {
							return 0, ControlBlock{}, fmt.Errorf("%w: SequenceNumber %q", ErrControlBlock, a.Value)
						}
						cb.SequenceNumber = n
					}
				}
			case depth == 4 && inCB && n.Space == NSOSCI && n.Local == "Response" && cb.Response == "":
				field = &cb.Response
			case depth == 4 && inCB && n.Space == NSOSCI && n.Local == "Challenge" && cb.Challenge == "":
				field = &cb.Challenge
			case depth == 4 && inCB:
				return 0, ControlBlock{}, fmt.Errorf("%w: unexpected %s", ErrControlBlock, n.Local)
			}
		case xml.CharData:
			if field != nil {
				*field += string(e)
				if len(*field) > 1024 {
					return 0, ControlBlock{}, fmt.Errorf("%w: challenge too long", ErrControlBlock)
				}
			}
		case xml.EndElement:
			switch {
			case depth == 4:
				field = nil
			case depth == 3:
				inCB = false
			case depth == 2:
				if !found {
					return 0, ControlBlock{}, fmt.Errorf("%w: no ControlBlock", ErrControlBlock)
				}
				if t == TypeUnknown {
					return 0, ControlBlock{}, fmt.Errorf("%w: schemaLocation", ErrUnknownType)
				}
				return t, cb, cb.CheckPresence(t)
			}
			depth--
		}
	}
}

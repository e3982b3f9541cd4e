package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// MessageView is a message as the API shows it.
type MessageView struct {
	ID            int64     `json:"id"`
	Direction     string    `json:"direction"`
	Mailbox       string    `json:"mailbox"`
	State         string    `json:"state"`
	HeldFrom      string    `json:"heldFrom,omitempty"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	OSCIMessageID string    `json:"osciMessageId,omitempty"`
	// IdempotencyKey is the submitter's key ("api:<Idempotency-Key>" or
	// "outfolder:<directory>:<content hash>").
	IdempotencyKey string         `json:"idempotencyKey,omitempty"`
	ContentSHA256  string         `json:"contentSha256"`
	Size           int64          `json:"size"`
	Subject        string         `json:"subject"`
	Sender         string         `json:"sender"`
	Recipient      string         `json:"recipient"`
	LastError      *ErrorView     `json:"lastError,omitempty"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
	FinalizedAt    time.Time      `json:"finalizedAt,omitzero"`
	Documents      []DocumentView `json:"documents,omitempty"`
	// Meta is the message's metadata as stored: for incoming messages the
	// verification and business-card data, for outgoing ones the sending
	// metadata.
	Meta        json.RawMessage  `json:"meta,omitempty"`
	ProcessCard *ProcessCardView `json:"processCard,omitempty"`
	Intake      *IntakeView      `json:"intake,omitempty"`
	Events      []EventView      `json:"events,omitempty"`
	EEB         *EEBView         `json:"eeb,omitempty"`
}

// ErrorView is the last error recorded on a message.
type ErrorView struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// DocumentView is one document; N is its index for the download URL.
type DocumentView struct {
	N           int    `json:"n"`
	Role        string `json:"role"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Href        string `json:"href"`
	// PurgedAt is when retention removed the content (the download then
	// answers 410 Gone).
	PurgedAt time.Time `json:"purgedAt,omitzero"`
}

// ProcessCardView is the Laufzettel.
type ProcessCardView struct {
	OSCIMessageID      string               `json:"osciMessageId"`
	Creation           time.Time            `json:"creation,omitzero"`
	Forwarding         time.Time            `json:"forwarding,omitzero"`
	Reception          time.Time            `json:"reception,omitzero"`
	RecentModification time.Time            `json:"recentModification,omitzero"`
	Subject            string               `json:"subject,omitempty"`
	Inspections        []mailbox.Inspection `json:"inspections,omitempty"`
}

// IntakeView says where an incoming message was handed to the eAkte.
type IntakeView struct {
	Sink           string    `json:"sink"`
	Location       string    `json:"location"`
	ManifestSHA256 string    `json:"manifestSha256"`
	DeliveredAt    time.Time `json:"deliveredAt"`
}

// EventView is one journal entry of a message.
type EventView struct {
	Seq    int64           `json:"seq"`
	At     time.Time       `json:"at"`
	Kind   string          `json:"kind"`
	Detail json.RawMessage `json:"detail"`
}

// ViewMessage is how the API, and the CLI reading a stopped gateway's
// store, show a message row.
func ViewMessage(m mailbox.Message) MessageView {
	v := MessageView{ID: m.ID, Direction: string(m.Direction), Mailbox: m.Mailbox, State: string(m.State),
		HeldFrom: string(m.HeldFrom), Attempts: m.Attempts, NextAttemptAt: m.NextAttemptAt, OSCIMessageID: m.OSCIMessageID,
		IdempotencyKey: m.IdempotencyKey,
		ContentSHA256:  m.ContentSHA256, Size: m.Size, Subject: m.Subject, Sender: m.Sender, Recipient: m.Recipient,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, FinalizedAt: m.FinalizedAt}
	if m.LastErrorCode != "" || m.LastErrorText != "" {
		v.LastError = &ErrorView{Code: m.LastErrorCode, Text: m.LastErrorText}
	}
	if len(m.Meta) > 0 && json.Valid(m.Meta) {
		v.Meta = json.RawMessage(m.Meta)
	}
	for i, d := range m.Documents {
		v.Documents = append(v.Documents, DocumentView{N: i, Role: string(d.Role), Name: d.Name, ContentType: d.ContentType,
			SHA256: d.SHA256, Size: d.Size, Href: fmt.Sprintf("/v1/messages/%d/documents/%d", m.ID, i), PurgedAt: d.PurgedAt})
	}
	return v
}

func viewCard(c mailbox.ProcessCard) *ProcessCardView {
	return &ProcessCardView{OSCIMessageID: c.OSCIMessageID, Creation: c.Creation, Forwarding: c.Forwarding,
		Reception: c.Reception, RecentModification: c.RecentModification, Subject: c.Subject, Inspections: c.Inspections}
}

// Detail reads one message with its process card, intake record and
// journal events (without the API's own audit entries: reads of the
// message are in the journal, not in its history).
func Detail(ctx context.Context, st mailbox.Store, id int64) (MessageView, error) {
	m, err := st.Get(ctx, id)
	if err != nil {
		return MessageView{}, err
	}
	v := ViewMessage(m)
	if c, err := st.ProcessCard(ctx, id); err == nil {
		v.ProcessCard = viewCard(c)
	} else if !errors.Is(err, mailbox.ErrNotFound) {
		return MessageView{}, err
	}
	if rec, err := st.IntakeRecord(ctx, id); err == nil {
		v.Intake = &IntakeView{Sink: rec.Sink, Location: rec.Location, ManifestSHA256: rec.ManifestSHA256, DeliveredAt: rec.DeliveredAt}
	} else if !errors.Is(err, mailbox.ErrNotFound) {
		return MessageView{}, err
	}
	evs, err := st.MessageEvents(ctx, id)
	if err != nil {
		return MessageView{}, err
	}
	for _, e := range evs {
		if e.Kind != "api" {
			v.Events = append(v.Events, EventView{Seq: e.Seq, At: e.At, Kind: e.Kind, Detail: json.RawMessage(e.Detail)})
		}
	}
	return v, nil
}

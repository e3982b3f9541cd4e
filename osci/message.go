package osci

import (
	"time"

	"github.com/beevik/etree"
)

// Message is one OSCI message of a supported type: the order or response data
// of its header blocks and body. Builders fill it and call Envelope; Parse
// fills it from the wire. Fields that do not belong to the Type are ignored
// when building and zero after parsing.
type Message struct {
	Type         MessageType
	ControlBlock ControlBlock

	// Languages is DesiredLanguages/@LanguagesList (requests), e.g. "de".
	Languages string
	// QualityCreation and QualityReception are the storeDelivery
	// QualityOfTimestamp values, "plain" (default) or "cryptographic".
	QualityCreation, QualityReception string

	// MessageID (decoded) of storeDelivery and responseToGetMessageId.
	MessageID string
	// Subject of storeDelivery: for EGVP the message type ("Allgemeine Nachricht").
	Subject string
	// Selection of fetchDelivery and fetchProcessCard, echoed in their responses.
	Selection *SelectionRule
	// QuantityLimit of fetchProcessCard (Quantity/@Limit), 0 when absent.
	QuantityLimit int

	// Feedback of every response.
	Feedback Feedback
	// ProcessCards: at most one for store/fetchDelivery responses, any number
	// for responseToFetchProcessCard.
	ProcessCards []ProcessCardBundle

	NonIntermediary Certificates
	Intermediary    Certificates
	// Features of the osci2017:FeatureDescription header; nil omits it.
	Features []Feature

	// Content is the canonical osci:ContentPackage element of storeDelivery
	// and responseToFetchDelivery (nil: none). Parse leaves it nil and sets
	// ContentPackage instead.
	Content []byte

	// Set by Parse.
	ContentPackage *etree.Element // the parsed ContentPackage, nil when absent
	Signed         bool           // a Client- or SupplierSignature header is present
	doc            *etree.Document
	blocks         map[string]*etree.Element
}

// SelectionRule selects deliveries or process cards. Set one of the fields.
type SelectionRule struct {
	MessageIDs          []string   // fetchDelivery: at most one
	ReceptionOfDelivery *time.Time // deliveries received at or after
	RecentModification  *time.Time // fetchProcessCard: cards modified at or after
	NoReception         bool       // fetchProcessCard: only cards without Reception
	Role                string     // fetchProcessCard: "Addressee" or "Originator"
}

// Feature is an osci2017 feature a peer announces.
type Feature struct{ Key, Version string }

// DefaultFeatures are the features the reference library 2.4.1 announces.
func DefaultFeatures() []Feature {
	return []Feature{
		{"DisableBase64", "1.2.0"}, {"OAEPEncryption", "1.6.0"}, {"SHA3HashAlgo", "1.6.3"},
		{"GCMPaddingModus", "1.7.0"}, {"PartialMessageTransmission", "1.8.0"}, {"Support96Bit12ByteIV", "1.9.0"},
	}
}

// Document returns the parsed tree of a message read by Parse (nil for built
// messages). Verification uses it; callers must not trust data from it that
// was not verified.
func (m *Message) Document() *etree.Document { return m.doc }

// Block returns the parsed header block or body with the given Id.
func (m *Message) Block(id string) *etree.Element { return m.blocks[id] }

// Header block Ids the reference library writes.
const (
	IDControlBlock         = "controlblock"
	IDClientSignature      = "clientsignature"
	IDSupplierSignature    = "suppliersignature"
	IDDesiredLanguages     = "desiredlanguages"
	IDQualityCreation      = "qualityoftimestamp_creation"
	IDQualityReception     = "qualityoftimestamp_reception"
	IDStoreDelivery        = "storedelivery"
	IDFetchDelivery        = "fetchdelivery"
	IDNonIntermediaryCerts = idNonIntermediaryCerts
	IDIntermediaryCerts    = idIntermediaryCerts
	IDFeatureDescription   = "featuredescription"
	IDBody                 = "body"
)

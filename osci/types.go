package osci

import "strings"

// Namespaces with the prefixes OSCI messages must use: inclusive C14N depends
// on prefixes, and the reference library signs with exactly these.
const (
	NSSoap     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSOSCI     = "http://www.osci.de/2002/04/osci"
	NSDS       = "http://www.w3.org/2000/09/xmldsig#"
	NSXenc     = "http://www.w3.org/2001/04/xmlenc#"
	NSXSI      = "http://www.w3.org/2001/XMLSchema-instance"
	NSXenc11   = "http://www.w3.org/2009/xmlenc11#"
	NSOSCI2017 = "http://xoev.de/transport/osci12/7"
	NSOSCI128  = "http://xoev.de/transport/osci12/8"
	NSXML      = "http://www.w3.org/XML/1998/namespace"
)

// SOAP actors used on header blocks.
const (
	ActorNext = "http://schemas.xmlsoap.org/soap/actor/next"
	ActorNone = "http://www.w3.org/2001/12/soap-envelope/actor/none"
)

// XMLDeclaration precedes every envelope, as the reference library writes it.
const XMLDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\r\n"

// MessageType is an OSCI message type, named as in its schema (soap<Type>.xsd).
type MessageType int

// Message types. Only the passive-addressee subset is built and parsed;
// the others are recognised (so they can be refused precisely) but unsupported.
const (
	TypeUnknown MessageType = iota
	TypeInitDialog
	TypeResponseToInitDialog
	TypeExitDialog
	TypeResponseToExitDialog
	TypeGetMessageID
	TypeResponseToGetMessageID
	TypeStoreDelivery
	TypeResponseToStoreDelivery
	TypeFetchDelivery
	TypeResponseToFetchDelivery
	TypeFetchProcessCard
	TypeResponseToFetchProcessCard
	TypeMessageEncrypted
	TypeFault
	// recognised, not supported
	TypeForwardDelivery
	TypeResponseToForwardDelivery
	TypeMediateDelivery
	TypeResponseToMediateDelivery
	TypeAcceptDelivery
	TypeResponseToAcceptDelivery
	TypeProcessDelivery
	TypeResponseToProcessDelivery
	TypePartialStoreDelivery
	TypeResponseToPartialStoreDelivery
	TypePartialFetchDelivery
	TypeResponseToPartialFetchDelivery
	typeEnd
)

var typeNames = [...]string{
	TypeUnknown:                        "",
	TypeInitDialog:                     "InitDialog",
	TypeResponseToInitDialog:           "ResponseToInitDialog",
	TypeExitDialog:                     "ExitDialog",
	TypeResponseToExitDialog:           "ResponseToExitDialog",
	TypeGetMessageID:                   "GetMessageId",
	TypeResponseToGetMessageID:         "ResponseToGetMessageId",
	TypeStoreDelivery:                  "StoreDelivery",
	TypeResponseToStoreDelivery:        "ResponseToStoreDelivery",
	TypeFetchDelivery:                  "FetchDelivery",
	TypeResponseToFetchDelivery:        "ResponseToFetchDelivery",
	TypeFetchProcessCard:               "FetchProcessCard",
	TypeResponseToFetchProcessCard:     "ResponseToFetchProcessCard",
	TypeMessageEncrypted:               "MessageEncrypted",
	TypeFault:                          "Fault",
	TypeForwardDelivery:                "ForwardDelivery",
	TypeResponseToForwardDelivery:      "ResponseToForwardDelivery",
	TypeMediateDelivery:                "MediateDelivery",
	TypeResponseToMediateDelivery:      "ResponseToMediateDelivery",
	TypeAcceptDelivery:                 "AcceptDelivery",
	TypeResponseToAcceptDelivery:       "ResponseToAcceptDelivery",
	TypeProcessDelivery:                "ProcessDelivery",
	TypeResponseToProcessDelivery:      "ResponseToProcessDelivery",
	TypePartialStoreDelivery:           "PartialStoreDelivery",
	TypeResponseToPartialStoreDelivery: "ResponseToPartialStoreDelivery",
	TypePartialFetchDelivery:           "PartialFetchDelivery",
	TypeResponseToPartialFetchDelivery: "ResponseToPartialFetchDelivery",
}

// String returns the schema name of the type ("StoreDelivery").
func (t MessageType) String() string {
	if t > 0 && t < typeEnd {
		return typeNames[t]
	}
	return "Unknown"
}

// Supported reports whether this package builds and parses the type.
func (t MessageType) Supported() bool { return t > TypeUnknown && t <= TypeFault }

// IsResponse reports whether the type is a supplier's response.
func (t MessageType) IsResponse() bool { return strings.HasPrefix(t.String(), "ResponseTo") }

// ElementName is the local name of the order element ("storeDelivery"), which
// is also, lowercased, the Id of its header block where it has one.
func (t MessageType) ElementName() string {
	s := t.String()
	if s == "Unknown" {
		return ""
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// ResponseType returns the response type of an order type.
func (t MessageType) ResponseType() MessageType {
	switch t {
	case TypeInitDialog, TypeExitDialog, TypeGetMessageID, TypeStoreDelivery, TypeFetchDelivery, TypeFetchProcessCard:
		return t + 1
	}
	return TypeUnknown
}

// SchemaLocation returns the xsi:schemaLocation the reference library writes
// for the type and compares by exact string equality. Faults have none.
func (t MessageType) SchemaLocation() string {
	if t == TypeFault || t == TypeUnknown || t >= typeEnd {
		return ""
	}
	return "http://schemas.xmlsoap.org/soap/envelope/ soap" + t.String() +
		".xsd http://www.w3.org/2000/09/xmldsig# oscisig.xsd http://www.w3.org/2001/04/xmlenc# oscienc.xsd"
}

var bySchemaLocation = func() map[string]MessageType {
	m := map[string]MessageType{}
	for t := TypeInitDialog; t < typeEnd; t++ {
		if t != TypeFault {
			m[t.SchemaLocation()] = t
		}
	}
	return m
}()

// TypeBySchemaLocation dispatches on the exact schemaLocation string.
func TypeBySchemaLocation(s string) MessageType { return bySchemaLocation[s] }

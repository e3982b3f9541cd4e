package osci

import (
	"errors"
	"fmt"
)

// Code is an OSCI feedback or fault code (four digits on the wire, e.g. "0801").
type Code int

// String formats the code as it appears on the wire.
func (c Code) String() string { return fmt.Sprintf("%04d", int(c)) }

// Codes of OSCI-Transport 1.2 the codec and its callers act on. The full list
// is in the specification; unknown codes are carried through unchanged.
const (
	CodeDialogClosed Code = 800 // order executed, dialog closed
	CodeDialogOpen   Code = 801 // order executed, dialog still open

	CodeMoreDeliveries       Code = 3800 // further deliveries present
	CodeMoreProcessCards     Code = 3801 // further process cards present
	CodeNoRecipientSig       Code = 3802
	CodeRecipientUnencrypted Code = 3803

	CodeInternal            Code = 9000 // internal supplier error (SOAP Server fault)
	CodeInvalidMessage      Code = 9100 // not a valid OSCI message
	CodeNoPrivateKey        Code = 9200
	CodeCipherCertRevoked   Code = 9201
	CodeDecryptFailed       Code = 9202
	CodeInvalidOrder        Code = 9300 // order data is not a valid order
	CodeSequence            Code = 9400 // ConversationId, SequenceNumber or Response wrong
	CodeClientCipherMissing Code = 9500
	CodeClientCipherSig     Code = 9501
	CodeClientCipherRevoked Code = 9502
	CodeCertCheckInternal   Code = 9503 // internal error checking the cipher certificate (Server fault)

	CodeSignatureRequired Code = 9600
	CodeSignatureInvalid  Code = 9601
	CodeNotAllSigned      Code = 9602
	CodeNoMessageID       Code = 9800 // accept without MessageId
	CodeIllegalMessageID  Code = 9801 // not issued by this supplier, or already used
	CodeExplicitRequired  Code = 9802 // explicit dialog required
	CodeNoDelivery        Code = 9803 // no delivery matches the selection
	CodeNoProcessCard     Code = 9804 // no process card matches the selection
)

// OK reports whether the code says the order was executed (0xxx).
func (c Code) OK() bool { return c >= 0 && c < 1000 }

// Warning reports whether the code is a warning: the order was executed, and
// the code is a flag on the result (3800 more deliveries, 3801 more process cards, ...).
func (c Code) Warning() bool { return c >= 3000 && c < 4000 }

// Error reports whether the code says the order failed (9xxx).
func (c Code) Error() bool { return c >= 9000 && c < 10000 }

// Temporary reports whether repeating the order later (in a fresh dialog) may
// succeed. Classification:
//   - 9000, 9503: internal errors of the supplier: temporary.
//   - 9400: the dialog's ConversationId/SequenceNumber/Response do not match;
//     the order was not executed, and a fresh dialog can repeat it: temporary.
//   - every other 9xxx (invalid message or order, certificates, signatures,
//     MessageId, no match): permanent; repeating the same bytes gives the same answer.
//   - 0xxx and 3xxx are not errors and are never temporary.
func (c Code) Temporary() bool {
	switch c {
	case CodeInternal, CodeCertCheckInternal, CodeSequence:
		return true
	}
	return false
}

// FeedbackError is an order-level error the supplier reported in an
// osci:Feedback entry (9xxx). It compares equal under errors.Is to any
// *FeedbackError with the same Code, so the Err... values below are sentinels.
type FeedbackError struct {
	Code Code
	Text string // the supplier's text; informative only, never keyed on
}

func (e *FeedbackError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("osci: feedback %s", e.Code)
	}
	return fmt.Sprintf("osci: feedback %s: %s", e.Code, e.Text)
}

// Temporary reports whether the order may succeed when repeated; see Code.Temporary.
func (e *FeedbackError) Temporary() bool { return e.Code.Temporary() }

// Is matches any *FeedbackError with the same code.
func (e *FeedbackError) Is(target error) bool {
	t, ok := target.(*FeedbackError)
	return ok && t.Code == e.Code
}

// FaultError is a message-level error the supplier returned as a SOAP fault.
// It compares equal under errors.Is to any *FaultError with the same Code.
type FaultError struct {
	Server bool // faultcode Server (else Client)
	Code   Code
	Text   string // faultstring; informative only
}

func (e *FaultError) Error() string {
	side := "client"
	if e.Server {
		side = "server"
	}
	if e.Text == "" {
		return fmt.Sprintf("osci: soap fault (%s) %s", side, e.Code)
	}
	return fmt.Sprintf("osci: soap fault (%s) %s: %s", side, e.Code, e.Text)
}

// Temporary reports whether the order may succeed when repeated; see Code.Temporary.
func (e *FaultError) Temporary() bool { return e.Code.Temporary() }

// Is matches any *FaultError with the same code.
func (e *FaultError) Is(target error) bool {
	t, ok := target.(*FaultError)
	return ok && t.Code == e.Code
}

// UnverifiedError is an answer whose origin is not proven: a SOAP fault
// (OSCI faults are neither signed nor encrypted, so anyone on the path can
// write one) or a response whose SupplierSignature is missing or does not
// verify. It proves nothing about the order, which may have been executed:
// it is ambiguous (IsAmbiguous) and temporary whatever it says, and the code
// of a fault inside it (errors.As to *FaultError) is informative only. Only
// a verified, signed feedback refuses an order (*FeedbackError).
type UnverifiedError struct{ Err error }

func (e *UnverifiedError) Error() string { return "osci: answer not verified: " + e.Err.Error() }

// Unwrap gives ErrUnverified and the answer's own error.
func (e *UnverifiedError) Unwrap() []error { return []error{ErrUnverified, e.Err} }

// Temporary: nothing proves that repeating (after resolving) cannot succeed.
func (e *UnverifiedError) Temporary() bool { return true }

// Ambiguous: the order may have been executed.
func (e *UnverifiedError) Ambiguous() bool { return true }

// Sentinels for the feedback and fault codes callers branch on.
var (
	ErrFeedbackNoMessageID      = &FeedbackError{Code: CodeNoMessageID}
	ErrFeedbackIllegalMessageID = &FeedbackError{Code: CodeIllegalMessageID}
	ErrFeedbackExplicitRequired = &FeedbackError{Code: CodeExplicitRequired}
	ErrFeedbackNoDelivery       = &FeedbackError{Code: CodeNoDelivery}
	ErrFeedbackNoProcessCard    = &FeedbackError{Code: CodeNoProcessCard}
	ErrFeedbackSignatureMissing = &FeedbackError{Code: CodeSignatureRequired}
	ErrFeedbackSignatureInvalid = &FeedbackError{Code: CodeSignatureInvalid}

	ErrFaultInternal       = &FaultError{Server: true, Code: CodeInternal}
	ErrFaultInvalidMessage = &FaultError{Code: CodeInvalidMessage}
	ErrFaultDecrypt        = &FaultError{Code: CodeDecryptFailed}
	ErrFaultInvalidOrder   = &FaultError{Code: CodeInvalidOrder}
	ErrFaultSequence       = &FaultError{Code: CodeSequence}
)

// Sentinels. Parse errors wrap one of the codec sentinels and, where the
// supplier side needs it, a *FaultError carrying the code to answer with
// (see FaultCode).
var (
	// Codec.
	ErrMIME             = errors.New("osci: malformed mime")
	ErrMIMETruncated    = errors.New("osci: mime truncated")
	ErrLimit            = errors.New("osci: limit exceeded")
	ErrNotOSCI          = errors.New("osci: not an osci message")
	ErrUnknownType      = errors.New("osci: unknown message type")
	ErrUnsupportedType  = errors.New("osci: unsupported message type")
	ErrInvalidOrder     = errors.New("osci: invalid order data")
	ErrControlBlock     = errors.New("osci: controlblock violates presence rules")
	ErrDialogMismatch   = errors.New("osci: dialog mismatch")
	ErrUnexpectedType   = errors.New("osci: unexpected message type")
	ErrDialogState      = errors.New("osci: dialog in wrong state")
	ErrBadMessageID     = errors.New("osci: malformed message id")
	ErrBadTimestamp     = errors.New("osci: malformed timestamp")
	ErrCertificate      = errors.New("osci: malformed certificate")
	ErrFeedbackMissing  = errors.New("osci: feedback missing")
	ErrAttachmentSink   = errors.New("osci: attachment sink failed")
	ErrDuplicatePart    = errors.New("osci: duplicate mime part")
	ErrMissingSOAPPart  = errors.New("osci: soap part missing")
	ErrAmbiguousOutcome = errors.New("osci: outcome unknown")
	ErrUnverified       = errors.New("osci: answer not verified") // every *UnverifiedError

	// Transport encryption.
	ErrNotEncrypted = errors.New("osci: message not transport-encrypted")
	ErrEncryption   = errors.New("osci: transport encryption malformed")

	// Signatures.
	ErrSignerCertificate = errors.New("osci: signer certificate not in the message")
	ErrNotSigned         = errors.New("osci: message not signed")
	ErrSignature         = errors.New("osci: signature invalid")

	// Content layer.
	ErrContent          = errors.New("osci: content malformed")
	ErrNoContentKey     = errors.New("osci: no key for encrypted attachment")
	ErrContentSignature = errors.New("osci: content signature invalid")

	// Sessions.
	ErrUnacknowledged = errors.New("osci: delivery not acknowledged")
	ErrSessionClosed  = errors.New("osci: session closed")
)

// FaultCode returns the fault code a supplier answers a parse error with:
// the code of a *FaultError in err's chain, else 9100 for errors about the
// message as a whole and 9300 for bad order data.
func FaultCode(err error) Code {
	var f *FaultError
	if errors.As(err, &f) {
		return f.Code
	}
	switch {
	case errors.Is(err, ErrInvalidOrder),
		errors.Is(err, ErrBadMessageID), errors.Is(err, ErrBadTimestamp),
		errors.Is(err, ErrCertificate):
		return CodeInvalidOrder
	case errors.Is(err, ErrDialogMismatch), errors.Is(err, ErrControlBlock):
		return CodeSequence
	}
	return CodeInvalidMessage
}

// Temporary reports whether err says that repeating the operation later may
// succeed: an OSCI feedback classified temporary, any transport error or
// unverified answer (whether repeating is safe is IsAmbiguous's question),
// or a fault a supplier parsed classified temporary.
func Temporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return false
}

// Stage says how far a request got before its transport failed.
type Stage int

const (
	// StageConnect: dialing or the TLS handshake failed; no request byte was sent.
	StageConnect Stage = iota
	// StageRejected: the intermediary answered 429 or 503 before processing.
	StageRejected
	// StageSent: the request was (perhaps partly) written, and no complete,
	// well-formed answer arrived (timeout, reset, 5xx, truncated response).
	StageSent
)

// TransportError is a failure of the HTTP exchange carrying an OSCI message.
type TransportError struct {
	Stage      Stage
	StatusCode int // HTTP status, 0 when none arrived
	Err        error
}

func (e *TransportError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("osci: transport: http %d: %v", e.StatusCode, e.Err)
	}
	return fmt.Sprintf("osci: transport: %v", e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Temporary: every transport failure may go away; whether repeating is safe is
// a separate question answered by IsAmbiguous.
func (e *TransportError) Temporary() bool { return true }

// IsAmbiguous reports whether err leaves open whether the intermediary received
// and executed the order: a *TransportError at StageSent, an *UnverifiedError
// (a SOAP fault or an answer whose signature did not verify, for every order
// type), or an error wrapping ErrAmbiguousOutcome. Such an order must not be
// repeated blindly; a store is resolved by asking for the process card of its
// MessageId. Only a verified feedback, a failure before the first byte was
// sent and an outcome StoreDeliveryResolved settled are not ambiguous.
func IsAmbiguous(err error) bool {
	if err == nil {
		return false
	}
	var r *resolvedError
	if errors.As(err, &r) {
		return false
	}
	if errors.Is(err, ErrAmbiguousOutcome) || errors.Is(err, ErrUnverified) {
		return true
	}
	var t *TransportError
	if errors.As(err, &t) {
		return t.Stage == StageSent
	}
	return false
}

package osci

import (
	"fmt"
	"strconv"

	"github.com/beevik/etree"
)

// FeedbackEntry is one osci:Feedback/osci:Entry.
type FeedbackEntry struct {
	Lang string // xml:lang; the observed intermediary writes "de" with English text
	Code Code
	Text string
}

// Feedback is the list of entries of an osci:Feedback element.
type Feedback []FeedbackEntry

// Err returns a *FeedbackError for the first 9xxx entry, ErrFeedbackMissing for
// an empty list, and nil when the order was executed (0xxx, 3xxx).
func (f Feedback) Err() error {
	if len(f) == 0 {
		return ErrFeedbackMissing
	}
	for _, e := range f {
		if e.Code.Error() {
			return &FeedbackError{Code: e.Code, Text: e.Text}
		}
	}
	return nil
}

// Has reports whether an entry carries the code (e.g. 3800 more deliveries).
func (f Feedback) Has(c Code) bool {
	for _, e := range f {
		if e.Code == c {
			return true
		}
	}
	return false
}

// defaultTexts are the texts a supplier built with this package writes; peers
// key on the code only.
var defaultTexts = map[Code]string{
	CodeDialogClosed:      "Order executed, dialog closed",
	CodeDialogOpen:        "Order executed, dialog still open",
	CodeMoreDeliveries:    "Further deliveries are present",
	CodeMoreProcessCards:  "Further process cards are present",
	CodeInternal:          "Internal error of the supplier",
	CodeInvalidMessage:    "Not a valid OSCI message",
	CodeDecryptFailed:     "Order data could not be decrypted",
	CodeInvalidOrder:      "Order data is not a valid order",
	CodeSequence:          "ConversationId, SequenceNumber or Response wrong",
	CodeSignatureRequired: "Order is not signed, but a signature is required",
	CodeSignatureInvalid:  "Signature of the order is invalid",
	CodeNotAllSigned:      "Not all required parts of the order are signed",
	CodeNoMessageID:       "No MessageId",
	CodeIllegalMessageID:  "MessageId not issued by this supplier or already used",
	CodeExplicitRequired:  "Order requires an explicit dialog",
	CodeNoDelivery:        "No delivery matches the selection",
	CodeNoProcessCard:     "No process card matches the selection",
}

// DefaultText returns this package's text for a code, or "".
func DefaultText(c Code) string { return defaultTexts[c] }

// NewFeedback builds a feedback list with default texts (language "de", as the
// observed intermediary labels them).
func NewFeedback(codes ...Code) Feedback {
	f := make(Feedback, 0, len(codes))
	for _, c := range codes {
		f = append(f, FeedbackEntry{Lang: "de", Code: c, Text: DefaultText(c)})
	}
	return f
}

func (f Feedback) element() *xel {
	e := el("osci:Feedback")
	for _, en := range f {
		x := el("osci:Entry", el("osci:Code").txt(en.Code.String()))
		if en.Lang != "" {
			x.attr("xml:lang", en.Lang)
		}
		if en.Text != "" {
			x.add(el("osci:Text").txt(en.Text))
		}
		e.add(x)
	}
	return e
}

func parseFeedback(e *etree.Element) (Feedback, error) {
	var f Feedback
	for _, en := range children(e, NSOSCI, "Entry") {
		c := child(en, NSOSCI, "Code")
		if c == nil {
			return nil, fmt.Errorf("%w: feedback entry without code", ErrInvalidOrder)
		}
		code, err := parseCode(c.Text())
		if err != nil {
			return nil, err
		}
		fe := FeedbackEntry{Code: code}
		if a := en.SelectAttr("xml:lang"); a != nil {
			fe.Lang = a.Value
		}
		if t := child(en, NSOSCI, "Text"); t != nil {
			fe.Text = t.Text()
		}
		f = append(f, fe)
	}
	if len(f) == 0 {
		return nil, ErrFeedbackMissing
	}
	return f, nil
}

func parseCode(s string) (Code, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("%w: code %q", ErrInvalidOrder, s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: code %q", ErrInvalidOrder, s)
	}
	return Code(n), nil
}

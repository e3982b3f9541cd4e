package osci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestCodeClassification(t *testing.T) {
	tests := []struct {
		code                 Code
		ok, warn, fail, temp bool
	}{
		{CodeDialogClosed, true, false, false, false},
		{CodeDialogOpen, true, false, false, false},
		{CodeMoreDeliveries, false, true, false, false},
		{CodeMoreProcessCards, false, true, false, false},
		{CodeInternal, false, false, true, true},
		{CodeCertCheckInternal, false, false, true, true},
		{CodeSequence, false, false, true, true},
		{CodeInvalidMessage, false, false, true, false},
		{CodeInvalidOrder, false, false, true, false},
		{CodeDecryptFailed, false, false, true, false},
		{CodeSignatureInvalid, false, false, true, false},
		{CodeIllegalMessageID, false, false, true, false},
		{CodeExplicitRequired, false, false, true, false},
		{CodeNoDelivery, false, false, true, false},
		{Code(9905), false, false, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.code.String(), func(t *testing.T) {
			c := tc.code
			if c.OK() != tc.ok || c.Warning() != tc.warn || c.Error() != tc.fail || c.Temporary() != tc.temp {
				t.Fatalf("ok %v warn %v err %v temp %v", c.OK(), c.Warning(), c.Error(), c.Temporary())
			}
			if Temporary(fmt.Errorf("wrapped: %w", &FeedbackError{Code: c})) != tc.temp {
				t.Fatal("Temporary through wrapping")
			}
		})
	}
}

func TestFeedbackErr(t *testing.T) {
	tests := []struct {
		name string
		f    Feedback
		want error
	}{
		{"ok", NewFeedback(CodeDialogOpen), nil},
		{"ok with warning", NewFeedback(CodeDialogOpen, CodeMoreDeliveries), nil},
		{"no delivery", NewFeedback(CodeNoDelivery), ErrFeedbackNoDelivery},
		{"illegal message id", NewFeedback(CodeIllegalMessageID), ErrFeedbackIllegalMessageID},
		{"empty", nil, ErrFeedbackMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Err()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if errors.Is(&FeedbackError{Code: CodeNoDelivery}, ErrFeedbackNoProcessCard) {
		t.Fatal("9803 matched 9804")
	}
	if errors.Is(&FaultError{Code: CodeSequence}, &FeedbackError{Code: CodeSequence}) {
		t.Fatal("fault matched feedback")
	}
}

func TestIsAmbiguous(t *testing.T) {
	tests := []struct {
		name string
		err  error
		amb  bool
		temp bool
	}{
		{"nil", nil, false, false},
		{"dial failed", &TransportError{Stage: StageConnect, Err: errors.New("connection refused")}, false, true},
		{"429", &TransportError{Stage: StageRejected, StatusCode: 429, Err: errors.New("busy")}, false, true},
		{"timeout after sending", &TransportError{Stage: StageSent, Err: context.DeadlineExceeded}, true, true},
		{"500 after sending", &TransportError{Stage: StageSent, StatusCode: 500, Err: errors.New("x")}, true, true},
		{"truncated answer", fmt.Errorf("store: %w", &TransportError{Stage: StageSent, Err: io.ErrUnexpectedEOF}), true, true},
		{"marked ambiguous", fmt.Errorf("store: %w", ErrAmbiguousOutcome), true, false},
		{"feedback", &FeedbackError{Code: CodeIllegalMessageID}, false, false},
		{"fault", &FaultError{Server: true, Code: CodeInternal}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if IsAmbiguous(tc.err) != tc.amb || Temporary(tc.err) != tc.temp {
				t.Fatalf("ambiguous %v temporary %v", IsAmbiguous(tc.err), Temporary(tc.err))
			}
		})
	}
	if !errors.Is(&TransportError{Stage: StageSent, Err: context.DeadlineExceeded}, context.DeadlineExceeded) {
		t.Fatal("unwrap")
	}
}

func TestMessageTypes(t *testing.T) {
	for typ := TypeInitDialog; typ < typeEnd; typ++ {
		if typ == TypeFault {
			if typ.SchemaLocation() != "" {
				t.Fatal("fault has a schemaLocation")
			}
			continue
		}
		if got := TypeBySchemaLocation(typ.SchemaLocation()); got != typ {
			t.Errorf("%s dispatches to %s", typ, got)
		}
	}
	if TypeStoreDelivery.ElementName() != "storeDelivery" || TypeResponseToGetMessageID.ElementName() != "responseToGetMessageId" {
		t.Fatal("element names")
	}
	if TypeBySchemaLocation("http://schemas.xmlsoap.org/soap/envelope/ soapStoreDelivery.xsd") != TypeUnknown {
		t.Fatal("partial schemaLocation accepted")
	}
}

package mailbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// feedback imitates the shape of the osci package's feedback errors.
type feedback struct {
	code      string
	temporary bool
	ambiguous bool
	notFound  bool
}

func (f feedback) Error() string   { return "osci: feedback " + f.code }
func (f feedback) Temporary() bool { return f.temporary }
func (f feedback) Ambiguous() bool { return f.ambiguous }
func (f feedback) NotFound() bool  { return f.notFound }
func (f feedback) Code() string    { return f.code }

type onlyTemporary bool

func (o onlyTemporary) Error() string   { return "net" }
func (o onlyTemporary) Temporary() bool { return bool(o) }

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     Class
		code     string
		notFound bool
	}{
		{"temporary feedback", feedback{code: "9000", temporary: true}, Temporary, "9000", false},
		{"permanent feedback", feedback{code: "9601"}, Permanent, "9601", false},
		{"ambiguous wins over temporary", feedback{code: "", temporary: true, ambiguous: true}, Ambiguous, "", false},
		{"wrapped permanent", fmt.Errorf("send: %w", feedback{code: "9801"}), Permanent, "9801", false},
		{"no process card", feedback{code: "9804", notFound: true}, Permanent, "9804", true},
		{"plain temporary", onlyTemporary(true), Temporary, "", false},
		{"plain permanent", onlyTemporary(false), Permanent, "", false},
		{"unknown error is ambiguous", errors.New("boom"), Ambiguous, "", false},
		{"deadline is ambiguous", context.DeadlineExceeded, Ambiguous, "timeout", false},
		{"store not found", ErrNotFound, Ambiguous, "", true},
		{"adapter permanent", &PeerError{Class: Permanent, FeedbackCode: "9601"}, Permanent, "9601", false},
		{"adapter no card", fmt.Errorf("lookup: %w", &PeerError{Class: Permanent, FeedbackCode: "9804", Missing: true}), Permanent, "9804", true},
		{"adapter ambiguous", &PeerError{Class: Ambiguous, Err: errors.New("reset")}, Ambiguous, "", false},
		{"adapter temporary", &PeerError{Class: Temporary, FeedbackCode: "9000"}, Temporary, "9000", false},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify %v, want %v", tc.name, got, tc.want)
		}
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("%s: ErrorCode %q, want %q", tc.name, got, tc.code)
		}
		if got := IsNotFound(tc.err); got != tc.notFound {
			t.Errorf("%s: IsNotFound %v, want %v", tc.name, got, tc.notFound)
		}
	}
	if Classify(nil) != 0 {
		t.Fatal("nil error classified")
	}
}

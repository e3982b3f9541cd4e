package addressbook_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

// refusal is a change to a good entry that Add must refuse: with the
// sentinel want (and cause, when not nil) on field, its reason holding
// reason.
type refusal struct {
	name   string
	change func(*addressbook.Recipient)
	want   error
	cause  error
	field  string
	reason string
}

// wantRefusals adds good, changed as each case says, to book, and fails
// unless every one is refused as the case says and none is stored.
func wantRefusals(t *testing.T, book *addressbook.Book, good addressbook.Recipient, tests []refusal) {
	t.Helper()
	before := len(book.List())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.change(&r)
			_, err := book.Add(context.Background(), r)
			var fe *field.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) {
				t.Fatalf("err = %v, want %v on %s saying %q", err, tc.want, tc.field, tc.reason)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want cause %v", err, tc.cause)
			}
			if n := len(book.List()); n != before {
				t.Errorf("%d entries stored, want %d", n, before)
			}
		})
	}
}

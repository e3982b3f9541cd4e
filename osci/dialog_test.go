package osci

import (
	"errors"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// supplier is a minimal supplier side over SupplierDialog, as the simulator keeps it.
type supplier struct {
	dialogs map[string]*SupplierDialog
	next    int
}

func (s *supplier) answer(t *testing.T, typ MessageType, cb ControlBlock) (ControlBlock, error) {
	t.Helper()
	rand := certstest.DetRand("supplier")
	switch {
	case typ == TypeInitDialog:
		s.next++
		d, resp, err := OpenSupplierDialog(cb, "1000"+string(rune('0'+s.next)), rand)
		if err == nil {
			s.dialogs[d.ConversationID] = d
		}
		return resp, err
	case cb.ConversationID == "":
		return CheckImplicit(typ, cb, "4711")
	default:
		d := s.dialogs[cb.ConversationID]
		if d == nil {
			return ControlBlock{}, ErrFaultSequence
		}
		return d.Accept(typ, cb, rand)
	}
}

// TestDialogExplicitCycle runs init, two fetches, a getMessageId and exit
// between the client and the supplier checker.
func TestDialogExplicitCycle(t *testing.T) {
	s := &supplier{dialogs: map[string]*SupplierDialog{}}
	d := NewDialog(certstest.DetRand("client"))
	seqs := []int64{NoSequence, 0, 1, 2, 3}
	for i, typ := range []MessageType{TypeInitDialog, TypeFetchDelivery, TypeFetchProcessCard, TypeGetMessageID, TypeExitDialog} {
		cb, err := d.Request(typ)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if cb.SequenceNumber != seqs[i] {
			t.Fatalf("%s: sequence %d, want %d", typ, cb.SequenceNumber, seqs[i])
		}
		resp, err := s.answer(t, typ, cb)
		if err != nil {
			t.Fatalf("%s: supplier: %v", typ, err)
		}
		if err := d.Response(typ.ResponseType(), resp); err != nil {
			t.Fatalf("%s: client check: %v", typ, err)
		}
	}
	if _, err := d.Request(TypeFetchDelivery); !errors.Is(err, ErrDialogState) {
		t.Fatalf("fetch after exit: %v", err)
	}
}

func TestDialogImplicit(t *testing.T) {
	d := NewDialog(certstest.DetRand("c"))
	for _, typ := range []MessageType{TypeGetMessageID, TypeStoreDelivery} {
		cb, err := d.Request(typ)
		if err != nil {
			t.Fatal(err)
		}
		if cb.Response != "" || cb.ConversationID != "" || cb.SequenceNumber != 0 || len(cb.Challenge) != 16 {
			t.Fatalf("implicit control block %+v", cb)
		}
		resp, err := CheckImplicit(typ, cb, "4711")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Response(typ.ResponseType(), resp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Request(TypeFetchDelivery); !errors.Is(err, ErrDialogState) {
		t.Fatalf("fetch without dialog: %v", err)
	}
}

// TestDialogClientChecks: every way a response echo can be wrong breaks the dialog.
func TestDialogClientChecks(t *testing.T) {
	open := func(t *testing.T) (*Dialog, ControlBlock, ControlBlock) {
		s := &supplier{dialogs: map[string]*SupplierDialog{}}
		d := NewDialog(certstest.DetRand("c"))
		cb, _ := d.Request(TypeInitDialog)
		resp, _ := s.answer(t, TypeInitDialog, cb)
		if err := d.Response(TypeResponseToInitDialog, resp); err != nil {
			t.Fatal(err)
		}
		req, err := d.Request(TypeFetchDelivery)
		if err != nil {
			t.Fatal(err)
		}
		good, err := s.answer(t, TypeFetchDelivery, req)
		if err != nil {
			t.Fatal(err)
		}
		return d, req, good
	}
	tests := []struct {
		name string
		typ  MessageType
		mod  func(cb *ControlBlock)
		want error
	}{
		{"wrong response", TypeResponseToFetchDelivery, func(cb *ControlBlock) { cb.Response = "other" }, ErrDialogMismatch},
		{"wrong conversation", TypeResponseToFetchDelivery, func(cb *ControlBlock) { cb.ConversationID = "999" }, ErrDialogMismatch},
		{"wrong sequence", TypeResponseToFetchDelivery, func(cb *ControlBlock) { cb.SequenceNumber++ }, ErrDialogMismatch},
		{"missing challenge", TypeResponseToFetchDelivery, func(cb *ControlBlock) { cb.Challenge = "" }, ErrControlBlock},
		{"wrong type", TypeResponseToStoreDelivery, func(*ControlBlock) {}, ErrUnexpectedType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, _, resp := open(t)
			tc.mod(&resp)
			if err := d.Response(tc.typ, resp); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if _, err := d.Request(TypeExitDialog); !errors.Is(err, ErrDialogState) {
				t.Fatalf("broken dialog still sends: %v", err)
			}
		})
	}
	t.Run("second request before answer", func(t *testing.T) {
		d, _, _ := open(t)
		if _, err := d.Request(TypeExitDialog); !errors.Is(err, ErrDialogState) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("implicit answered with sequence 1", func(t *testing.T) {
		d := NewDialog(certstest.DetRand("c"))
		cb, _ := d.Request(TypeGetMessageID)
		if err := d.Response(TypeResponseToGetMessageID, ControlBlock{Response: cb.Challenge, ConversationID: "1", SequenceNumber: 1}); !errors.Is(err, ErrDialogMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("implicit answered without conversation id", func(t *testing.T) {
		d := NewDialog(certstest.DetRand("c"))
		cb, _ := d.Request(TypeStoreDelivery)
		if err := d.Response(TypeResponseToStoreDelivery, ControlBlock{Response: cb.Challenge, SequenceNumber: 0}); !errors.Is(err, ErrControlBlock) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSupplierChecks: the answers a supplier gives to wrong dialog data.
func TestSupplierChecks(t *testing.T) {
	rand := certstest.DetRand("s")
	d, initResp, err := OpenSupplierDialog(ControlBlock{Challenge: "c1", SequenceNumber: NoSequence}, "77", rand)
	if err != nil {
		t.Fatal(err)
	}
	good := ControlBlock{Response: initResp.Challenge, Challenge: "c2", ConversationID: "77", SequenceNumber: 0}
	tests := []struct {
		name string
		typ  MessageType
		cb   func() ControlBlock
		want error
	}{
		{"wrong response", TypeFetchDelivery, func() ControlBlock { c := good; c.Response = "x"; return c }, ErrFaultSequence},
		{"wrong conversation", TypeFetchDelivery, func() ControlBlock { c := good; c.ConversationID = "78"; return c }, ErrFaultSequence},
		{"sequence skipped", TypeFetchDelivery, func() ControlBlock { c := good; c.SequenceNumber = 1; return c }, ErrFaultSequence},
		{"sequence missing", TypeFetchDelivery, func() ControlBlock { c := good; c.SequenceNumber = NoSequence; return c }, ErrFaultSequence},
		{"no challenge", TypeFetchDelivery, func() ControlBlock { c := good; c.Challenge = ""; return c }, ErrFaultSequence},
		{"init inside dialog", TypeInitDialog, func() ControlBlock { return good }, ErrFaultSequence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := *d
			_, err := d.Accept(tc.typ, tc.cb(), rand)
			if !errors.Is(err, tc.want) || FaultCode(err) != CodeSequence {
				t.Fatalf("err = %v (code %s), want %v", err, FaultCode(err), tc.want)
			}
			if *d != before {
				t.Fatal("rejected order changed the dialog")
			}
		})
	}
	implicit := []struct {
		name string
		typ  MessageType
		cb   ControlBlock
		want error
	}{
		{"fetchDelivery needs explicit dialog", TypeFetchDelivery, ControlBlock{Challenge: "c", SequenceNumber: 0}, ErrFeedbackExplicitRequired},
		{"fetchProcessCard needs explicit dialog", TypeFetchProcessCard, ControlBlock{Challenge: "c", SequenceNumber: 0}, ErrFeedbackExplicitRequired},
		{"implicit with response", TypeStoreDelivery, ControlBlock{Response: "r", Challenge: "c", SequenceNumber: 0}, ErrFaultSequence},
		{"implicit with sequence 1", TypeGetMessageID, ControlBlock{Challenge: "c", SequenceNumber: 1}, ErrFaultSequence},
		{"implicit without challenge", TypeGetMessageID, ControlBlock{SequenceNumber: 0}, ErrFaultSequence},
	}
	for _, tc := range implicit {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CheckImplicit(tc.typ, tc.cb, "1"); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("exit closes", func(t *testing.T) {
		resp, err := d.Accept(TypeExitDialog, good, rand)
		if err != nil || resp.Challenge != "" || resp.SequenceNumber != 0 || !d.Closed {
			t.Fatalf("resp %+v err %v", resp, err)
		}
		next := good
		next.Response, next.SequenceNumber = "", 1
		if _, err := d.Accept(TypeFetchDelivery, next, rand); !errors.Is(err, ErrFaultSequence) {
			t.Fatalf("after exit: %v", err)
		}
	})
}

// TestPresenceMatrix checks every cell of the matrix for every supported type.
func TestPresenceMatrix(t *testing.T) {
	full := ControlBlock{Response: "r", Challenge: "c", ConversationID: "1", SequenceNumber: 0}
	// unset removes field i (in the matrix's order) from cb.
	unset := func(cb *ControlBlock, i int) {
		switch i {
		case 0:
			cb.Response = ""
		case 1:
			cb.Challenge = ""
		case 2:
			cb.ConversationID = ""
		case 3:
			cb.SequenceNumber = NoSequence
		}
	}
	for typ, rules := range presence {
		for i, rule := range rules {
			cb := full
			unset(&cb, i)
			// Fill required fields, clear forbidden ones except field i.
			for j, r := range rules {
				if j != i && r == forbidden {
					unset(&cb, j)
				}
			}
			errAbsent := cb.CheckPresence(typ)
			if (rule == required) != errors.Is(errAbsent, ErrControlBlock) {
				t.Errorf("%s field %d absent: rule %d err %v", typ, i, rule, errAbsent)
			}
		}
	}
}

func TestChallenge(t *testing.T) {
	c, err := NewChallenge(certstest.DetRand("x"))
	if err != nil || len(c) != 16 {
		t.Fatalf("%q %v", c, err)
	}
}

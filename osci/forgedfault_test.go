package osci

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// forgeFault answers request n with an unsigned SOAP fault, as anyone
// between the client and the intermediary can.
func forgeFault(n int, c Code) func(int, http.ResponseWriter) bool {
	return func(i int, w http.ResponseWriter) bool {
		if i != n {
			return false
		}
		_ = WriteMessage(w, WriteOptions{Rand: certstest.DetRand("forged")}, FaultEnvelope(c, ""))
		return true
	}
}

// TestForgedFaultAfterStore: the intermediary executes the store, and an
// unsigned SOAP fault comes back instead of its signed answer. The fault
// proves nothing, whatever its code: the outcome is ambiguous, the process
// card settles it, and the delivery is not stored a second time.
func TestForgedFaultAfterStore(t *testing.T) {
	ctx := context.Background()
	for _, code := range []Code{CodeInvalidOrder, CodeInvalidMessage, CodeInternal, CodeNoProcessCard} {
		t.Run(code.String(), func(t *testing.T) {
			fake, c, id := withMessageID(t, forgeFault(2, code), nil) // 1 getMessageId, 2 storeDelivery
			_, err := c.StoreDelivery(ctx, storeFor(c, id))
			var fault *FaultError
			if !IsAmbiguous(err) || !Temporary(err) || !errors.Is(err, ErrUnverified) || !errors.As(err, &fault) || fault.Code != code {
				t.Fatalf("forged fault: %v (ambiguous %v, temporary %v)", err, IsAmbiguous(err), Temporary(err))
			}
			// What a caller does with an ambiguous store: ask the process card.
			pc, err := c.FetchProcessCard(ctx, id)
			if err != nil || pc.ProcessCard.Creation == nil {
				t.Fatalf("process card %+v: %v", pc, err)
			}
			if fake.stored() != 1 || fake.count(TypeStoreDelivery) != 1 {
				t.Fatalf("%d deliveries from %d stores", fake.stored(), fake.count(TypeStoreDelivery))
			}
		})
	}
	t.Run("resolved by the process card, not by sending again", func(t *testing.T) {
		fake, c, id := withMessageID(t, forgeFault(2, CodeInvalidOrder), nil)
		card, err := c.StoreDeliveryResolved(ctx, storeFor(c, id))
		if err != nil || card.MessageID != id || card.ProcessCard.Creation == nil {
			t.Fatalf("card %+v: %v", card, err)
		}
		if fake.stored() != 1 || fake.count(TypeStoreDelivery) != 1 || fake.count(TypeFetchProcessCard) != 1 {
			t.Fatalf("%d deliveries, %d stores, %d card lookups", fake.stored(), fake.count(TypeStoreDelivery), fake.count(TypeFetchProcessCard))
		}
	})
	t.Run("forged 9804 on the card lookup does not say the store did not happen", func(t *testing.T) {
		forged := forgeFault(4, CodeNoProcessCard) // 2 store (answer lost), 3 initDialog, 4 fetchProcessCard
		fake, c, id := withMessageID(t, func(n int, w http.ResponseWriter) bool {
			if n == 2 {
				dropConnection(w)
				return true
			}
			return forged(n, w)
		}, nil)
		_, err := c.StoreDeliveryResolved(ctx, storeFor(c, id))
		if !IsAmbiguous(err) || errors.Is(err, ErrFeedbackNoProcessCard) {
			t.Fatalf("err %v (ambiguous %v)", err, IsAmbiguous(err))
		}
		if _, err := c.FetchProcessCard(ctx, id); err != nil {
			t.Fatal(err)
		}
		if fake.stored() != 1 || fake.count(TypeStoreDelivery) != 1 {
			t.Fatalf("%d deliveries from %d stores", fake.stored(), fake.count(TypeStoreDelivery))
		}
	})
	t.Run("a fault before the store is believed once the card proves nothing was stored", func(t *testing.T) {
		for _, tc := range []struct {
			code      Code
			temporary bool
		}{{CodeInvalidOrder, false}, {CodeInternal, true}} {
			before := forgeFault(2, tc.code)
			fake, c, id := withMessageID(t, nil, func(n int, w http.ResponseWriter, _ *Incoming) bool { return before(n, w) })
			_, err := c.StoreDeliveryResolved(ctx, storeFor(c, id))
			if err == nil || IsAmbiguous(err) || Temporary(err) != tc.temporary || fake.stored() != 0 {
				t.Fatalf("%s: %v (ambiguous %v, temporary %v), %d stored", tc.code, err, IsAmbiguous(err), Temporary(err), fake.stored())
			}
		}
	})
	t.Run("a signed refusal is a refusal", func(t *testing.T) {
		fake := newFake(t)
		srv := httptest.NewServer(fake)
		defer srv.Close()
		c := newTestClient(t, srv.URL)
		_, err := c.StoreDeliveryResolved(ctx, storeFor(c, "govapp_never_issued"))
		if !errors.Is(err, ErrFeedbackIllegalMessageID) || IsAmbiguous(err) || Temporary(err) || errors.Is(err, ErrUnverified) {
			t.Fatalf("err %v", err)
		}
		if fake.count(TypeFetchProcessCard) != 0 {
			t.Fatal("a verified refusal was resolved by process card")
		}
	})
}

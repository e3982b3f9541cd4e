package intermediary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// TestFaultInjection drives every fault kind through our client.
func TestFaultInjection(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     Fault
		want      error
		ambiguous bool
	}{
		{"delay", Fault{Type: osci.TypeGetMessageID, Kind: FaultDelay, Delay: 20 * time.Millisecond}, nil, false},
		{"503 once is retried", Fault{Type: osci.TypeGetMessageID, Nth: 1, Kind: FaultStatus, Status: http.StatusServiceUnavailable}, nil, false},
		{"500 after executing", Fault{Type: osci.TypeGetMessageID, Kind: FaultStatus, Status: http.StatusInternalServerError, AfterExecute: true}, &osci.TransportError{}, true},
		{"dropped mid-body", Fault{Type: osci.TypeGetMessageID, Kind: FaultDropMidBody}, &osci.TransportError{}, true},
		{"truncated xml", Fault{Type: osci.TypeGetMessageID, Kind: FaultTruncateXML}, osci.ErrMIMETruncated, true},
		{"wrong signature", Fault{Type: osci.TypeGetMessageID, Kind: FaultWrongSignature}, osci.ErrSignature, true},
		{"wrong sequence number", Fault{Type: osci.TypeGetMessageID, Kind: FaultWrongSequence}, osci.ErrDialogMismatch, true},
		{"soap fault 9000", Fault{Type: osci.TypeGetMessageID, Kind: FaultSOAP, Code: osci.CodeInternal}, osci.ErrFaultInternal, false},
	}
	var transcript strings.Builder
	defer func() {
		if !t.Failed() {
			golden(t, "faults.txt", []byte(transcript.String()))
		}
	}()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newSimulator(t, tc.fault)
			id, err := newClient(t, srv.URL, "alice").GetMessageID(ctx)
			fmt.Fprintf(&transcript, "%-22s id=%q error=%s ambiguous=%v temporary=%v\n", tc.name, id, classify(err), osci.IsAmbiguous(err), osci.Temporary(err))
			var te *osci.TransportError
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
			case *osci.TransportError:
				if !errors.As(err, &te) {
					t.Fatalf("err = %v, want a transport error", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("err = %v, want %v", err, want)
				}
			}
			if osci.IsAmbiguous(err) != tc.ambiguous {
				t.Fatalf("ambiguous = %v: %v", osci.IsAmbiguous(err), err)
			}
		})
	}
	t.Run("store answered 500 after executing is resolved by its process card", func(t *testing.T) {
		sim, srv := newSimulator(t, Fault{Type: osci.TypeStoreDelivery, Kind: FaultStatus, Status: http.StatusInternalServerError, AfterExecute: true})
		alice := newClient(t, srv.URL, "alice")
		id, err := alice.GetMessageID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bob := keyPair(t, "bob_cipher_4096").Cert
		card, err := alice.StoreDeliveryResolved(ctx, osci.OutgoingDelivery{MessageID: id, Subject: "Testnachricht", Addressee: bob,
			Content: []byte("<osci:ContentPackage></osci:ContentPackage>")})
		if err != nil || card.MessageID != id || card.ProcessCard.Creation == nil {
			t.Fatalf("card %+v err %v", card, err)
		}
		if len(sim.deliveries) != 1 {
			t.Fatalf("%d deliveries", len(sim.deliveries))
		}
	})
	t.Run("wrong sequence number inside a fetch dialog", func(t *testing.T) {
		_, srv := newSimulator(t, Fault{Type: osci.TypeFetchProcessCard, Kind: FaultWrongSequence})
		s, err := newClient(t, srv.URL, "bob").OpenSession(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ProcessCards(ctx, nil, 0); !errors.Is(err, osci.ErrDialogMismatch) {
			t.Fatalf("err = %v", err)
		}
		if err := s.Close(ctx); !errors.Is(err, osci.ErrSessionClosed) {
			t.Fatalf("broken dialog still sends: %v", err)
		}
	})
}

// classify describes an error without its run-dependent text (ports).
func classify(err error) string {
	var te *osci.TransportError
	var fe *osci.FaultError
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &fe):
		return fmt.Sprintf("fault(%s)", fe.Code)
	case errors.As(err, &te):
		return fmt.Sprintf("transport(stage=%d,http=%d)", te.Stage, te.StatusCode)
	}
	return fmt.Sprintf("%T", err)
}

// TestReferenceVectorsAnswered feeds the reference library's requests to the
// simulator: each is decrypted, verified and answered (storeDelivery with
// 9801, since the simulator did not issue that MessageId).
func TestReferenceVectorsAnswered(t *testing.T) {
	tests := []struct {
		file     string
		client   string // whose cipher key the response is encrypted to
		typ      osci.MessageType
		feedback osci.Code
	}{
		{"requests-encrypted/initDialog.mime", "bob", osci.TypeResponseToInitDialog, osci.CodeDialogOpen},
		{"requests-encrypted/getMessageId.mime", "alice", osci.TypeResponseToGetMessageID, osci.CodeDialogClosed},
		{"requests-encrypted/storeDelivery.mime", "alice", osci.TypeResponseToStoreDelivery, osci.CodeIllegalMessageID},
		{"requests-plain/getMessageId.mime", "alice", osci.TypeResponseToGetMessageID, osci.CodeDialogClosed},
		{"requests-plain/storeDelivery.mime", "alice", osci.TypeResponseToStoreDelivery, osci.CodeIllegalMessageID},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, srv := newSimulator(t)
			body, err := os.ReadFile(filepath.Join(sharedDir(t), "vectors", "osci-java", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Post(srv.URL+"/osci-manager-entry/externalentry", "text/xml", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			in, err := osci.ReadMessage(resp.Body, osci.ReadOptions{Decrypter: decrypter(t, tc.client+"_cipher_4096")})
			if err != nil {
				t.Fatal(err)
			}
			v, err := in.Message.Verify(context.Background(), osci.VerifyOptions{Keys: pinned(keyPair(t, "osci_manager_signature_4096").Cert)})
			if err != nil {
				t.Fatal(err)
			}
			if v.Type != tc.typ || v.Feedback[0].Code != tc.feedback {
				t.Fatalf("%s %+v", v.Type, v.Feedback)
			}
		})
	}
}

package intermediary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
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
		{"soap fault 9000", Fault{Type: osci.TypeGetMessageID, Kind: FaultSOAP, Code: osci.CodeInternal}, osci.ErrFaultInternal, true},
		{"signed feedback 9601", Fault{Type: osci.TypeGetMessageID, Kind: FaultFeedback, Code: osci.CodeSignatureInvalid}, osci.ErrFeedbackSignatureInvalid, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newSimulator(t, tc.fault)
			id, err := newClient(t, srv.URL, "alice").GetMessageID(ctx)
			if (err == nil) != (id != "") {
				t.Fatalf("id %q with err %v", id, err)
			}
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
			body, err := os.ReadFile(filepath.Join(certstest.SharedDir(t), "vectors", "osci-java", tc.file))
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

// TestTranscriptFaults runs each fault the simulator injects, and the
// refusals of the OSCI rules, between our client and the simulator, and keeps
// the transcripts in testdata/osci/faults/: what went over the wire and what
// the client made of it (error class, resolution by process card).
func TestTranscriptFaults(t *testing.T) {
	ctx := context.Background()
	type resolution int
	const (
		none      resolution = iota
		stored               // the process card shows the store happened
		notStored            // no process card: the store did not happen; sent again
	)
	stores := []struct {
		name    string
		fault   Fault
		timeout time.Duration
		class   string // of the store's outcome: ok, ambiguous, temporary, permanent
		want    error  // sentinel of the store's error
		resolve resolution
	}{
		{"delay", Fault{Type: osci.TypeStoreDelivery, Kind: FaultDelay, Delay: 50 * time.Millisecond}, 0, "ok", nil, none},
		{"delay-beyond-timeout", Fault{Type: osci.TypeStoreDelivery, Nth: 1, Kind: FaultDelay, Delay: time.Minute}, time.Second, "ambiguous", context.DeadlineExceeded, notStored},
		{"http-503-retried", Fault{Type: osci.TypeStoreDelivery, Nth: 1, Kind: FaultStatus, Status: http.StatusServiceUnavailable}, 0, "ok", nil, none},
		{"http-500-before-execution", Fault{Type: osci.TypeStoreDelivery, Nth: 1, Kind: FaultStatus, Status: http.StatusInternalServerError}, 0, "ambiguous", osci.ErrMIMETruncated, notStored},
		{"http-500-after-execution", Fault{Type: osci.TypeStoreDelivery, Kind: FaultStatus, Status: http.StatusInternalServerError, AfterExecute: true}, 0, "ambiguous", osci.ErrMIMETruncated, stored},
		{"dropped-mid-body", Fault{Type: osci.TypeStoreDelivery, Kind: FaultDropMidBody}, 0, "ambiguous", io.ErrUnexpectedEOF, stored},
		{"truncated-xml", Fault{Type: osci.TypeStoreDelivery, Kind: FaultTruncateXML}, 0, "ambiguous", io.ErrUnexpectedEOF, stored},
		{"wrong-signature", Fault{Type: osci.TypeStoreDelivery, Kind: FaultWrongSignature}, 0, "ambiguous", osci.ErrSignature, stored},
		{"wrong-sequence-number", Fault{Type: osci.TypeStoreDelivery, Kind: FaultWrongSequence}, 0, "ambiguous", osci.ErrDialogMismatch, stored},
		// A SOAP fault is unsigned: whatever its code, it leaves the outcome unknown.
		{"soap-fault-9000", Fault{Type: osci.TypeStoreDelivery, Nth: 1, Kind: FaultSOAP, Code: osci.CodeInternal}, 0, "ambiguous", osci.ErrFaultInternal, notStored},
		{"soap-fault-9601", Fault{Type: osci.TypeStoreDelivery, Nth: 1, Kind: FaultSOAP, Code: osci.CodeSignatureInvalid}, 0, "ambiguous", &osci.FaultError{Code: osci.CodeSignatureInvalid}, notStored},
		{"forged-soap-fault-after-store", Fault{Type: osci.TypeStoreDelivery, Kind: FaultSOAP, Code: osci.CodeInvalidOrder, AfterExecute: true}, 0, "ambiguous", osci.ErrFaultInvalidOrder, stored},
		// Only a signed feedback refuses the store.
		{"signed-feedback-9601", Fault{Type: osci.TypeStoreDelivery, Kind: FaultFeedback, Code: osci.CodeSignatureInvalid}, 0, "permanent", osci.ErrFeedbackSignatureInvalid, none},
	}
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTranscript(t, "fault injection: "+tc.name+": alice stores a delivery for bob and resolves an ambiguous outcome by its process card", tc.fault)
			alice := tr.client("alice", func(c *osci.ClientConfig) { c.RequestTimeout = tc.timeout })
			var id string
			if err := tr.do("alice: getMessageId", func() (err error) { id, err = alice.GetMessageID(ctx); return err }); err != nil {
				t.Fatal(err)
			}
			d := outgoing(t, id, false, "%PDF-1.7 Klage\n")
			err := tr.do("alice: storeDelivery "+id, func() error { _, err := alice.StoreDelivery(ctx, d); return err })
			if got := class(err); got != tc.class || (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("store: %v (class %s), want %v (class %s)", err, got, tc.want, tc.class)
			}
			got := none
			if osci.IsAmbiguous(err) {
				var pc *osci.ProcessCardBundle
				rerr := tr.do("alice: the outcome is ambiguous, so instead of sending again: fetchProcessCard "+id, func() (err error) {
					pc, err = alice.FetchProcessCard(ctx, id)
					return err
				})
				switch {
				case rerr == nil && pc.MessageID == id && pc.ProcessCard.Creation != nil:
					got = stored
					tr.note("resolved by process card: the card has Creation %s, the store happened; nothing is sent again", stamp(pc.ProcessCard.Creation))
				case errors.Is(rerr, osci.ErrFeedbackNoProcessCard):
					got = notStored
					tr.note("resolved by process card: there is none, the store did not happen; sending again with the same MessageId is safe")
				default:
					t.Fatalf("resolving: %+v, %v", pc, rerr)
				}
			} else {
				tr.note("not ambiguous: no resolution by process card")
			}
			if got != tc.resolve {
				t.Fatalf("resolution %d, want %d", got, tc.resolve)
			}
			if got == notStored || (err != nil && !osci.IsAmbiguous(err) && osci.Temporary(err)) {
				if err := tr.do("alice: storeDelivery "+id+" again", func() error { _, err := alice.StoreDelivery(ctx, d); return err }); err != nil {
					t.Fatal(err)
				}
			}
			tr.sim.mu.Lock()
			n := len(tr.sim.deliveries)
			tr.sim.mu.Unlock()
			if want := map[bool]int{true: 0, false: 1}[tc.class == "permanent"]; n != want {
				t.Fatalf("simulator holds %d deliveries, want %d", n, want)
			}
			tr.note("deliveries the simulator holds: %d", n)
			tr.finish("faults/" + tc.name + ".txt")

			// StoreDeliveryResolved does the resolution itself (unrecorded run).
			_, srv := newSimulator(t, tc.fault)
			c := clientConfig(t, srv.URL, "alice")
			c.RequestTimeout = tc.timeout
			alice, err = osci.NewClient(c)
			if err != nil {
				t.Fatal(err)
			}
			if id, err = alice.GetMessageID(ctx); err != nil {
				t.Fatal(err)
			}
			card, err := alice.StoreDeliveryResolved(ctx, outgoing(t, id, false, "%PDF-1.7 Klage\n"))
			// Once the store provably did not happen, a fault's code says why.
			var fe *osci.FaultError
			permanentFault := errors.As(err, &fe) && !fe.Code.Temporary()
			switch {
			case tc.resolve == notStored && (err == nil || osci.IsAmbiguous(err) || osci.Temporary(err) == permanentFault):
				t.Fatalf("StoreDeliveryResolved: a store that provably did not happen must be a resolved error, temporary unless a permanent fault: %v", err)
			case tc.resolve == stored && (err != nil || card.MessageID != id || card.ProcessCard.Creation == nil):
				t.Fatalf("StoreDeliveryResolved: card %+v, %v", card, err)
			case tc.resolve == none && class(err) != tc.class:
				t.Fatalf("StoreDeliveryResolved: %v, want class %s", err, tc.class)
			}
		})
	}
	t.Run("wrong-sequence-number-in-fetch-dialog", func(t *testing.T) {
		tr := newTranscript(t, "fault injection: wrong sequence number in bob's fetch dialog: the session breaks and sends nothing more",
			Fault{Type: osci.TypeFetchProcessCard, Kind: FaultWrongSequence})
		bob := tr.client("bob", nil)
		var s *osci.Session
		if err := tr.do("bob: initDialog", func() (err error) { s, err = bob.OpenSession(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		err := tr.do("bob: process cards", func() error { _, _, err := s.ProcessCards(ctx, nil, 0); return err })
		if !errors.Is(err, osci.ErrDialogMismatch) || !osci.IsAmbiguous(err) {
			t.Fatalf("err = %v", err)
		}
		if err := tr.do("bob: exitDialog on the broken dialog", func() error { return s.Close(ctx) }); !errors.Is(err, osci.ErrSessionClosed) {
			t.Fatalf("broken dialog still sends: %v", err)
		}
		tr.finish("faults/wrong-sequence-number-in-fetch-dialog.txt")
	})
	t.Run("9801-second-store", func(t *testing.T) {
		tr := newTranscript(t, "refusal 9801: a MessageId is single-use, a second storeDelivery with it is refused")
		alice := tr.client("alice", nil)
		var id string
		if err := tr.do("alice: getMessageId", func() (err error) { id, err = alice.GetMessageID(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		d := outgoing(t, id, false, "%PDF-1.7 Klage\n")
		if err := tr.do("alice: storeDelivery "+id, func() error { _, err := alice.StoreDelivery(ctx, d); return err }); err != nil {
			t.Fatal(err)
		}
		err := tr.do("alice: storeDelivery "+id+" a second time", func() error { _, err := alice.StoreDeliveryResolved(ctx, d); return err })
		if !errors.Is(err, osci.ErrFeedbackIllegalMessageID) || osci.Temporary(err) || osci.IsAmbiguous(err) || slices.Contains(tr.sent, osci.TypeFetchProcessCard) {
			t.Fatalf("err = %v", err)
		}
		tr.finish("faults/9801-second-store.txt")
	})
	t.Run("9802-explicit-only-without-dialog", func(t *testing.T) {
		tr := newTranscript(t, "refusal 9802: fetchDelivery, an explicit-only order, sent by alice outside any dialog")
		hc := &http.Client{Transport: recordingTransport{r: tr.rec, who: "alice"}}
		m := &osci.Message{Type: osci.TypeFetchDelivery, ControlBlock: osci.ControlBlock{Response: "cmVzcA==", Challenge: "Y2gx", ConversationID: "42", SequenceNumber: 0}}
		outside := func(b []byte) []byte {
			b = bytes.Replace(b, []byte(`ConversationId="42" `), nil, 1)
			return bytes.Replace(b, []byte(`<osci:Response>cmVzcA==</osci:Response>`), nil, 1)
		}
		err := tr.do("alice: fetchDelivery without ConversationId", func() error {
			resp, err := postWith(t, hc, tr.srv.URL, m, true, outside)
			if err != nil {
				return err
			}
			return resp.Feedback.Err()
		})
		if !errors.Is(err, osci.ErrFeedbackExplicitRequired) || osci.Temporary(err) {
			t.Fatalf("err = %v", err)
		}
		tr.finish("faults/9802-explicit-only-without-dialog.txt")
	})
	t.Run("9803-9804-no-match", func(t *testing.T) {
		tr := newTranscript(t, "refusals 9803 and 9804: no delivery, no process card matches the selection")
		bob, alice := tr.client("bob", nil), tr.client("alice", nil)
		var s *osci.Session
		if err := tr.do("bob: initDialog", func() (err error) { s, err = bob.OpenSession(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		err := tr.do("bob: fetchDelivery of a MessageId without delivery", func() error {
			_, err := s.FetchDelivery(ctx, "govapp_0", &osci.DirAttachments{Dir: t.TempDir()})
			return err
		})
		if !errors.Is(err, osci.ErrFeedbackNoDelivery) {
			t.Fatalf("err = %v", err)
		}
		err = tr.do("bob: process cards of a MessageId without delivery", func() error {
			_, _, err := s.ProcessCards(ctx, &osci.SelectionRule{MessageIDs: []string{"govapp_0"}}, 0)
			return err
		})
		if !errors.Is(err, osci.ErrFeedbackNoProcessCard) {
			t.Fatalf("err = %v", err)
		}
		if err := tr.do("bob: exitDialog", func() error { return s.Close(ctx) }); err != nil {
			t.Fatal(err)
		}
		err = tr.do("alice: fetchProcessCard of a MessageId never stored", func() error { _, err := alice.FetchProcessCard(ctx, "govapp_0"); return err })
		if !errors.Is(err, osci.ErrFeedbackNoProcessCard) || osci.Temporary(err) {
			t.Fatalf("err = %v", err)
		}
		tr.finish("faults/9803-9804-no-match.txt")
	})
}

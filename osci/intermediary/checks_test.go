package intermediary

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// post sends m from alice (signed unless unsigned) and returns the response
// message (verified) or the fault.
func post(t *testing.T, url string, m *osci.Message, unsigned bool, tamper func([]byte) []byte) (*osci.Message, error) {
	t.Helper()
	return postWith(t, http.DefaultClient, url, m, unsigned, tamper)
}

// postWith is post over hc.
func postWith(t *testing.T, hc *http.Client, url string, m *osci.Message, unsigned bool, tamper func([]byte) []byte) (*osci.Message, error) {
	t.Helper()
	alice, aliceCipher := keyPair(t, "alice_signature_4096"), keyPair(t, "alice_cipher_4096")
	m.Languages, m.Features = "de", osci.DefaultFeatures()
	m.NonIntermediary = append(osci.Certificates{osci.NewCertEntry(osci.CipherOriginator, 0, aliceCipher.Cert),
		osci.NewCertEntry(osci.SignatureOriginator, 0, alice.Cert)}, m.NonIntermediary...)
	var env []byte
	var err error
	if unsigned {
		env, err = m.Envelope()
	} else {
		env, err = m.SignedEnvelope(osci.Signer{Key: alice.Key, Certificate: alice.Cert}, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		env = tamper(env) // unsigned: changes the order itself; signed: breaks the signature
	}
	var body bytes.Buffer
	if err := osci.WriteMessage(&body, osci.WriteOptions{Rand: certstest.DetRand("post"), EncryptTo: keyPair(t, "osci_manager_cipher_4096").Cert, SpoolDir: t.TempDir()}, env); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Post(url, "text/xml", &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	in, err := osci.ReadMessage(resp.Body, osci.ReadOptions{Decrypter: decrypter(t, "alice_cipher_4096")})
	if err != nil {
		return nil, err
	}
	v, err := in.Message.Verify(context.Background(), osci.VerifyOptions{Keys: pinned(keyPair(t, "osci_manager_signature_4096").Cert)})
	if err != nil {
		t.Fatal(err)
	}
	return v.Message, nil
}

// TestSupplierChecks: the simulator's answers to orders it must refuse.
func TestSupplierChecks(t *testing.T) {
	implicit := osci.ControlBlock{Challenge: "Y2gx", SequenceNumber: 0}
	explicit := osci.ControlBlock{Response: "cmVzcA==", Challenge: "Y2gx", ConversationID: "42", SequenceNumber: 0}
	outsideDialog := func(b []byte) []byte {
		b = bytes.Replace(b, []byte(`ConversationId="42" `), nil, 1)
		return bytes.Replace(b, []byte(`<osci:Response>cmVzcA==</osci:Response>`), nil, 1)
	}
	tests := []struct {
		name     string
		m        *osci.Message
		unsigned bool
		tamper   func([]byte) []byte
		fault    error
		feedback osci.Code
	}{
		{"fetchDelivery without dialog", &osci.Message{Type: osci.TypeFetchDelivery, ControlBlock: explicit}, true, outsideDialog, nil, osci.CodeExplicitRequired},
		{"fetchProcessCard without dialog", &osci.Message{Type: osci.TypeFetchProcessCard, ControlBlock: explicit}, true, outsideDialog, nil, osci.CodeExplicitRequired},
		{"unknown conversation", &osci.Message{Type: osci.TypeFetchDelivery, ControlBlock: osci.ControlBlock{Response: "x", Challenge: "y", ConversationID: "42", SequenceNumber: 0}}, false, nil, osci.ErrFaultSequence, 0},
		{"implicit order with sequence 3", &osci.Message{Type: osci.TypeGetMessageID, ControlBlock: osci.ControlBlock{Challenge: "Y2gx", SequenceNumber: 3}}, false, nil, osci.ErrFaultSequence, 0},
		{"unsigned order", &osci.Message{Type: osci.TypeGetMessageID, ControlBlock: implicit}, true, nil, nil, osci.CodeSignatureRequired},
		{"signature does not match", &osci.Message{Type: osci.TypeGetMessageID, ControlBlock: implicit}, false,
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`LanguagesList="de"`), []byte(`LanguagesList="en"`), 1)
			}, nil, osci.CodeSignatureInvalid},
		{"store with a MessageId not issued", &osci.Message{Type: osci.TypeStoreDelivery, ControlBlock: implicit, MessageID: "govapp_1",
			Content:         []byte("<osci:ContentPackage></osci:ContentPackage>"),
			NonIntermediary: osci.Certificates{osci.NewCertEntry(osci.CipherAddressee, 0, keyPair(t, "bob_cipher_4096").Cert)}}, false, nil, nil, osci.CodeIllegalMessageID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newSimulator(t)
			resp, err := post(t, srv.URL, tc.m, tc.unsigned, tc.tamper)
			if tc.fault != nil {
				if !errors.Is(err, tc.fault) {
					t.Fatalf("err = %v, want %v", err, tc.fault)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Feedback[0].Code != tc.feedback {
				t.Fatalf("feedback %+v, want %s", resp.Feedback, tc.feedback)
			}
		})
	}
	t.Run("a MessageId is single-use", func(t *testing.T) {
		_, srv := newSimulator(t)
		alice := newClient(t, srv.URL, "alice")
		id, err := alice.GetMessageID(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		d := osci.OutgoingDelivery{MessageID: id, Addressee: keyPair(t, "bob_cipher_4096").Cert, Content: []byte("<osci:ContentPackage></osci:ContentPackage>")}
		if _, err := alice.StoreDelivery(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.StoreDelivery(context.Background(), d); !errors.Is(err, osci.ErrFeedbackIllegalMessageID) {
			t.Fatalf("second store: %v", err)
		}
	})
	t.Run("carol cannot fetch bob's delivery", func(t *testing.T) {
		_, srv := newSimulator(t)
		id := send(t, newClient(t, srv.URL, "alice"), keyPair(t, "bob_cipher_4096").Cert, "Testnachricht", "x")
		s, err := newClient(t, srv.URL, "carol").OpenSession(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.FetchDelivery(context.Background(), id, &osci.DirAttachments{Dir: t.TempDir()}); !errors.Is(err, osci.ErrFeedbackNoDelivery) {
			t.Fatalf("err = %v", err)
		}
		if _, _, err := s.ProcessCards(context.Background(), &osci.SelectionRule{MessageIDs: []string{id}}, 0); !errors.Is(err, osci.ErrFeedbackNoProcessCard) {
			t.Fatalf("cards: %v", err)
		}
	})
}

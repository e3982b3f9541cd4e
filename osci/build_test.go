package osci

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

type party struct{ nonInter, inter Certificates }

func testParties(t testing.TB) party {
	alice, aliceSig := loadCert(t, "alice_cipher_4096"), loadCert(t, "alice_signature_4096")
	bob := loadCert(t, "bob_cipher_4096")
	mgrSig, mgrCipher := loadCert(t, "osci_manager_signature_4096"), loadCert(t, "osci_manager_cipher_4096")
	return party{
		nonInter: Certificates{NewCertEntry(CipherOriginator, 0, alice), NewCertEntry(CipherAddressee, 0, bob),
			NewCertEntry(CipherOtherReader, 0, bob), NewCertEntry(SignatureOriginator, 0, aliceSig)},
		inter: Certificates{NewCertEntry(CipherIntermediary, 0, mgrCipher), NewCertEntry(SignatureIntermediary, 0, mgrSig)},
	}
}

func sampleBundle() ProcessCardBundle {
	created := fixedNow.Add(-time.Hour)
	return ProcessCardBundle{
		MessageID: "govapp_1772443253000123456789012345",
		ProcessCard: ProcessCard{RecentModification: fixedNow, Creation: &Timestamp{Time: created},
			Forwarding: &Timestamp{Time: fixedNow}, Subject: "Allgemeine Nachricht"},
		Inspections: []Inspection{{Timestamp: Timestamp{Time: created}, SubjectName: "CN=Alice Signature 4096,C=de",
			IssuerName: "CN=Governikus CA 8,C=DE", SerialNumber: "12345", CertType: "unknown", MathResult: "ok",
			OfflineResult: "valid", OnlineResult: "ok", OnlineChecks: []OnlineCheck{{Kind: "OCSP", Value: []byte("Not yet supported!")}}}},
	}
}

// sampleMessages returns one message of every buildable type.
func sampleMessages(t testing.TB) map[string]*Message {
	p := testParties(t)
	req := func(typ MessageType, cb ControlBlock) *Message {
		return &Message{Type: typ, ControlBlock: cb, Languages: "de", NonIntermediary: p.nonInter[:1], Features: DefaultFeatures()}
	}
	explicit := ControlBlock{Response: "c3VwcGxpZXItY2g=", Challenge: "Y2xpZW50LWNo", ConversationID: "15046421655574414481635396274987", SequenceNumber: 3}
	echo := ControlBlock{Response: "Y2xpZW50LWNo", Challenge: "bmV4dC1jaA==", ConversationID: explicit.ConversationID, SequenceNumber: 3}
	implicitReq := ControlBlock{Challenge: "EVMm8Ko0YKeHvw==", SequenceNumber: 0}
	implicitResp := ControlBlock{Response: "EVMm8Ko0YKeHvw==", ConversationID: "4711", SequenceNumber: 0}
	since := fixedNow.Add(-24 * time.Hour)
	resp := func(typ MessageType, cb ControlBlock, codes ...Code) *Message {
		return &Message{Type: typ, ControlBlock: cb, Feedback: NewFeedback(codes...), Intermediary: p.inter}
	}
	store := req(TypeStoreDelivery, implicitReq)
	store.NonIntermediary, store.MessageID, store.Subject = p.nonInter, "govapp_1772443253000123456789012345", "Allgemeine Nachricht"
	store.Content = []byte(`<osci:ContentPackage><osci:ContentContainer Id="project_coco"><osci:Content><osci:Base64Content Id="nachricht.xml">PE5hY2hyaWNodC8+</osci:Base64Content></osci:Content><osci:Content Id="a.pdf" href="cid:a.pdf"></osci:Content></osci:ContentContainer></osci:ContentPackage>`)
	fetch := req(TypeFetchDelivery, explicit)
	fetch.Selection = &SelectionRule{MessageIDs: []string{"govapp_1772443253000123456789012345"}}
	fpc := req(TypeFetchProcessCard, explicit)
	fpc.Selection, fpc.QuantityLimit = &SelectionRule{RecentModification: &since, NoReception: true, Role: "Addressee"}, 10
	init := req(TypeInitDialog, ControlBlock{Challenge: "IAoKpq1nDCaZRQ==", SequenceNumber: NoSequence})
	init.NonIntermediary = p.nonInter[:1]
	rInit := resp(TypeResponseToInitDialog, ControlBlock{Response: "IAoKpq1nDCaZRQ==", Challenge: "c3VwcGxpZXItY2g=", ConversationID: explicit.ConversationID, SequenceNumber: NoSequence}, CodeDialogOpen)
	rExit := resp(TypeResponseToExitDialog, ControlBlock{Response: "Y2xpZW50LWNo", ConversationID: explicit.ConversationID, SequenceNumber: 3}, CodeDialogClosed)
	rGet := resp(TypeResponseToGetMessageID, implicitResp, CodeDialogClosed)
	rGet.MessageID = "govapp_1772443253000123456789012345"
	rStore := resp(TypeResponseToStoreDelivery, implicitResp, CodeDialogClosed)
	b := sampleBundle()
	b.ProcessCard.Forwarding = nil
	rStore.ProcessCards = []ProcessCardBundle{b}
	rFetch := resp(TypeResponseToFetchDelivery, echo, CodeDialogOpen, CodeMoreDeliveries)
	rFetch.Selection, rFetch.ProcessCards, rFetch.NonIntermediary, rFetch.Content = fetch.Selection, []ProcessCardBundle{sampleBundle()}, p.nonInter, store.Content
	rFPC := resp(TypeResponseToFetchProcessCard, echo, CodeDialogOpen)
	rFPC.Selection, rFPC.QuantityLimit, rFPC.ProcessCards = fpc.Selection, 10, []ProcessCardBundle{sampleBundle(), sampleBundle()}
	rFPC.ProcessCards[1].MessageID = "govapp_2"
	return map[string]*Message{
		"initDialog": init, "responseToInitDialog": rInit,
		"exitDialog": req(TypeExitDialog, explicit), "responseToExitDialog": rExit,
		"getMessageId": req(TypeGetMessageID, implicitReq), "responseToGetMessageId": rGet,
		"storeDelivery": store, "responseToStoreDelivery": rStore,
		"fetchDelivery": fetch, "responseToFetchDelivery": rFetch,
		"fetchProcessCard": fpc, "responseToFetchProcessCard": rFPC,
	}
}

// TestGoldenMessages builds every message type with fixed values and compares
// the whole MIME entity with testdata/golden (go test -update rewrites them).
func TestGoldenMessages(t *testing.T) {
	for name, m := range sampleMessages(t) {
		t.Run(name, func(t *testing.T) {
			env := envelope(t, m)
			var atts []Attachment
			if m.Type == TypeStoreDelivery || m.Type == TypeResponseToFetchDelivery {
				atts = append(atts, Attachment{ContentID: "a.pdf", Size: 9, Body: strings.NewReader("%PDF-1.7\n")})
			}
			var b bytes.Buffer
			if err := WriteEntity(&b, certstest.DetRand(name), env, atts...); err != nil {
				t.Fatal(err)
			}
			certstest.Golden(t, filepath.Join("testdata", "golden", name+".mime"), b.Bytes(), *update)
		})
	}
	t.Run("fault", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteEntity(&b, certstest.DetRand("fault"), FaultEnvelope(CodeSequence, "")); err != nil {
			t.Fatal(err)
		}
		certstest.Golden(t, filepath.Join("testdata", "golden", "fault9400.mime"), b.Bytes(), *update)
	})
}

// TestBuildParseRoundTrip parses every built message and compares the model.
func TestBuildParseRoundTrip(t *testing.T) {
	for name, m := range sampleMessages(t) {
		t.Run(name, func(t *testing.T) {
			env := envelope(t, m)
			got, err := Parse(env, xmlsec.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Type != m.Type || got.ControlBlock != m.ControlBlock || got.MessageID != m.MessageID || got.Subject != m.Subject {
				t.Fatalf("got %s %+v %q %q", got.Type, got.ControlBlock, got.MessageID, got.Subject)
			}
			if !reflect.DeepEqual(got.Feedback, m.Feedback) || !reflect.DeepEqual(got.Features, m.Features) {
				t.Errorf("feedback %+v features %+v", got.Feedback, got.Features)
			}
			if fmt.Sprint(got.Selection) != fmt.Sprint(m.Selection) && !sameSelection(got.Selection, m.Selection) {
				t.Errorf("selection %+v, want %+v", got.Selection, m.Selection)
			}
			if got.QuantityLimit != m.QuantityLimit || len(got.ProcessCards) != len(m.ProcessCards) {
				t.Errorf("quantity %d cards %d", got.QuantityLimit, len(got.ProcessCards))
			}
			for i := range got.ProcessCards {
				if !sameBundle(got.ProcessCards[i], m.ProcessCards[i]) {
					t.Errorf("card %d: %+v", i, got.ProcessCards[i])
				}
			}
			if len(got.NonIntermediary)+len(got.Intermediary) != len(m.NonIntermediary)+len(m.Intermediary) {
				t.Errorf("certificates lost")
			}
			if (m.Content != nil) != (got.ContentPackage != nil) {
				t.Errorf("content package presence")
			}
		})
	}
}

func sameSelection(a, b *SelectionRule) bool {
	if a == nil || b == nil {
		return a == b
	}
	eq := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return reflect.DeepEqual(a.MessageIDs, b.MessageIDs) && eq(a.RecentModification, b.RecentModification) &&
		eq(a.ReceptionOfDelivery, b.ReceptionOfDelivery) && a.NoReception == b.NoReception && a.Role == b.Role
}

func sameBundle(a, b ProcessCardBundle) bool {
	ts := func(x, y *Timestamp) bool { return (x == nil) == (y == nil) && (x == nil || x.Time.Equal(y.Time)) }
	pa, pb := a.ProcessCard, b.ProcessCard
	if a.MessageID != b.MessageID || !pa.RecentModification.Equal(pb.RecentModification) || pa.Subject != pb.Subject ||
		!ts(pa.Creation, pb.Creation) || !ts(pa.Forwarding, pb.Forwarding) || !ts(pa.Reception, pb.Reception) ||
		len(a.Inspections) != len(b.Inspections) {
		return false
	}
	for i := range a.Inspections {
		x, y := a.Inspections[i], b.Inspections[i]
		x.Timestamp, y.Timestamp = Timestamp{}, Timestamp{}
		if !reflect.DeepEqual(x, y) {
			return false
		}
	}
	return true
}

func TestBuildRejects(t *testing.T) {
	msgs := sampleMessages(t)
	mod := func(name string, f func(m *Message)) *Message {
		c := *msgs[name]
		f(&c)
		return &c
	}
	tests := []struct {
		name string
		m    *Message
		want error
	}{
		{"store without message id", mod("storeDelivery", func(m *Message) { m.MessageID = "" }), ErrInvalidOrder},
		{"store without addressee", mod("storeDelivery", func(m *Message) { m.NonIntermediary = m.NonIntermediary[:1] }), ErrInvalidOrder},
		{"store content not a package", mod("storeDelivery", func(m *Message) { m.Content = []byte("<x/>") }), ErrInvalidOrder},
		{"init without cipher originator", mod("initDialog", func(m *Message) { m.NonIntermediary = nil }), ErrInvalidOrder},
		{"init with conversation id", mod("initDialog", func(m *Message) { m.ControlBlock.ConversationID = "1" }), ErrControlBlock},
		{"fetch without response", mod("fetchDelivery", func(m *Message) { m.ControlBlock.Response = "" }), ErrControlBlock},
		{"fetch two ids", mod("fetchDelivery", func(m *Message) {
			m.Selection = &SelectionRule{MessageIDs: []string{"a", "b"}}
		}), ErrInvalidOrder},
		{"response without feedback", mod("responseToExitDialog", func(m *Message) { m.Feedback = nil }), ErrFeedbackMissing},
		{"exit response with challenge", mod("responseToExitDialog", func(m *Message) { m.ControlBlock.Challenge = "x" }), ErrControlBlock},
		{"unsupported type", &Message{Type: TypeMediateDelivery}, ErrUnsupportedType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.m.Envelope(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

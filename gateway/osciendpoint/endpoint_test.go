package osciendpoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// omDoc is one submitted document and what it should arrive as.
type omDoc struct {
	name string
	data []byte
}

func omPDF(n int, seed string) []byte {
	b := make([]byte, n)
	m := copy(b, "%PDF-1.7\n")
	io.ReadFull(certstest.DetRand(seed), b[m:])
	return b
}

// submit queues n messages from A to B; it returns each subject's documents.
func (e *omEnv) submit(t *testing.T, n int) map[string][]omDoc {
	t.Helper()
	want := map[string][]omDoc{}
	for i := range n {
		subject := fmt.Sprintf("Antrag %d: Erzwingungshaft", i)
		docs := []omDoc{{fmt.Sprintf("%03d_Antrag.pdf", i), omPDF(20_000+i*7919, subject)}, {"Anlage_Übersicht.pdf", omPDF(3000, subject+"x")}}
		meta, _ := json.Marshal(sendMeta{OutgoingMeta: submit.OutgoingMeta{MessageType: submit.DefaultMessageType, CaseNumberSender: fmt.Sprintf("32.1-%d/26", i),
			CaseNumberRecipient: fmt.Sprintf("5 OWi %d/26", i)}, FreeText: "Mit freundlichen Grüßen"})
		var parts []mailbox.Part
		for _, d := range docs {
			parts = append(parts, mailbox.Part{Name: d.name, ContentType: "application/pdf", Body: bytes.NewReader(d.data)})
		}
		if _, err := mailbox.Submit(context.Background(), e.a.store, e.a.blobs, mailbox.NewOutgoing{Mailbox: "A", Recipient: omSafeB,
			Subject: subject, Meta: meta, Now: e.clk.Now()}, parts); err != nil {
			t.Fatal(err)
		}
		want[subject] = docs
	}
	return want
}

// send queues n messages from A to B, as submit, and runs A's sender once.
func (e *omEnv) send(t *testing.T, n int) map[string][]omDoc {
	t.Helper()
	want := e.submit(t, n)
	if _, err := e.sender().RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	return want
}

// openWithOne opens a session of B and lists the one delivery waiting
// there; it returns the session and the delivery's id.
func (e *omEnv) openWithOne(t *testing.T) (mailbox.Session, string) {
	t.Helper()
	ctx := context.Background()
	s, err := e.b.mb.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.ListUndelivered(ctx)
	if err != nil || len(ids) != 1 {
		t.Fatalf("ids %v: %v", ids, err)
	}
	return s, ids[0]
}

func (e *omEnv) states(t *testing.T, st mailbox.Store, dir mailbox.Direction) map[mailbox.State]int {
	t.Helper()
	ms, err := st.List(context.Background(), mailbox.Filter{Direction: dir, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[mailbox.State]int{}
	for _, m := range ms {
		out[m.State]++
	}
	return out
}

// run drives the engines until A's messages are confirmed and B's
// delivered; it returns how many fetch dialogs failed.
func (e *omEnv) run(t *testing.T, n int) int {
	t.Helper()
	ctx := context.Background()
	s, f, d := e.sender(), e.fetcher(), e.deliverer()
	failed := 0
	for round := 0; round < 60; round++ {
		if _, err := s.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if e.states(t, e.a.store, mailbox.Out)[mailbox.StateSent]+e.states(t, e.a.store, mailbox.Out)[mailbox.StateConfirmed] == n {
			if _, err := f.FetchMailbox(ctx, "B"); err != nil {
				t.Logf("fetch round %d: %v", round, err)
				failed++
			}
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if e.states(t, e.a.store, mailbox.Out)[mailbox.StateConfirmed] == n && e.states(t, e.b.store, mailbox.In)[mailbox.StateDelivered] == n {
			return failed
		}
		e.clk.Add(2 * time.Hour)
	}
	t.Fatalf("not settled: out %v, in %v", e.states(t, e.a.store, mailbox.Out), e.states(t, e.b.store, mailbox.In))
	return failed
}

// check asserts what the intake folder and both stores hold. Without
// lateReception every intake entry and B's card must carry the Reception
// time. With it a receipt failed: when its order reached the intermediary
// but the answer did not come back, the delivery is received there, not
// handed out again, and B learns no Reception (the intake goes ahead
// without it; nothing is lost or doubled).
func (e *omEnv) check(t *testing.T, want map[string][]omDoc, lateReception bool) {
	t.Helper()
	ctx := context.Background()
	entries, err := os.ReadDir(e.root)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ent := range entries {
		if strings.HasPrefix(ent.Name(), ".") {
			t.Errorf("temporary entry left: %s", ent.Name())
			continue
		}
		dir := filepath.Join(e.root, ent.Name())
		var md mailbox.IntakeMetadata
		if err := json.Unmarshal(omRead(t, dir, mailbox.FileMetadataJSON), &md); err != nil {
			t.Fatal(err)
		}
		docs, ok := want[md.UserSubject]
		if !ok || seen[md.UserSubject] {
			t.Errorf("unexpected or duplicated entry %q", md.UserSubject)
			continue
		}
		seen[md.UserSubject] = true
		i := strings.TrimPrefix(strings.Fields(md.UserSubject)[1], "")
		i = strings.TrimSuffix(i, ":")
		if md.Sender.Claimed.SafeID != omSafeA || md.Sender.Claimed.Organisation != "Stadt Erkelenz" || md.Sender.Confirmed.SafeID != omSafeA ||
			md.Sender.Confirmed.TrustedFor != "vhn" || md.Mailbox != "B" || md.OSCISubject != submit.DefaultMessageType ||
			md.CaseNumberSender != "32.1-"+i+"/26" || md.CaseNumberRecipient != "5 OWi "+i+"/26" || md.VerificationStatus != checkresult.Valid ||
			!md.VHNPresent || md.Creation == "" || md.Forwarding == "" {
			t.Errorf("metadata %+v", md)
		}
		// The receipt (the order after the stored delivery) brought the
		// Reception before the intake entry was written.
		if !lateReception {
			fw, ferr := time.Parse(time.RFC3339, md.Forwarding)
			rc, rerr := time.Parse(time.RFC3339, md.Reception)
			if ferr != nil || rerr != nil || rc.Before(fw) {
				t.Errorf("metadata: forwarding %q, reception %q", md.Forwarding, md.Reception)
			}
			berlin, _ := time.LoadLocation("Europe/Berlin")
			local := rc.In(berlin).Format("02.01.2006, 15:04:05")
			if html := string(omRead(t, dir, mailbox.FileReportHTML)); !strings.Contains(html, "<td>"+local+" Uhr (M") {
				t.Errorf("pruefprotokoll.html lacks the reception time %s", md.Reception)
			}
		}
		sums, err := mailbox.ParseManifest(omRead(t, dir, mailbox.FileManifest))
		if err != nil {
			t.Fatal(err)
		}
		for p, s := range sums {
			if sum := sha256.Sum256(omRead(t, dir, p)); hex.EncodeToString(sum[:]) != s {
				t.Errorf("%s: manifest mismatch", p)
			}
		}
		for _, f := range []string{mailbox.FileMetadataXML, mailbox.FileReportXML, mailbox.FileReportHTML, mailbox.FileOriginal} {
			if _, ok := sums[f]; !ok {
				t.Errorf("%s missing from manifest", f)
			}
		}
		// The original is the fetchDelivery response as it came off the wire
		// (transport-encrypted to B), with the intermediary's signature inside.
		if orig := omRead(t, dir, mailbox.FileOriginal); !bytes.Contains(orig, []byte("<"+osci.EncryptedContentID+">")) || len(orig) < len(docs[0].data) {
			t.Errorf("original is not the message as received: %q", orig[:min(200, len(orig))])
		}
		report := string(omRead(t, dir, mailbox.FileReportXML))
		for _, kind := range []string{"supplier", "content", "vhn"} {
			if !strings.Contains(report, ">"+kind+"<") {
				t.Errorf("pruefprotokoll lacks a %s signature", kind)
			}
		}
		if len(md.Documents) != len(docs) {
			t.Fatalf("%d documents, want %d", len(md.Documents), len(docs))
		}
		for _, d := range docs {
			found := false
			for _, got := range md.Documents {
				data := omRead(t, dir, mailbox.DocumentsDir+"/"+got.FileName)
				if bytes.Equal(data, d.data) {
					sum := sha256.Sum256(d.data)
					found = got.SHA256 == hex.EncodeToString(sum[:])
				}
			}
			if !found {
				t.Errorf("%s: document %s not delivered byte-identical", md.UserSubject, d.name)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d intake entries, want %d", len(seen), len(want))
	}
	in, err := e.b.store.List(ctx, mailbox.Filter{Direction: mailbox.In, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range in {
		pc, err := e.b.store.ProcessCard(ctx, m.ID)
		if err != nil || pc.Creation.IsZero() || pc.Forwarding.IsZero() || (!lateReception && (pc.Reception.IsZero() || pc.Reception.Before(pc.Forwarding))) {
			t.Errorf("incoming message %d: process card %+v: %v", m.ID, pc, err)
		}
	}
	out, err := e.a.store.List(ctx, mailbox.Filter{Direction: mailbox.Out, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out {
		pc, err := e.a.store.ProcessCard(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if pc.Creation.IsZero() || pc.Forwarding.IsZero() || pc.Reception.IsZero() || pc.OSCIMessageID != m.OSCIMessageID {
			t.Errorf("message %d: process card %+v", m.ID, pc)
		}
	}
}

func omRead(t *testing.T, dir, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOSCIMailboxEndToEnd sends messages from A to B through the simulator,
// fetches them into B's store and hands them to the folder intake, with
// and without the intermediary misbehaving: every case ends with every
// message confirmed and delivered exactly once.
func TestOSCIMailboxEndToEnd(t *testing.T) {
	store, fetch, card := osci.TypeStoreDelivery, osci.TypeFetchDelivery, osci.TypeFetchProcessCard
	// journal: what A's journal must show, proving the fault took its path
	// ("!x": must not show).
	tests := []struct {
		name    string
		n       int
		faults  []intermediary.Fault
		journal []string
	}{
		{"clean", 3, nil, nil},
		{"listing in pages of one (3801)", 2, nil, nil},
		{"5xx on store before execution", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultStatus, Status: 500}},
			[]string{`"class":"ambiguous"`, "resend"}},
		{"5xx on store after execution", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultStatus, Status: 502, AfterExecute: true}},
			[]string{`"class":"ambiguous"`}},
		{"connection dropped mid-body on store", 2, []intermediary.Fault{{Type: store, Nth: 2, Kind: intermediary.FaultDropMidBody}},
			[]string{`"class":"ambiguous"`}},
		{"wrong signature on store response", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultWrongSignature}},
			[]string{"signature invalid"}},
		// A SOAP fault is unsigned: the Laufzettel decides, never its code.
		{"SOAP fault 9000 on store", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultSOAP, Code: osci.CodeInternal}},
			[]string{`"class":"ambiguous"`, `9000`, "resend"}},
		{"forged SOAP fault after store", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultSOAP, Code: osci.CodeInvalidOrder, AfterExecute: true}},
			[]string{`"class":"ambiguous"`, `9300`, "!resend"}},
		{"forged 9804 fault on the card lookup", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultDropMidBody},
			{Type: card, Nth: 1, Kind: intermediary.FaultSOAP, Code: osci.CodeNoProcessCard}}, []string{`"class":"ambiguous"`, "!resend"}},
		{"9801 on a second store", 1, []intermediary.Fault{{Type: store, Nth: 1, Kind: intermediary.FaultDropMidBody},
			{Type: card, Nth: 1, Kind: intermediary.FaultFeedback, Code: osci.CodeNoProcessCard}}, []string{"resend", "9801"}},
		{"connection dropped mid-body on fetch", 1, []intermediary.Fault{{Type: fetch, Nth: 1, Kind: intermediary.FaultDropMidBody}}, nil},
		{"wrong signature on fetch response", 2, []intermediary.Fault{{Type: fetch, Nth: 2, Kind: intermediary.FaultWrongSignature}}, nil},
		{"receipt dropped mid-body on fetch", 2, []intermediary.Fault{{Type: card, Nth: 2, Kind: intermediary.FaultDropMidBody}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newOMEnv(t, tc.faults...)
			if strings.Contains(tc.name, "pages of one") {
				e.b.mb.cfg.ListLimit = 1
			}
			want := e.submit(t, tc.n)
			if failed := e.run(t, tc.n); (failed > 0) != strings.Contains(tc.name, "on fetch") {
				t.Errorf("%d failed fetch dialogs", failed)
			}
			e.check(t, want, strings.Contains(tc.name, "receipt"))
			if got := e.states(t, e.b.store, mailbox.In); got[mailbox.StateDelivered] != tc.n || len(got) != 1 {
				t.Fatalf("incoming states %v", got)
			}
			evs, err := e.a.store.Events(context.Background(), 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			var journal strings.Builder
			for _, ev := range evs {
				fmt.Fprintf(&journal, "%s %s\n", ev.Kind, ev.Detail)
			}
			for _, w := range tc.journal {
				if not, ok := strings.CutPrefix(w, "!"); ok && strings.Contains(journal.String(), not) {
					t.Errorf("journal shows %q:\n%s", not, journal.String())
				} else if !ok && !strings.Contains(journal.String(), w) {
					t.Errorf("journal lacks %q:\n%s", w, journal.String())
				}
			}
			evs, err = e.b.store.Events(context.Background(), 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			for _, ev := range evs {
				if ev.Kind == "receipt_failed" {
					failed++
				}
			}
			if (failed > 0) != strings.Contains(tc.name, "receipt") {
				t.Errorf("B journaled %d failed receipts", failed)
			}
		})
	}
}

// TestReceivedVerification: B fetches and stores every delivery (the
// intermediary records it as received), and quarantines with its report
// one whose VHN names another mailbox. One from a sender whose CA B does
// not know is delivered as indeterminate, the sender unconfirmed. A VHN
// look-alike from a CA outside the VHN set is delivered without the VHN
// mark.
func TestReceivedVerification(t *testing.T) {
	sig := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	tests := []struct {
		name    string
		sig     func(t *testing.T) *certs.KeyPair
		state   mailbox.State
		vhn     bool
		problem string
	}{
		{"VHN naming the sender", func(t *testing.T) *certs.KeyPair {
			return omVHNIdentity(t).Signature
		}, mailbox.StateDelivered, true, ""},
		{"VHN naming another mailbox", func(t *testing.T) *certs.KeyPair {
			return omIssue(t, "vhn-ca", "VHN other", omSafeB, 9103, sig)
		}, mailbox.StateQuarantined, false, omSafeB},
		{"VHN look-alike from the general CA", func(t *testing.T) *certs.KeyPair {
			return omIssue(t, "intermediate-ca", "VHN look-alike A", omSafeA, 9104, sig)
		}, mailbox.StateDelivered, false, ""},
		// A CA nobody configured leaves the sender unconfirmed: delivered
		// as indeterminate, not quarantined as invalid.
		{"untrusted CA", func(t *testing.T) *certs.KeyPair {
			return omIssue(t, "unknown-root-ca", "mailbox A foreign signature", "", 9101, sig)
		}, mailbox.StateDelivered, false, "Prüfung lieferte kein Ergebnis"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newOMEnvWith(t, &certs.Identity{Signature: tc.sig(t), Cipher: omPKI(t, "mailbox-cipher")})
			e.submit(t, 1)
			ctx := context.Background()
			s, f, d := e.sender(), e.fetcher(), e.deliverer()
			if _, err := s.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := f.FetchMailbox(ctx, "B")
			if err != nil || res.Stored != 1 {
				t.Fatalf("fetch %+v: %v", res, err)
			}
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			in, err := e.b.store.List(ctx, mailbox.Filter{Direction: mailbox.In})
			if err != nil || len(in) != 1 {
				t.Fatalf("%d incoming: %v", len(in), err)
			}
			var meta mailbox.IncomingMeta
			if err := json.Unmarshal(in[0].Meta, &meta); err != nil {
				t.Fatal(err)
			}
			if in[0].State != tc.state || meta.Report.VHNPresent != tc.vhn || !strings.Contains(meta.Report.ReasonText, tc.problem) {
				t.Fatalf("state %s, report %+v", in[0].State, meta.Report)
			}
			if tc.state == mailbox.StateQuarantined && in[0].LastErrorCode != "sender_identity_mismatch" {
				t.Fatalf("quarantined as %q", in[0].LastErrorCode)
			}
			full, err := e.b.store.Get(ctx, in[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(full.Documents) != 3 || meta.Sender.Claimed.SafeID != omSafeA { // original + two documents
				t.Fatalf("documents %+v, sender %+v", full.Documents, meta.Sender)
			}
			e.clk.Add(time.Hour)
			if _, err := s.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if got := e.states(t, e.a.store, mailbox.Out); got[mailbox.StateConfirmed] != 1 {
				t.Fatalf("outgoing states %v", got)
			}
		})
	}
}

// TestSessionAcknowledgesOnNextCall: a fetched delivery is received at the
// intermediary only when the engine calls the session again; Abandon
// leaves it to be handed out again.
func TestSessionAcknowledgesOnNextCall(t *testing.T) {
	e := newOMEnv(t)
	e.send(t, 1)
	ctx := context.Background()
	reception := func() bool {
		t.Helper()
		out, _ := e.a.store.List(ctx, mailbox.Filter{Direction: mailbox.Out})
		pc, err := e.a.mb.Transport().FetchProcessCard(ctx, out[0].OSCIMessageID)
		if err != nil || pc.Creation.IsZero() {
			t.Fatalf("card %+v: %v", pc, err)
		}
		return !pc.Reception.IsZero()
	}
	for _, abandon := range []bool{true, false} {
		s, id := e.openWithOne(t)
		d, err := s.FetchDelivery(ctx, id)
		if err != nil || len(d.Documents) != 2 {
			t.Fatalf("delivery %+v: %v", d, err)
		}
		if reception() {
			t.Fatal("received before the engine called again")
		}
		if abandon {
			s.Abandon()
			continue
		}
		if err := s.Exit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !reception() {
		t.Fatal("no reception after exit")
	}
	if left, _ := os.ReadDir(filepath.Join(e.b.dir, "spool")); len(left) != 0 {
		t.Fatalf("spool not cleaned: %d entries", len(left))
	}
}

// TestSessionReceipt: the receipt is the order after a fetched delivery;
// it acknowledges it, so the card it returns carries Reception. A card the
// intermediary does not have is ErrNoReceipt and the dialog goes on.
func TestSessionReceipt(t *testing.T) {
	e := newOMEnv(t)
	e.send(t, 1)
	ctx := context.Background()
	s, id := e.openWithOne(t)
	d, err := s.FetchDelivery(ctx, id)
	if err != nil || !d.Card.Reception.IsZero() {
		t.Fatalf("delivery card %+v: %v", d.Card, err)
	}
	tests := []struct {
		name   string
		id     string
		target error
	}{
		{"card of the fetched delivery", id, nil},
		{"card the intermediary does not have", "govapp_0000", mailbox.ErrNoReceipt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := s.Receipt(ctx, tc.id)
			if tc.target != nil {
				if !errors.Is(err, tc.target) || mailbox.ErrorCode(err) != "9804" {
					t.Fatalf("err %v (code %q), want %v", err, mailbox.ErrorCode(err), tc.target)
				}
				return
			}
			if err != nil || pc.OSCIMessageID != tc.id || pc.Reception.IsZero() || pc.Reception.Before(pc.Forwarding) || !pc.Creation.Equal(d.Card.Creation) {
				t.Fatalf("card %+v: %v", pc, err)
			}
		})
	}
	if err := s.Exit(ctx); err != nil {
		t.Fatalf("dialog after the receipts: %v", err)
	}
}

func TestStoreDeliveryRefuses(t *testing.T) {
	e := newOMEnv(t)
	expired := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certstest.PKICert(t, "expired").Raw}))
	tests := []struct {
		name      string
		recipient string
		meta      string
		target    error
	}{
		{"unknown recipient", "DE.Justiz.unknown", "", addressbook.ErrNotFound},
		{"metadata not json", omSafeB, "{", ErrOutgoingMeta},
		{"fingerprint mismatch", omSafeB, `{"recipientCert":` + strconv.Quote(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
			Bytes: omSecondIdentity(t).Cipher.Cert.Raw}))) + `,"recipientFingerprint":"00"}`, ErrRecipientUnusable},
		{"expired certificate", omSafeB, `{"recipientCert":` + strconv.Quote(expired) + `}`, certs.ErrExpired},
		{"garbage certificate", omSafeB, `{"recipientCert":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}`, ErrRecipientUnusable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.a.mb.Transport().StoreDelivery(context.Background(), &mailbox.OutgoingDelivery{MessageID: "x", Recipient: tc.recipient,
				Subject: "s", Meta: []byte(tc.meta)})
			if !errors.Is(err, tc.target) || mailbox.Classify(err) != mailbox.Permanent {
				t.Fatalf("err %v (class %v), want %v", err, mailbox.Classify(err), tc.target)
			}
		})
	}
}

// TestPeerError pins the classification the engines rely on.
func TestPeerError(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		class   mailbox.Class
		code    string
		missing bool
	}{
		{"no process card", osci.ErrFeedbackNoProcessCard, mailbox.Permanent, "9804", true},
		{"message id used", &osci.FeedbackError{Code: osci.CodeIllegalMessageID}, mailbox.Permanent, "9801", false},
		{"internal fault", &osci.FaultError{Server: true, Code: osci.CodeInternal}, mailbox.Temporary, "9000", false},
		{"unsigned fault from the wire", &osci.UnverifiedError{Err: &osci.FaultError{Code: osci.CodeInvalidOrder}}, mailbox.Ambiguous, "9300", false},
		{"unsigned 9804 fault does not say the card is missing", &osci.UnverifiedError{Err: &osci.FaultError{Code: osci.CodeNoProcessCard}}, mailbox.Ambiguous, "9804", false},
		{"sent, no answer", &osci.TransportError{Stage: osci.StageSent, Err: errors.New("reset")}, mailbox.Ambiguous, "", false},
		{"not connected", &osci.TransportError{Stage: osci.StageConnect, Err: errors.New("refused")}, mailbox.Temporary, "", false},
		{"deadline", context.DeadlineExceeded, mailbox.Ambiguous, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := peerError(tc.err)
			var pe *mailbox.PeerError
			if !errors.As(err, &pe) || !errors.Is(err, tc.err) {
				t.Fatalf("%v is not a PeerError wrapping the cause", err)
			}
			if mailbox.Classify(err) != tc.class || mailbox.ErrorCode(err) != tc.code || mailbox.IsNotFound(err) != tc.missing {
				t.Fatalf("class %v code %q missing %v", mailbox.Classify(err), mailbox.ErrorCode(err), mailbox.IsNotFound(err))
			}
		})
	}
}

// The fetched response lands in the capture file exactly as received, the
// second try of a request replacing the first; a capture the disk refuses
// fails the read and is reported as ours, never as a response that cannot
// be read.
func TestCaptureHoldsTheResponseOrFails(t *testing.T) {
	body := bytes.Repeat([]byte("osci-response "), 100_000) // beyond the copy's buffers
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n++
		fmt.Fprintf(w, "try %d:", n)
		w.Write(body)
	}))
	defer srv.Close()
	hc := &http.Client{Transport: &captureTransport{base: http.DefaultTransport}}
	get := func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "original"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, captured := withCapture(context.Background(), f)
	if err := get(ctx); err != nil {
		t.Fatal(err)
	}
	if err := get(ctx); err != nil { // a retry starts the file again
		t.Fatal(err)
	}
	sum, err := captured()
	if err != nil {
		t.Fatalf("captured = %v", err)
	}
	got, _ := os.ReadFile(f.Name())
	if want := append([]byte("try 2:"), body...); !bytes.Equal(got, want) {
		t.Fatalf("capture holds %d octets, want the second response's %d", len(got), len(want))
	}
	if want := sha256.Sum256(got); sum != hex.EncodeToString(want[:]) {
		t.Fatalf("captured digest %s is not that of the file's octets", sum)
	}

	ro, err := os.Open(f.Name()) // writes fail: as a full or broken disk would
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ctx, captured = withCapture(context.Background(), ro)
	if err := get(ctx); err == nil {
		t.Fatal("reading a response whose capture cannot be written succeeded")
	}
	if _, err := captured(); err == nil {
		t.Fatal("captured = nil for a capture file that could not be started")
	}

	// A write that fails while the response streams fails the read, at
	// the latest at its end.
	cb := &captureBody{r: io.NopCloser(bytes.NewReader(body)), w: behind.New(failingWriter{})}
	if _, err := io.Copy(io.Discard, cb); err == nil {
		t.Fatal("reading a response whose copy failed reached its end without an error")
	}
	if err := cb.Close(); err == nil {
		t.Fatal("closing a response whose copy failed returned nil")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

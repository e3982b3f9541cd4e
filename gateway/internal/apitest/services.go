package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	rsqlite "github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ProcurementToken is the token with the procurement role (label
// "vergabe") that WithRegister adds; Token has no role.
const ProcurementToken = "vergabe-token-0123456789abcdef"

// WithEEB gives the API the eEB service on its own task database in the
// data directory, answering through a submission path of its own, as the
// daemon wires it.
func WithEEB() Option { return func(o *options) { o.eeb = true } }

// WithRegister gives the API the Wettbewerbsregister workflow on its own
// database, and the tokens file a second token, ProcurementToken.
func WithRegister() Option { return func(o *options) { o.register = true } }

// WithProcurementToken adds ProcurementToken to the tokens file without
// the register (whose routes then answer 503 to it).
func WithProcurementToken() Option { return func(o *options) { o.procurement = true } }

func (e *Env) openEEB(t testing.TB, mailboxes []api.Mailbox) {
	t.Helper()
	codec, err := xjustiz.New(xjustiz.Options{Now: e.Clock.Now, Rand: certstest.DetRand("apitest-eeb")})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := eeb.OpenSQLite(context.Background(), filepath.Join(e.Dir, eeb.FileName), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tasks.Close() })
	names := make([]string, len(mailboxes))
	for i, m := range mailboxes {
		names[i] = m.Name
	}
	sub, err := submit.New(submit.Config{Store: e.Store, Blobs: e.Blobs, AddressBook: e.Book, Mailboxes: names, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := eeb.New(eeb.Config{Tasks: tasks, Mail: e.Store, Blobs: e.Blobs, Codec: codec, Submitter: sub,
		Sender: func(string) string { return "Stadt Erkelenz" }, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.EEB, e.Codec = svc, codec
}

func (e *Env) openRegister(t testing.TB) {
	t.Helper()
	st, err := rsqlite.Open(context.Background(), filepath.Join(e.Dir, rsqlite.FileName), rsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := register.New(st, e.Clock.Now, nil, register.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e.Register = reg
}

// CourtRequest is the record of a court's service (R1502, Amtsgericht
// Erkelenz) asking for an eEB: built as our filing, then sender and
// recipient swapped so that the court sends it. The court's case number
// is 3 C 17/26, ours 32-12/26. Needs WithEEB.
func (e *Env) CourtRequest(t testing.TB) *xjustiz.Built {
	t.Helper()
	b, err := e.Codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		CaseSender: "3 C 17/26", CaseRecipient: "32-12/26", Documents: []xjustiz.Document{{Name: "Ladung.pdf", Class: "012"}}, EEB: true})
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?s)<tns:auswahl_absender>(.*?)</tns:auswahl_absender>`).FindSubmatch(b.Record)
	to := regexp.MustCompile(`(?s)<tns:auswahl_empfaenger>(.*?)</tns:auswahl_empfaenger>`).FindSubmatch(b.Record)
	if from == nil || to == nil {
		t.Fatalf("record without sender or recipient: %.300s", b.Record)
	}
	newFrom := bytes.ReplaceAll(to[1], []byte("empfaenger.gericht"), []byte("absender.gericht"))
	newTo := bytes.ReplaceAll(from[1], []byte("absender.sonstige"), []byte("empfaenger.sonstige"))
	rec := bytes.Replace(b.Record, from[0], []byte("<tns:auswahl_absender>"+string(newFrom)+"</tns:auswahl_absender>"), 1)
	b.Record = bytes.Replace(rec, to[0], []byte("<tns:auswahl_empfaenger>"+string(newTo)+"</tns:auswahl_empfaenger>"), 1)
	if err := e.Codec.Validate(b.Record); err != nil {
		t.Fatalf("the court's record is not valid: %v", err)
	}
	return b
}

// ReceiveFromCourt stores a verified delivery from Recipient (the court)
// carrying record beside a PDF, moves it to intake_pending as the intake
// engine would, and lets the eEB service follow the journal. Needs
// WithEEB.
func (e *Env) ReceiveFromCourt(t testing.TB, osciID string, record []byte) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	var docs []mailbox.Document
	for _, d := range []struct {
		name    string
		content []byte
		role    mailbox.Role
	}{{"Ladung.pdf", []byte("%PDF-1.7 " + osciID), mailbox.RoleDocument}, {"xjustiz_nachricht.xml", record, mailbox.RoleStructured}} {
		ref, err := e.Blobs.Put(bytes.NewReader(d.content))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, mailbox.Document{Role: d.role, Name: d.name, SHA256: ref.SHA256, Size: ref.Size})
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Sender: mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: Recipient}},
		Report: mailbox.VerificationReport{Verdict: mailbox.ResultValid}})
	m, err := e.Store.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: Mailbox, OSCIMessageID: osciID, ContentSHA256: mailbox.IncomingDigest(docs),
		Sender: Recipient, Recipient: "DE.BeBPo.erkelenz", Subject: "Ladung", Meta: meta, Documents: docs, Now: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := e.Store.ClaimDue(ctx, mailbox.In, e.Clock.Now().Add(time.Hour), "apitest", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	moved := false
	for _, c := range claimed {
		if c.ID == m.ID {
			if m, err = e.Store.Apply(ctx, mailbox.Change{ID: m.ID, Owner: "apitest", Token: c.LeaseToken, To: mailbox.StateIntakePending, Now: e.Clock.Now()}); err != nil {
				t.Fatal(err)
			}
			moved = true
		}
	}
	if !moved {
		t.Fatalf("message %d was not claimable", m.ID)
	}
	for more := true; more; {
		if more, err = e.EEB.Follow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

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
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
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
	names := make([]string, len(mailboxes))
	for i, m := range mailboxes {
		names[i] = m.Name
	}
	sub, err := submit.New(submit.Config{Store: e.Store, Blobs: e.Blobs, AddressBook: e.Book, Mailboxes: names, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.EEB, e.Codec = OpenEEB(t, e.Dir, e.Store, e.Blobs, sub, e.Clock.Now, "apitest-eeb")
}

// OpenEEB is the eEB service on its own task database in dir, reading
// st and blobs, answering through sub, with a codec whose randomness is
// seeded by seed (certstest.DetRand); closed when the test ends.
func OpenEEB(t testing.TB, dir string, st mailbox.Store, blobs *mailbox.Blobs, sub *submit.Submitter, now func() time.Time, seed string) (*eeb.Service, *xjustiz.Codec) {
	t.Helper()
	codec, err := xjustiz.New(xjustiz.Options{Now: now, Rand: certstest.DetRand(seed)})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := eeb.OpenSQLite(context.Background(), filepath.Join(dir, eeb.FileName), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tasks.Close() })
	svc, err := eeb.New(eeb.Config{Tasks: tasks, Mail: st, Blobs: blobs, Codec: codec, Submitter: sub,
		Sender: func(string) string { return "Stadt Erkelenz" }, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return svc, codec
}

// OpenRegister is the Wettbewerbsregister workflow on its own database in
// dir; closed when the test ends.
func OpenRegister(t testing.TB, dir string, now func() time.Time) *register.Register {
	t.Helper()
	st, err := rsqlite.Open(context.Background(), filepath.Join(dir, rsqlite.FileName), rsqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := register.New(st, now, nil, register.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// FileWithEEB submits our filing to the court R1502 asking for an eEB:
// its XJustiz record beside Klage.pdf, through the API's submission
// path. Needs WithEEB.
func (e *Env) FileWithEEB(t testing.TB) (*xjustiz.Built, submit.Accepted) {
	t.Helper()
	return e.FileRecord(t, e.Codec, xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		Documents: []xjustiz.Document{{Name: "Klage.pdf", Class: "003"}}, EEB: true})
}

// FileRecord submits the XJustiz record codec builds of sub, beside its
// one document (the sample PDF plain_gs.pdf), through the API's
// submission path.
func (e *Env) FileRecord(t testing.TB, codec *xjustiz.Codec, sub xjustiz.Submission) (*xjustiz.Built, submit.Accepted) {
	t.Helper()
	ours, err := codec.BuildSubmission(sub)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Srv.Submitter().Begin()
	defer d.Abort()
	// The record first, as the ERVB rule has it; the PDF is Documents[1].
	for _, doc := range []struct {
		name    string
		content []byte
	}{{"xjustiz_nachricht.xml", ours.Record}, {ours.Documents[0].FileName, certstest.Document(t, "plain_gs.pdf")}} {
		if err := d.AddDocument(doc.name, "", bytes.NewReader(doc.content)); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := d.Commit(context.Background(), OKMessage(), "")
	if err != nil {
		t.Fatal(err)
	}
	return ours, acc
}

// CourtRequest is CourtRecord with the env's codec. Needs WithEEB.
func (e *Env) CourtRequest(t testing.TB) *xjustiz.Built {
	t.Helper()
	return CourtRecord(t, e.Codec)
}

// CourtRecord is the record of a court's service (R1502, Amtsgericht
// Erkelenz) asking for an eEB: built by codec as our filing, then sender
// and recipient swapped so that the court sends it. The court's case
// number is 3 C 17/26, ours 32-12/26.
func CourtRecord(t testing.TB, codec *xjustiz.Codec) *xjustiz.Built {
	t.Helper()
	b, err := codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
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
	if err := codec.Validate(b.Record); err != nil {
		t.Fatalf("the court's record is not valid: %v", err)
	}
	return b
}

// ReceiveFromCourt stores in Mailbox a delivery from the court carrying
// record (DeliverFromCourt) and lets the eEB service follow the journal.
// Needs WithEEB.
func (e *Env) ReceiveFromCourt(t testing.TB, osciID string, record []byte) mailbox.Message {
	t.Helper()
	m := DeliverFromCourt(t, e.Store, e.Blobs, e.Clock.Now(), Mailbox, osciID, record)
	FollowEEB(t, e.EEB)
	return m
}

// DeliverFromCourt stores in mailboxName a verified delivery from
// Recipient (the court) carrying record beside a PDF, and moves it to
// intake_pending as the intake engine would.
func DeliverFromCourt(t testing.TB, st mailbox.Store, blobs *mailbox.Blobs, now time.Time, mailboxName, osciID string, record []byte) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	var docs []mailbox.Document
	for _, d := range []struct {
		name    string
		content []byte
		role    mailbox.Role
	}{{"Ladung.pdf", []byte("%PDF-1.7 " + osciID), mailbox.RoleDocument}, {"xjustiz_nachricht.xml", record, mailbox.RoleStructured}} {
		ref, err := blobs.Put(bytes.NewReader(d.content))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, mailbox.Document{Role: d.role, Name: d.name, SHA256: ref.SHA256, Size: ref.Size})
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Sender: mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: Recipient}},
		Report: mailbox.VerificationReport{Verdict: checkresult.Valid}})
	m, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: mailboxName, OSCIMessageID: osciID, ContentSHA256: mailbox.IncomingDigest(docs),
		Sender: Recipient, Recipient: "DE.BeBPo.erkelenz", Subject: "Ladung", Meta: meta, Documents: docs, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return MoveIncoming(t, st, m.ID, mailbox.StateIntakePending, now)
}

// MoveIncoming claims the incoming message id and moves it to the state
// to (intake_pending, quarantined), as the intake engine would.
func MoveIncoming(t testing.TB, st mailbox.Store, id int64, to mailbox.State, now time.Time) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	claimed, err := st.ClaimDue(ctx, mailbox.In, now.Add(time.Hour), "apitest", time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range claimed {
		if c.ID == id {
			m, err := st.Apply(ctx, mailbox.Change{ID: id, Owner: "apitest", Token: c.LeaseToken, To: to, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("message %d was not claimable", id)
	return mailbox.Message{}
}

// FollowEEB lets svc follow the journal to its end.
func FollowEEB(t testing.TB, svc *eeb.Service) {
	t.Helper()
	for more := true; more; {
		var err error
		if more, err = svc.Follow(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

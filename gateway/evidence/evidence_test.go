package evidence_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	certstest.Golden(t, filepath.Join("testdata", name), got, *update)
}

// sentWithCard is an outgoing message with a record asking for an eEB,
// sent, with the intermediary's card reporting its reception in winter
// (MEZ) and the court's eEB answer recorded.
func sentWithCard(t *testing.T) (*apitest.Env, *xjustiz.Codec, mailbox.Message, time.Time) {
	t.Helper()
	e := apitest.NewEnvWithRecipient(t)
	e.Clock.Set(time.Date(2026, 12, 3, 6, 50, 0, 0, time.UTC))
	codec, err := xjustiz.New(xjustiz.Options{Now: e.Clock.Now, Rand: certstest.DetRand("evidence")})
	if err != nil {
		t.Fatal(err)
	}
	_, acc := e.FileRecord(t, codec, xjustiz.Submission{Court: xjustiz.Court{Code: "R1502"}, Sender: "Stadt Erkelenz",
		CaseSender: "32-12/26", CaseRecipient: "3 C 17/26", Documents: []xjustiz.Document{{Name: "Klage.pdf", Class: "003"}}, EEB: true})
	reception := time.Date(2026, 12, 3, 6, 51, 47, 0, time.UTC) // 07:51:47 MEZ
	if err := e.Store.UpdateProcessCard(context.Background(), acc.Message.ID, mailbox.ProcessCard{OSCIMessageID: "osci-1",
		Creation: reception.Add(-time.Minute), Forwarding: reception.Add(-30 * time.Second), Reception: reception}, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return e, codec, acc.Message, reception
}

// TestBuildReceptionFromProcessCard is the acceptance: the bundle
// carries the reception time of the process card, every document's
// SHA-256, the record, the court's answer and the journal.
func TestBuildReceptionFromProcessCard(t *testing.T) {
	e, codec, m, reception := sentWithCard(t)
	replies := func(ctx context.Context, id int64) ([]eeb.Reply, error) {
		return []eeb.Reply{{MessageID: 9, OurMessageID: id, RecordMessageID: "r-1", Acknowledged: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), ReceivedAt: reception}}, nil
	}
	b, err := evidence.Build(context.Background(), evidence.Sources{Mail: e.Store, Blobs: e.Blobs, Codec: codec, Replies: replies}, m.ID, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !b.ReceptionAt.Equal(reception) || b.ProcessCard == nil || b.ProcessCard.OSCIMessageID != "osci-1" {
		t.Errorf("reception = %v, card %+v", b.ReceptionAt, b.ProcessCard)
	}
	if len(b.Documents) != 2 || b.Documents[0].SHA256 != m.Documents[0].SHA256 {
		t.Errorf("documents = %+v", b.Documents)
	}
	if b.Record == nil || !b.Record.EEBRequested || b.Record.Court != "R1502" || b.Record.CourtName != "Amtsgericht Erkelenz" || !strings.Contains(b.Record.XML, "ruecksendungEEB") {
		t.Errorf("record = %+v", b.Record)
	}
	if len(b.EEB) != 1 || b.EEB[0].AcknowledgedOn != "2026-12-04" {
		t.Errorf("eeb = %+v", b.EEB)
	}
	kinds := map[string]bool{}
	for _, j := range b.Journal {
		kinds[j.Kind] = j.Hash != ""
	}
	if !kinds["enqueued"] || !kinds["process_card"] {
		t.Errorf("journal kinds = %v", kinds)
	}
	page, err := b.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("03.12.2026, 07:51:47 Uhr (MEZ)")) {
		t.Errorf("the page does not show the reception in German local time:\n%s", page)
	}
}

// TestBuildRefusesDamagedDocument: a stored file that no longer matches
// its hash is not vouched for.
func TestBuildRefusesDamagedDocument(t *testing.T) {
	e, codec, m, _ := sentWithCard(t)
	p := e.Blobs.Path(m.Documents[1].SHA256)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("%PDF-1.7 forged"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := evidence.Build(context.Background(), evidence.Sources{Mail: e.Store, Blobs: e.Blobs, Codec: codec}, m.ID, e.Clock.Now())
	if !errors.Is(err, mailbox.ErrBlobCorrupt) {
		t.Fatalf("Build = %v, want ErrBlobCorrupt", err)
	}
}

// TestBuildRefusesIncoming: no proof of filing for a received message.
func TestBuildRefusesIncoming(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	ref, _ := e.Blobs.Put(strings.NewReader("x"))
	docs := []mailbox.Document{{Role: mailbox.RoleDocument, Name: "A.pdf", SHA256: ref.SHA256, Size: ref.Size}}
	in, err := e.Store.InsertIncoming(context.Background(), mailbox.NewIncoming{Mailbox: apitest.Mailbox, OSCIMessageID: "in-1",
		ContentSHA256: mailbox.IncomingDigest(docs), Meta: []byte("{}"), Documents: docs, Now: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Build(context.Background(), evidence.Sources{Mail: e.Store, Blobs: e.Blobs}, in.ID, e.Clock.Now()); !errors.Is(err, evidence.ErrNotOutgoing) {
		t.Errorf("Build = %v, want ErrNotOutgoing", err)
	}
}

// fixedBundle is a bundle with every part, for the golden renderings.
func fixedBundle() *evidence.Bundle {
	at := func(h, m, s int) time.Time { return time.Date(2026, 7, 1, h, m, s, 0, time.UTC) } // MESZ
	return &evidence.Bundle{Version: evidence.Version, GeneratedAt: at(12, 0, 0), MessageID: 17, Mailbox: "stadt",
		OSCIMessageID: "a1b2c3d4e5", Recipient: "DE.Justiz.3e8f3c7a-0d0c-4f6e-9a51-2f1d8c0b7a11.1234",
		Subject: "Az. 3 C 17/26 Klageerwiderung", State: "confirmed", SubmittedAt: at(8, 0, 0), ReceptionAt: at(8, 5, 12),
		ProcessCard: &evidence.ProcessCard{OSCIMessageID: "a1b2c3d4e5", Creation: at(8, 0, 3), Forwarding: at(8, 5, 10), Reception: at(8, 5, 12),
			RecentModification: at(8, 5, 12), Inspections: []mailbox.Inspection{{Time: at(8, 0, 3), Subject: "CN=Stadt Erkelenz", Issuer: "CN=Test CA",
				Serial: "1", CertType: "advanced", MathResult: "ok", OfflineResult: "valid"}}},
		Documents: []evidence.Document{
			{Name: "xjustiz_nachricht.xml", Role: "document", ContentType: "application/xml", Size: 2048, SHA256: strings.Repeat("ab", 32)},
			{Name: "Klageerwiderung_1f0e.pdf", Role: "document", ContentType: "application/pdf", Size: 81234, SHA256: strings.Repeat("cd", 32)}},
		Record: &evidence.Record{File: "xjustiz_nachricht.xml", MessageID: "0b7f3e2a-9c1d-4e5f-8a6b-7c8d9e0f1a2b",
			Message: xjustiz.MessageSubmission, Court: "R1502", CourtName: "Amtsgericht Erkelenz", CaseSender: "32-12/26",
			CaseRecipient: "3 C 17/26", EEBRequested: true, XML: "<tns:nachricht/>"},
		EEB: []evidence.EEBAnswer{{Result: "acknowledged", AcknowledgedOn: "2026-07-02", ReceivedAt: at(9, 30, 0), ReplyMessageID: 21,
			RecordMessageID: "5d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c0d"}},
		Journal: []evidence.JournalEntry{
			{Seq: 40, At: at(8, 0, 0), Kind: "enqueued", Detail: map[string]string{"mailbox": "stadt", "documents": "2"}, Hash: strings.Repeat("01", 32)},
			{Seq: 44, At: at(8, 5, 12), Kind: "state", Detail: map[string]string{"from": "sent", "to": "confirmed"}, Hash: strings.Repeat("02", 32)}},
	}
}

// TestGoldenRenderings keeps the page and the JSON byte-stable.
func TestGoldenRenderings(t *testing.T) {
	b := fixedBundle()
	page, err := b.HTML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "nachweis.html", page)
	js, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "nachweis.json", js)
	if !bytes.Contains(page, []byte("01.07.2026, 10:05:12 Uhr (MESZ)")) {
		t.Error("the reception is not shown in summer time")
	}
	// Nothing the sender wrote becomes markup.
	b.Subject = `<script>alert(1)</script>`
	if page, _ = b.HTML(); bytes.Contains(page, []byte("<script>")) {
		t.Error("the subject was not escaped")
	}
}

package eeb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// fixture is a real message store, blob store, address book and
// submission path (apitest.Env) with an eEB service on its own database.
type fixture struct {
	*apitest.Env
	codec *xjustiz.Codec
	tasks *eeb.SQLite
	svc   *eeb.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := apitest.NewEnvWithRecipient(t)
	codec, err := xjustiz.New(xjustiz.Options{Now: e.Clock.Now, Rand: certstest.DetRand("eeb")})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := eeb.OpenSQLite(context.Background(), filepath.Join(e.Dir, eeb.FileName), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tasks.Close() })
	svc, err := eeb.New(eeb.Config{Tasks: tasks, Mail: e.Store, Blobs: e.Blobs, Codec: codec, Submitter: e.Srv.Submitter(),
		Sender: func(string) string { return "Stadt Erkelenz" }, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Env: e, codec: codec, tasks: tasks, svc: svc}
}

// request is the record of a court's service with an eEB request
// (apitest.CourtRecord): the court's case number is 3 C 17/26, ours
// 32-12/26.
func (f *fixture) request(t *testing.T) *xjustiz.Built {
	t.Helper()
	return apitest.CourtRecord(t, f.codec)
}

// receive stores a delivery from the court (apitest.Recipient) with the
// record and a PDF, verified (intake_pending) unless quarantine.
func (f *fixture) receive(t *testing.T, osciID string, record []byte, quarantine bool) mailbox.Message {
	t.Helper()
	ctx := context.Background()
	var docs []mailbox.Document
	for _, d := range []struct {
		name, content string
		role          mailbox.Role
	}{{"Ladung.pdf", "%PDF-1.7 " + osciID, mailbox.RoleDocument}, {"xjustiz_nachricht.xml", string(record), mailbox.RoleStructured}} {
		ref, err := f.Blobs.Put(strings.NewReader(d.content))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, mailbox.Document{Role: d.role, Name: d.name, SHA256: ref.SHA256, Size: ref.Size})
	}
	verdict := checkresult.Valid
	if quarantine {
		verdict = checkresult.Invalid
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Sender: mailbox.SenderIdentity{Confirmed: mailbox.ConfirmedSender{SafeID: apitest.Recipient}},
		Report: mailbox.VerificationReport{Verdict: verdict}})
	m, err := f.Store.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: apitest.Mailbox, OSCIMessageID: osciID,
		ContentSHA256: mailbox.IncomingDigest(docs), Sender: apitest.Recipient, Recipient: "DE.BeBPo.erkelenz",
		Subject: "Ladung", Meta: meta, Documents: docs, Now: f.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	to := mailbox.StateIntakePending
	if quarantine {
		to = mailbox.StateQuarantined
	}
	return apitest.MoveIncoming(t, f.Store, m.ID, to, f.Clock.Now())
}

// follow runs the follower to the end of the journal.
func (f *fixture) follow(t *testing.T) {
	t.Helper()
	for more := true; more; {
		var err error
		if more, err = f.svc.Follow(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// document returns the content of a message's document by name.
func (f *fixture) document(t *testing.T, m mailbox.Message, name string) []byte {
	t.Helper()
	for _, d := range m.Documents {
		if d.Name == name {
			r, err := f.Blobs.Open(d.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var b bytes.Buffer
			if _, err := b.ReadFrom(r); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
	}
	t.Fatalf("message %d has no %s", m.ID, name)
	return nil
}

// xmllint checks a record with xmllint --schema against the shared 3.5.1
// schemas (not our embedded copies).
func xmllint(t *testing.T, rec []byte, schema string) {
	t.Helper()
	tool := certstest.NeedTool(t, "xmllint")
	p := filepath.Join(t.TempDir(), "xjustiz_nachricht.xml")
	if err := os.WriteFile(p, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	xsd := filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1", "xsd", schema)
	if out, err := exec.Command(tool, "--noout", "--nonet", "--schema", xsd, p).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// events returns the kinds of a message's journal entries.
func (f *fixture) events(t *testing.T, id int64) []mailbox.Event {
	t.Helper()
	evs, err := f.Store.MessageEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func countKind(evs []mailbox.Event, kind string) int {
	n := 0
	for _, e := range evs {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

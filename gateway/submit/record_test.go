package submit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig/docsigtest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// courtEnv is the test API with the Landgericht Berlin (F1100) in the
// address book, beside the test recipient (an authority, no court).
func courtEnv(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.NewEnvWithRecipient(t)
	r := addressbook.Recipient{SafeID: "DE.Justiz.lg-berlin.1", Name: "LG Berlin", CourtCode: "F1100", CipherCert: apitest.PKIPEM(t, "safe-cipher.pem")}
	if _, err := e.Book.Add(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return e
}

type doc struct {
	name string
	body []byte
}

func commit(t *testing.T, e *apitest.Env, req submit.MessageRequest, docs ...doc) (submit.Accepted, error) {
	t.Helper()
	d := e.Srv.Submitter().Begin()
	defer d.Abort()
	for _, dc := range docs {
		if err := d.AddDocument(dc.name, "", bytes.NewReader(dc.body)); err != nil {
			t.Fatal(err)
		}
	}
	if req.Subject == "" {
		req.Subject = "Klage"
	}
	return d.Commit(context.Background(), req, "")
}

func blob(t *testing.T, e *apitest.Env, d mailbox.Document) []byte {
	t.Helper()
	rc, err := e.Blobs.Open(d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMessageToACourtCarriesItsRecord: a message to a court gets a
// schema-valid XJustiz record naming the court, the case numbers and the
// eEB request; every document travels under the name the record gives it
// (with its UUID), and the record's message id is pinned for the eEB
// answer.
func TestMessageToACourtCarriesItsRecord(t *testing.T) {
	e := courtEnv(t)
	pdf := certstest.Document(t, "plain_gs.pdf")
	acc, err := commit(t, e, submit.MessageRequest{Court: "F1100", CaseNumberSender: "32-10/2026", CaseNumberRecipient: "2 O 17/26",
		EEBRequested: true, DocumentClass: "003"}, doc{"Klage.pdf", pdf}, doc{"Anlage_K1.pdf", pdf})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Store.Get(context.Background(), acc.Message.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Documents) != 3 || m.Documents[2].Name != submit.RecordName {
		t.Fatalf("documents %+v, want two and the record", m.Documents)
	}
	uuidName := regexp.MustCompile(`^(Klage|Anlage_K1)_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.pdf$`)
	for _, d := range m.Documents[:2] {
		if !uuidName.MatchString(d.Name) {
			t.Errorf("document name %q does not carry its UUID", d.Name)
		}
	}
	record := blob(t, e, m.Documents[2])
	codec, err := xjustiz.New(xjustiz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := codec.Read(record)
	if err != nil || rec.Validation != nil {
		t.Fatalf("record: %v %v", err, rec.Validation)
	}
	var meta submit.OutgoingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if rec.RecipientCourt != "F1100" || !rec.EEBRequested || rec.CaseSender != "32-10/2026" || rec.CaseRecipient != "2 O 17/26" ||
		meta.XJustizMessageID == "" || meta.XJustizMessageID != rec.MessageID || meta.CourtCode != "F1100" {
		t.Errorf("record %+v, meta %+v", rec, meta)
	}
	for i, d := range rec.Documents {
		if len(d.Files) == 0 || d.Files[0].Name != m.Documents[i].Name || d.Class != "003" {
			t.Errorf("record document %d: %+v, sent as %q", i, d, m.Documents[i].Name)
		}
	}
	if xmllint, err := exec.LookPath("xmllint"); err == nil {
		p := filepath.Join(t.TempDir(), submit.RecordName)
		if err := os.WriteFile(p, record, 0o600); err != nil {
			t.Fatal(err)
		}
		schema := filepath.Join(certstest.SharedDir(t), "xjustiz", "3.5.1", "xsd", "xjustiz_0005_nachrichten_3_1.xsd")
		if out, err := exec.Command(xmllint, "--noout", "--schema", schema, p).CombinedOutput(); err != nil {
			t.Errorf("xmllint: %v\n%s", err, out)
		}
	}
}

// TestFakeDocumentsNeverReachACourt: what the ERVB forbids is refused
// before anything is queued, every finding named; between authorities the
// names and limits stay the rule.
func TestFakeDocumentsNeverReachACourt(t *testing.T) {
	e := courtEnv(t)
	tests := []struct {
		name string
		body []byte
		rule ervb.Rule
	}{
		{"Fake.pdf", []byte("Dies ist eine Textdatei.\n"), ervb.RuleContentMismatch},
		{"Klage.pdf", certstest.Document(t, "javascript_openaction.pdf"), ervb.RulePDFJavaScript},
		{"Verschluesselt.pdf", certstest.Document(t, "encrypted_aes256.pdf"), ervb.RulePDFEncrypted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := commit(t, e, submit.MessageRequest{Court: "F1100"}, doc{tc.name, tc.body})
			var pe *submit.PreflightError
			if !errors.As(err, &pe) || !errors.Is(err, ervb.ErrRefused) || len(pe.Findings.Errors()) == 0 || pe.Findings.Errors()[0].Rule != tc.rule {
				t.Fatalf("err = %v, want a refusal by rule %s", err, tc.rule)
			}
			if f := pe.Findings.Errors()[0].File; f != tc.name {
				t.Errorf("the finding names %q, not the file as the clerk named it (%s)", f, tc.name)
			}
		})
	}
	if n := e.MessageCount(t); n != 0 {
		t.Errorf("%d messages queued", n)
	}
	if _, err := commit(t, e, submit.MessageRequest{To: apitest.Recipient}, doc{"Notiz.pdf", []byte("text")}); err != nil {
		t.Errorf("between authorities: %v", err)
	}
}

// TestEEBWithoutRecordIsRefused: an eEB is asked for only in an XJustiz
// record; asking one of a recipient that is no court, without a record,
// is refused instead of silently sent without the request; a record the
// submitter brings is validated.
func TestEEBWithoutRecordIsRefused(t *testing.T) {
	e := courtEnv(t)
	pdf := certstest.Document(t, "plain_gs.pdf")
	if _, err := commit(t, e, submit.MessageRequest{To: apitest.Recipient, EEBRequested: true}, doc{"Antrag.pdf", pdf}); !errors.Is(err, submit.ErrNoRecord) {
		t.Errorf("eEB to an authority without a record: %v", err)
	}
	bad := []byte(`<?xml version="1.0"?><nachricht.gds.uebermittlungSchriftgutobjekte.0005005 xmlns="http://www.xjustiz.de"/>`)
	if _, err := commit(t, e, submit.MessageRequest{To: apitest.Recipient}, doc{"Antrag.pdf", pdf}, doc{submit.RecordName, bad}); !errors.Is(err, submit.ErrRecord) {
		t.Errorf("an invalid record brought along: %v", err)
	}
	if n := e.MessageCount(t); n != 0 {
		t.Errorf("%d messages queued", n)
	}
}

// TestSignedDocumentToACourt: a document's detached signature travels
// beside it under the name the record gives it, and a document changed
// after signing is refused before it is queued (the court would see a
// broken signature).
func TestSignedDocumentToACourt(t *testing.T) {
	e := courtEnv(t)
	dsc := docsigtest.Config(t, certs.RevocationOff, "root-ca", "intermediate-ca")
	sub, err := submit.New(submit.Config{Store: e.Store, Blobs: e.Blobs, AddressBook: e.Book, Mailboxes: []string{"stadt"}, TempDir: t.TempDir(),
		DocumentSignatures: func() (*docsig.Verifier, error) { return docsig.New(dsc) }})
	if err != nil {
		t.Fatal(err)
	}
	pdf, p7s := certstest.Document(t, "plain_gs.pdf"), certstest.Document(t, "plain_gs.pdf.p7s")
	send := func(body []byte) (submit.Accepted, error) {
		d := sub.Begin()
		defer d.Abort()
		for _, dc := range []doc{{"Klage.pdf", body}, {"Klage.pdf.p7s", p7s}} {
			if err := d.AddDocument(dc.name, "", bytes.NewReader(dc.body)); err != nil {
				t.Fatal(err)
			}
		}
		return d.Commit(context.Background(), submit.MessageRequest{Court: "F1100", Subject: "Klage"}, "")
	}
	acc, err := send(pdf)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Store.Get(context.Background(), acc.Message.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Documents) != 3 || m.Documents[1].Name != m.Documents[0].Name+".p7s" || !strings.HasPrefix(m.Documents[0].Name, "Klage_") {
		t.Fatalf("documents %+v, want the PDF, its signature beside it, the record", m.Documents)
	}
	changed := append(append([]byte(nil), pdf...), []byte("\n% appended after signing\n")...)
	_, err = send(changed)
	var pe *submit.PreflightError
	if !errors.As(err, &pe) || pe.Findings.Errors()[0].Rule != "signature-broken" {
		t.Fatalf("a document changed after signing: %v", err)
	}
}

package osciendpoint_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestReferenceLibraryMessagesReachTheIntake: each message the reference
// library stored for bob, kept as bob's gateway received it and read
// again through the bridge, arrives in the intake once, valid, with both
// containers' texts and attachments as documents, the notes in
// metadata.json, and CON.pdf beside con.pdf.
func TestReferenceLibraryMessagesReachTheIntake(t *testing.T) {
	ctx := context.Background()
	e := apitest.NewEnv(t, api.Limits{})
	root := filepath.Join(e.Dir, "intake")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	intake, err := mailbox.NewFolderIntake(root, nil, func() time.Time { return certstest.ReferenceNow })
	if err != nil {
		t.Fatal(err)
	}
	bob, err := apitest.ReferenceReprocessor(t)("bob")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"signed-plain-encrypted": {"content0.txt", "content2.txt", "geheim.txt", "schriftsatz.txt"},
		"signed-encrypted":       {"content0.txt", "geheim.txt"},
		"unsigned":               {"content0.txt", "content2.txt", "geheim.txt", "schriftsatz.txt"},
		"names":                  {"CON.pdf", "con.pdf", "content0.txt"},
	}
	ids := map[string]string{}
	for shape := range want {
		// Stored as a fetch parks it, then read through the bridge.
		m := apitest.ParkReference(t, e.Store, e.Blobs, "bob", shape)
		ids[m.OSCIMessageID] = shape
		if m, err = mailbox.Reprocess(ctx, e.Store, e.Blobs, bob, m.ID, "test", certstest.ReferenceNow); err != nil || m.State != mailbox.StateReceived {
			t.Fatalf("%s: %+v %v", shape, m, err)
		}
	}
	d := &mailbox.Deliverer{Store: e.Store, Blobs: e.Blobs, Sink: intake, Now: func() time.Time { return certstest.ReferenceNow }, Rand: certstest.DetRand("d")}
	if _, err := d.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil || len(entries) != len(want) {
		t.Fatalf("%d intake entries: %v", len(entries), err)
	}
	for _, ent := range entries {
		edir := filepath.Join(root, ent.Name())
		read := func(rel string) []byte {
			b, err := os.ReadFile(filepath.Join(edir, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		var md mailbox.IntakeMetadata
		if err := json.Unmarshal(read(mailbox.FileMetadataJSON), &md); err != nil {
			t.Fatal(err)
		}
		shape := ids[md.MessageID]
		var names []string
		for _, doc := range md.Documents {
			names = append(names, doc.OriginalName)
			sum := sha256.Sum256(read(mailbox.DocumentsDir + "/" + doc.FileName))
			if hex.EncodeToString(sum[:]) != doc.SHA256 || !doc.Signed || doc.Coverage == "" {
				t.Errorf("%s: document %+v", shape, doc)
			}
			if err := mailbox.ValidFileName(doc.FileName); err != nil {
				t.Errorf("%s: %v", shape, err)
			}
		}
		sort.Strings(names)
		if md.VerificationStatus != checkresult.Valid || strings.Join(names, "|") != strings.Join(want[shape], "|") {
			t.Errorf("%s: status %s, documents %q", shape, md.VerificationStatus, names)
		}
		if len(md.Notes) == 0 || !strings.HasPrefix(strings.Join(md.Notes, "|"), "keine EGVP-Nachricht") {
			t.Errorf("%s: notes %q", shape, md.Notes)
		}
	}
	states, err := e.Store.CountByState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range states {
		if c.State != mailbox.StateDelivered {
			t.Errorf("%+v", c)
		}
	}
}

package register_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// failingIntake fails the first n hand-overs, then delegates.
type failingIntake struct {
	mailbox.Intake
	n int
}

func (f *failingIntake) Deliver(ctx context.Context, m *mailbox.IntakeMessage) (mailbox.IntakeRecord, error) {
	if f.n > 0 {
		f.n--
		return mailbox.IntakeRecord{}, errors.New("dms down")
	}
	return f.Intake.Deliver(ctx, m)
}

func TestAnswersAndSheetsAreFiledOnceWithProcedureAndCompany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.procedure(t, "VG-2026-010", company(1))
	qs, err := f.reg.Query(ctx, "VG-2026-010", register.QueryRequest{Confirmation: confirmed}, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	a := f.answer(t, qs[0], false)
	root := filepath.Join(f.dir, "eakte")
	folder, err := mailbox.NewFolderIntake(root, nil, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	filer := &register.Filer{Register: f.reg, Sink: &failingIntake{Intake: folder, n: 1}, Mailbox: "vergabe"}
	if _, err := filer.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// The failed hand-over waits for its retry time; then both are filed.
	f.clk.Advance(mailbox.DefaultIntakePolicy().Max)
	if _, err := filer.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(mailbox.DefaultIntakePolicy().Max)
	if n, err := filer.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("third round: %d %v, want nothing left", n, err)
	}
	ents, _ := os.ReadDir(root)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	want := []string{register.FilingMessageID(register.Filing{Kind: register.FilingSheet, FileID: 1}),
		register.FilingMessageID(register.Filing{Kind: register.FilingAnswer, AnswerID: a.ID, ProcedureID: qs[0].ProcedureID})}
	sort.Strings(want)
	if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Fatalf("intake holds %v, want %v", names, want)
	}
	var md mailbox.IntakeMetadata
	b, err := os.ReadFile(filepath.Join(root, register.FilingMessageID(register.Filing{Kind: register.FilingAnswer, AnswerID: a.ID, ProcedureID: qs[0].ProcedureID}), mailbox.FileMetadataJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	if md.CaseNumberRecipient != "VG-2026-010" || md.Mailbox != "vergabe" || len(md.Documents) != 2 || md.Documents[0].SHA256 != a.SHA256 {
		t.Fatalf("metadata %+v", md)
	}
	var rec struct {
		Procedure string           `json:"procedure"`
		Company   register.Company `json:"company"`
	}
	b, err = os.ReadFile(filepath.Join(root, names[0], mailbox.DocumentsDir, "wettbewerbsregister.json"))
	if err != nil {
		b, err = os.ReadFile(filepath.Join(root, names[1], mailbox.DocumentsDir, "wettbewerbsregister.json"))
	}
	if err != nil || json.Unmarshal(b, &rec) != nil || rec.Procedure != "VG-2026-010" || rec.Company.RegisterNumber != "HRB 1001" {
		t.Fatalf("wettbewerbsregister.json %s %v", b, err)
	}
}

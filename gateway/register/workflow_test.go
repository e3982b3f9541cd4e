package register_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time          { return c.t }
func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

type fixture struct {
	reg   *register.Register
	clk   *clock
	dir   string
	store *sqlite.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	reg, err := register.New(st, clk.Now, nil, register.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, clk: clk, dir: dir, store: st}
}

func company(n int) register.Company {
	return register.Company{Name: fmt.Sprintf("Bau %d GmbH", n), LegalForm: "GmbH", Representatives: []string{"Erika Muster"},
		Address: "Hauptstr. 1, 41812 Erkelenz", RegistryCourt: "Amtsgericht Mönchengladbach", RegisterNumber: fmt.Sprintf("HRB %d", 1000+n),
		VATID: fmt.Sprintf("DE12345678%d", n)}
}

var confirmed = register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true}

func (f *fixture) procedure(t *testing.T, number string, members ...register.Company) register.Bidder {
	t.Helper()
	ctx := context.Background()
	if _, err := f.reg.CreateProcedure(ctx, register.NewProcedure{Number: number, Description: "Sanierung Schulzentrum",
		Publication: "eVergabe 2026/S 012-000123", Value: 250_000_00, Kind: register.KindPublic}, "clerk"); err != nil {
		t.Fatal(err)
	}
	b, err := f.reg.SetBidder(ctx, number, "ARGE Schulzentrum", members, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) answer(t *testing.T, q register.Query, entries bool) register.Answer {
	t.Helper()
	a, err := f.reg.RecordAnswer(context.Background(), q.ID, register.AnswerInput{HasEntries: entries, Data: []byte(fmt.Sprintf("%%PDF-1.4 answer %d", q.ID))}, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) gate(t *testing.T, number string) register.GateResult {
	t.Helper()
	g, err := f.reg.Gate(context.Background(), number, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestConsortiumOfThreeNeedsThreeAnswers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.procedure(t, "VG-2026-001", company(1), company(2), company(3))
	qs, err := f.reg.Query(ctx, "VG-2026-001", register.QueryRequest{Confirmation: confirmed}, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 {
		t.Fatalf("%d queries for three members, want 3", len(qs))
	}
	for i, q := range qs {
		if g := f.gate(t, "VG-2026-001"); g.MayProceed || len(g.Missing) != 3-i {
			t.Fatalf("after %d answers: gate %+v, want blocked with %d missing", i, g, 3-i)
		}
		f.answer(t, q, false)
	}
	if g := f.gate(t, "VG-2026-001"); !g.MayProceed {
		t.Fatalf("three answers without entries: gate %+v, want open", g)
	}
}

func TestQueryNeedsTheConfirmation(t *testing.T) {
	f := newFixture(t)
	f.procedure(t, "VG-2026-002", company(1))
	_, err := f.reg.Query(context.Background(), "VG-2026-002", register.QueryRequest{Confirmation: register.Confirmation{ConditionsMet: true}}, "clerk")
	if !errors.Is(err, register.ErrConfirmation) {
		t.Fatalf("got %v, want ErrConfirmation", err)
	}
}

func TestReuseWithinTwoMonths(t *testing.T) {
	for _, tc := range []struct {
		days int
		ok   bool
	}{{59, true}, {61, false}} {
		t.Run(fmt.Sprintf("%d days", tc.days), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.clk.t = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC).AddDate(0, 0, -tc.days)
			f.procedure(t, "VG-OLD", company(7))
			qs, err := f.reg.Query(ctx, "VG-OLD", register.QueryRequest{Confirmation: confirmed}, "clerk")
			if err != nil {
				t.Fatal(err)
			}
			old := f.answer(t, qs[0], false)
			f.clk.t = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
			// Same company, found by its VAT id although the register number is written differently.
			c := company(7)
			c.RegisterNumber = "HRB1007"
			b := f.procedure(t, "VG-NEW", c)
			cands, err := f.reg.Candidates(ctx, "VG-NEW")
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.reg.Reuse(ctx, "VG-NEW", b.Members[0].ID, old.ID, "clerk")
			if tc.ok {
				if err != nil || len(cands) != 1 || cands[0].AnswerID != old.ID {
					t.Fatalf("reuse: %v, candidates %+v", err, cands)
				}
				if g := f.gate(t, "VG-NEW"); !g.MayProceed || !g.Members[0].Reused {
					t.Fatalf("gate %+v, want open on the reused answer", g)
				}
				return
			}
			if err == nil || len(cands) != 0 {
				t.Fatalf("a %d-day-old answer was offered (%+v) or reused (%v)", tc.days, cands, err)
			}
			if g := f.gate(t, "VG-NEW"); g.MayProceed {
				t.Fatalf("gate open without a usable answer: %+v", g)
			}
		})
	}
}

func TestReuseRefusesAnotherCompany(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.procedure(t, "VG-A", company(1))
	qs, _ := f.reg.Query(ctx, "VG-A", register.QueryRequest{Confirmation: confirmed}, "clerk")
	a := f.answer(t, qs[0], false)
	b := f.procedure(t, "VG-B", company(2))
	if _, err := f.reg.Reuse(ctx, "VG-B", b.Members[0].ID, a.ID, "clerk"); !errors.Is(err, register.ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
}

func TestGateBlocksUntilTheEntryIsAssessed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.procedure(t, "VG-2026-003", company(1), company(2))
	qs, err := f.reg.Query(ctx, "VG-2026-003", register.QueryRequest{Confirmation: confirmed}, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	f.answer(t, qs[0], false)
	withEntry := f.answer(t, qs[1], true)
	g := f.gate(t, "VG-2026-003")
	if g.MayProceed || len(g.Missing) != 1 || !strings.Contains(g.Missing[0], "Bewertung") {
		t.Fatalf("gate %+v, want blocked for the missing assessment", g)
	}
	// An assessment needs a named person.
	if _, err := f.reg.Assess(ctx, "VG-2026-003", register.NewAssessment{AnswerID: withEntry.ID, Exclusion: register.ExclusionNone, SelfCleaning: "x"}, "clerk"); !errors.Is(err, register.ErrInvalid) {
		t.Fatalf("assessment without person: %v", err)
	}
	// A mandatory exclusion keeps the gate shut.
	if _, err := f.reg.Assess(ctx, "VG-2026-003", register.NewAssessment{AnswerID: withEntry.ID, Person: "Frau Richter",
		Exclusion: register.ExclusionMandatory, SelfCleaning: "keine Selbstreinigung nachgewiesen"}, "clerk"); err != nil {
		t.Fatal(err)
	}
	if g := f.gate(t, "VG-2026-003"); g.MayProceed {
		t.Fatalf("gate open despite §123 exclusion: %+v", g)
	}
	if _, err := f.reg.Assess(ctx, "VG-2026-003", register.NewAssessment{AnswerID: withEntry.ID, Person: "Frau Richter",
		Exclusion: register.ExclusionOptional, SelfCleaning: "Selbstreinigung nach § 125 GWB nachgewiesen (Schadensausgleich, Compliance-System)"}, "clerk"); err != nil {
		t.Fatal(err)
	}
	g = f.gate(t, "VG-2026-003")
	if !g.MayProceed || g.Members[1].AssessedBy != "Frau Richter" {
		t.Fatalf("gate %+v, want open with the assessor named", g)
	}
	// Two months later the answers are too old for the award.
	f.clk.Advance(62 * 24 * time.Hour)
	if g := f.gate(t, "VG-2026-003"); g.MayProceed || len(g.Missing) != 2 {
		t.Fatalf("gate with old answers %+v, want blocked twice", g)
	}
}

func TestGateBelowThresholdWithoutQuery(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.reg.CreateProcedure(ctx, register.NewProcedure{Number: "VG-KLEIN", Description: "Büromaterial", Value: 29_999_99, Kind: register.KindPublic}, "clerk"); err != nil {
		t.Fatal(err)
	}
	if g := f.gate(t, "VG-KLEIN"); !g.MayProceed || !strings.Contains(g.Reason, "Keine Abfragepflicht") {
		t.Fatalf("gate %+v", g)
	}
}

func TestQueryLogRecordsWhoQueriedWhatWithTheConfirmation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.procedure(t, "VG-LOG", company(1))
	f.procedure(t, "VG-OTHER", company(2))
	qs, err := f.reg.Query(ctx, "VG-LOG", register.QueryRequest{Confirmation: confirmed}, "token:vergabe")
	if err != nil {
		t.Fatal(err)
	}
	secret := "%PDF-1.4 Eintragung: Bestechung (§ 299 StGB), Max Mustermann"
	if _, err := f.reg.RecordAnswer(ctx, qs[0].ID, register.AnswerInput{HasEntries: true, Data: []byte(secret)}, "token:vergabe"); err != nil {
		t.Fatal(err)
	}
	log, err := f.reg.Log(ctx, "VG-LOG")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var query *register.LogEntry
	for i, e := range log {
		kinds = append(kinds, e.Kind)
		if e.Procedure != "VG-LOG" {
			t.Errorf("entry %d names procedure %q", e.Seq, e.Procedure)
		}
		if e.Kind == "query_created" {
			query = &log[i]
		}
	}
	if strings.Join(kinds, ",") != "procedure_created,bidder_set,query_created,answer_received" {
		t.Fatalf("log kinds %v", kinds)
	}
	if query.Actor != "token:vergabe" || query.Detail["confirmation"] != register.ConfirmationText || query.Detail["confirmedBy"] != "token:vergabe" ||
		query.Detail["query"] != fmt.Sprint(qs[0].ID) || query.Detail["channel"] != "portal" {
		t.Fatalf("query entry %+v", query)
	}
	// The answer's content is in no journal entry.
	all, err := f.reg.Log(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if strings.Contains(fmt.Sprint(e.Detail), "Mustermann") || strings.Contains(fmt.Sprint(e.Detail), "299") {
			t.Fatalf("answer content in the journal: %+v", e)
		}
	}
	rep, err := f.reg.VerifyLog(ctx)
	if err != nil || rep.Entries != int64(len(all)) {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

func TestDeletionAfterRetention(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.procedure(t, "VG-DEL", company(1))
	qs, _ := f.reg.Query(ctx, "VG-DEL", register.QueryRequest{Confirmation: confirmed}, "clerk")
	secret := []byte("%PDF-1.4 SECRET-OFFENCE-DATA-0123456789")
	a, err := f.reg.RecordAnswer(ctx, qs[0].ID, register.AnswerInput{HasEntries: true, Data: secret}, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	intake, err := mailbox.NewFolderIntake(filepath.Join(f.dir, "eakte"), nil, f.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	filer := &register.Filer{Register: f.reg, Sink: intake, Mailbox: "vergabe"}
	// Not yet filed: not deleted, however old.
	f.clk.Advance(register.DefaultRetention + time.Hour)
	if n, err := f.reg.Retain(ctx); err != nil || n != 0 {
		t.Fatalf("retain before filing: %d %v", n, err)
	}
	if n, err := filer.RunOnce(ctx); err != nil || n != 2 {
		t.Fatalf("filer: %d %v (want the sheet and the answer)", n, err)
	}
	f.clk.t = a.ReceivedAt.Add(register.DefaultRetention - time.Minute)
	if n, err := f.reg.Retain(ctx); err != nil || n != 0 {
		t.Fatalf("retain within the period: %d %v", n, err)
	}
	f.clk.t = a.ReceivedAt.Add(register.DefaultRetention + time.Minute)
	if n, err := f.reg.Retain(ctx); err != nil || n != 1 {
		t.Fatalf("retain after the period: %d %v", n, err)
	}
	if _, _, err := f.reg.ReadAnswer(ctx, a.ID, "clerk"); !errors.Is(err, register.ErrAnswerDeleted) {
		t.Fatalf("read after deletion: %v", err)
	}
	got, _ := f.store.Answer(ctx, a.ID)
	if got.DeletedAt.IsZero() || got.SHA256 != a.SHA256 {
		t.Fatalf("deleted answer row %+v", got)
	}
	log, _ := f.reg.Log(ctx, "VG-DEL")
	last := log[len(log)-1]
	if last.Kind != "answer_deleted" || last.Detail["sha256"] != a.SHA256 || last.Actor != "retention" {
		t.Fatalf("deletion not journaled: %+v", last)
	}
	// Checkpoint the WAL: the document's bytes are in no file of the database.
	f.store.Close()
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(f.dir, name))
		if strings.Contains(string(b), "SECRET-OFFENCE-DATA") {
			t.Fatalf("%s still holds the deleted answer", name)
		}
	}
}

func TestRetentionShorterThanTwoMonthsRefused(t *testing.T) {
	if err := (register.Limits{Retention: 30 * 24 * time.Hour}).Validate(); !errors.Is(err, register.ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}

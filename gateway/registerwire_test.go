package gateway_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/registersim"
	rsqlite "github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
)

// TestDaemonRegisterWorkflow: with a register: section the daemon sends
// an interface query to the simulated register, picks up its delayed
// answer by polling and files it into the mailbox's eAkte intake.
func TestDaemonRegisterWorkflow(t *testing.T) {
	t.Parallel()
	simLn, apiLn, regLn := listen(t), listen(t), listen(t)
	l := demo.NewTestDir(t, simLn.Addr().String(), apiLn.Addr().String())
	serveDemoSimulator(t, l, demo.Intermediary, simLn, t.TempDir())
	sim := &registersim.Server{}
	sim.SetOutcome("DE811111111", registersim.Outcome{Polls: 1, Entries: true})
	hs := &http.Server{Handler: sim, ReadHeaderTimeout: time.Second}
	go func() { _ = hs.Serve(regLn) }()
	t.Cleanup(func() { hs.Close() })

	b, _ := os.ReadFile(l.Config())
	cfg := string(b) + "\nregister:\n  mailbox: " + demo.Stadt.ID + "\n  interface:\n    url: http://" + regLn.Addr().String() + "/\n    poll_interval: 1s\n"
	if err := os.WriteFile(l.Config(), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ctx := context.Background()
	p := startInProcess(t, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: apitest.LockedWriter{W: &logs, Mu: &sync.Mutex{}}, APIListener: apiLn})

	// The clerk works on the register database beside the running daemon (as the CLI does).
	st, err := rsqlite.Open(ctx, filepath.Join(l.Data(), rsqlite.FileName), rsqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, _ := register.New(st, nil, nil, register.Limits{})
	if _, err := reg.CreateProcedure(ctx, register.NewProcedure{Number: "VG-D-1", Description: "Daemon", Value: 50_000_00, Kind: register.KindPublic}, "clerk"); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.SetBidder(ctx, "VG-D-1", "", []register.Company{{Name: "Firma", Address: "Markt 1", VATID: "DE811111111"}}, "clerk"); err != nil {
		t.Fatal(err)
	}
	qs, err := reg.Query(ctx, "VG-D-1", register.QueryRequest{Channel: register.ChannelInterface, Confirmation: register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true}}, "clerk")
	if err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(l.Intake(demo.Stadt.ID), register.FilingMessageID(register.Filing{Kind: register.FilingAnswer, AnswerID: 1, ProcedureID: qs[0].ProcedureID}))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(entry, "manifest.sha256")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			q, _ := st.Query(ctx, qs[0].ID)
			t.Fatalf("answer not filed: query %+v", q)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if sim.Queries() != 1 {
		t.Fatalf("%d queries at the register", sim.Queries())
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "DE811111111") {
		t.Fatal("company data in the log")
	}
}

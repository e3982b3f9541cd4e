package registersim

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/iface"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// DemoResult is what the demo scenario did, for the demo's output and
// its test.
type DemoResult struct {
	Procedure   string
	Queries     int // made at the simulated register
	BlockedGate register.GateResult
	OpenGate    register.GateResult
	Filed       int // entries handed to the intake
}

// Demo runs the procurement scenario against a simulated register on
// loopback: a procedure with a two-member consortium, both queried
// through the interface, one answer with an entry (arriving after a
// poll), the gate blocked until the assessment is recorded, then open;
// answers and assessment filed into sink for the mailbox mailboxName. The
// register database is dir/register.db (a fresh procedure number per
// run). Progress lines go to out.
func Demo(ctx context.Context, dir string, sink mailbox.Intake, mailboxName string, out io.Writer) (DemoResult, error) {
	sim := &Server{}
	sim.SetOutcome("DE811111111", Outcome{})
	sim.SetOutcome("DE822222222", Outcome{Entries: true, Polls: 1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return DemoResult{}, err
	}
	hs := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	client, err := iface.New(iface.Config{BaseURL: "http://" + ln.Addr().String(), AllowHTTP: true})
	if err != nil {
		return DemoResult{}, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName), sqlite.Options{})
	if err != nil {
		return DemoResult{}, err
	}
	defer st.Close()
	reg, err := register.New(st, nil, nil, register.Limits{})
	if err != nil {
		return DemoResult{}, err
	}
	res := DemoResult{Procedure: fmt.Sprintf("VG-DEMO-%d", time.Now().UnixNano())}
	if _, err := reg.CreateProcedure(ctx, register.NewProcedure{Number: res.Procedure, Description: "Neubau Feuerwache (Demo)",
		Publication: "Demo-Bekanntmachung", Value: 1_200_000_00, Kind: register.KindPublic, Contract: register.ContractWorks}, "demo"); err != nil {
		return res, err
	}
	members := []register.Company{
		{Name: "Hochbau Rur GmbH", LegalForm: "GmbH", Address: "Kölner Str. 1, 41812 Erkelenz", RegistryCourt: "Amtsgericht Mönchengladbach", RegisterNumber: "HRB 100", VATID: "DE811111111"},
		{Name: "Haustechnik Schwalm KG", LegalForm: "KG", Address: "Roermonder Str. 2, 41812 Erkelenz", RegistryCourt: "Amtsgericht Mönchengladbach", RegisterNumber: "HRA 200", VATID: "DE822222222"},
	}
	if _, err := reg.SetBidder(ctx, res.Procedure, "ARGE Feuerwache", members, "demo"); err != nil {
		return res, err
	}
	if _, err := reg.Query(ctx, res.Procedure, register.QueryRequest{Channel: register.ChannelInterface,
		Confirmation: register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true}}, "demo"); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "Wettbewerbsregister: Verfahren %s, Bietergemeinschaft mit 2 Mitgliedern, 2 Abfragen über die Schnittstelle\n", res.Procedure)
	poller := &register.Poller{Register: reg, Adapter: client, Interval: 100 * time.Millisecond}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := poller.RunOnce(ctx); err != nil {
			return res, err
		}
		p, _ := st.Procedure(ctx, res.Procedure)
		qs, err := st.Queries(ctx, p.ID)
		if err != nil {
			return res, err
		}
		if qs[0].State == register.QueryAnswered && qs[1].State == register.QueryAnswered {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("registersim: demo answers did not arrive")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.Queries = sim.Queries()
	if res.BlockedGate, err = reg.Gate(ctx, res.Procedure, "demo"); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "Gate: %s\n", res.BlockedGate.Reason)
	g := res.BlockedGate.Members[1]
	if _, err := reg.Assess(ctx, res.Procedure, register.NewAssessment{AnswerID: g.AnswerID, Person: "Leitung Vergabestelle (Demo)",
		Exclusion: register.ExclusionOptional, SelfCleaning: "Selbstreinigung nach § 125 GWB nachgewiesen (Demo)"}, "demo"); err != nil {
		return res, err
	}
	if res.OpenGate, err = reg.Gate(ctx, res.Procedure, "demo"); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "Gate nach der Bewertung: %s\n", res.OpenGate.Reason)
	filer := &register.Filer{Register: reg, Sink: sink, Mailbox: mailboxName}
	for {
		n, err := filer.RunOnce(ctx)
		if err != nil {
			return res, err
		}
		if n == 0 {
			break
		}
		res.Filed += n
	}
	fmt.Fprintf(out, "Auskünfte in der eAkte abgelegt: %d\n", res.Filed)
	return res, nil
}

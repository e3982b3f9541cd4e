package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	rsqlite "github.com/stadt-erkelenz/bebpo-gateway/gateway/register/sqlite"
)

// registerCommand is the procurement office's Wettbewerbsregister
// workflow. It works on the register database in the gateway's data
// directory (--data, or data_dir of --config), as the gateway's user:
// who can read that directory holds the procurement role on this host.
// The running daemon files answers into the eAkte and sends interface
// queries. Clerks read German; --json gives machines the API's JSON.
func registerCommand() *Command {
	return &Command{Name: "register", Summary: "Wettbewerbsregister queries before an award (procurement office)", Subs: []*Command{
		{Name: "check", Summary: "say whether a query is required for a contract value", Run: runRegisterCheck,
			Usage: "register check --value EUR --kind public|sector|concession [--contract works|supplies|services|social] [--date YYYY-MM-DD] [--json]",
			Help: "Say whether §6 WRegG requires a Wettbewerbsregister query before the award, and why (with the legal source):\n" +
				"30,000 EUR net for a public authority (§99 GWB), the EU thresholds in force on --date for sector authorities\n" +
				"and concessions. Exit 0 either way; JSON: {\"required\": true|false, \"reason\": \"...\"}."},
		{Name: "procedure", Summary: "record an award procedure, or show one", Run: runRegisterProcedure,
			Usage: "register procedure [--data DIR|--config FILE] NUMBER [--description D --value EUR --kind K ...] [--json]",
			Help: "With --value: record the procedure NUMBER (Vergabenummer) with its description, publication reference\n" +
				"(Fundstelle), estimated net value, kind of authority and contract, and say whether a query is required.\n" +
				"Without: show the procedure with its bidder, queries, answers relied on, filings and assessments."},
		{Name: "bidder", Summary: "record the bidder intended for the award (a company or a consortium)", Run: runRegisterBidder,
			Usage: "register bidder [--data DIR|--config FILE] NUMBER --members FILE [--name N] [--json]",
			Help: "Record the bidder intended for the award. FILE is a JSON list of companies (§3 Abs. 1 Nr. 4 WRegG):\n" +
				"[{\"name\", \"legalForm\", \"representatives\": [...], \"managingPartners\": [...], \"address\", \"registryCourt\",\n" +
				"\"registerNumber\", \"foreignRegister\", \"vatId\"}]. Two or more make a consortium: each member is queried."},
		{Name: "query", Summary: "query the register about the bidder's members", Run: runRegisterQuery,
			Usage: "register query [--data DIR|--config FILE] NUMBER --confirm [--member ID]... [--interface] [--json]",
			Help: "Create one query per member without an answer (or the --member IDs). --confirm gives the confirmation\n" +
				"§5 Abs. 2 WRegV requires: the legal conditions are met and only staff involved in the award see the answer;\n" +
				"it is logged with your name. Portal mode (default): the query sheet with every field is filed into the\n" +
				"eAkte; query in the portal, then hand the answer over with 'register answer'. --interface: the gateway\n" +
				"sends the query through the register's interface and files the answer when it arrives."},
		{Name: "answer", Summary: "hand over an answer, list reusable answers, or reuse one", Run: runRegisterAnswer,
			Usage: "register answer [--data DIR|--config FILE] (--query ID [--entries] FILE | --candidates NUMBER | --reuse ANSWER --member ID NUMBER) [--json]",
			Help: "--query ID FILE: record the answer PDF of a portal query (--entries when it lists entries); it is hashed,\n" +
				"filed into the eAkte by the running gateway and deleted here after the retention period.\n" +
				"--candidates NUMBER: list answers of the last two months about the same companies (register number or VAT id).\n" +
				"--reuse ANSWER --member ID NUMBER: rely on such an answer for a member, after checking that it is the same company."},
		{Name: "assess", Summary: "record the assessment of an answer with entries", Run: runRegisterAssess,
			Usage: "register assess [--data DIR|--config FILE] NUMBER --answer ID --person NAME --exclusion none|mandatory|optional --self-cleaning TEXT [--note TEXT] [--json]",
			Help: "Record that the exclusion grounds (§123 mandatory, §124 optional GWB) were considered for an answer with\n" +
				"entries and self-cleaning (§125 GWB) noted, by a named person. The reasoning stays out of the log."},
		{Name: "gate", Summary: "say whether the award may proceed", Run: runRegisterGate,
			Usage: "register gate [--data DIR|--config FILE] NUMBER [--json]",
			Help: "Say \"award may proceed\" only when every member has a usable answer (not older than two months) and every\n" +
				"answer with entries carries an assessment; otherwise list what is missing and exit 1."},
		{Name: "log", Summary: "show the query log", Run: runRegisterLog,
			Usage: "register log [--data DIR|--config FILE] [NUMBER] [--verify] [--json]",
			Help: "Show who queried what, when, for which procedure, with the §5 Abs. 2 WRegV confirmation, and every answer\n" +
				"received, read, reused, assessed, filed and deleted. --verify checks the log's hash chain and its head."},
	}}
}

type registerFlags struct {
	data, config string
	json         bool
}

func addRegisterFlags(fs *flag.FlagSet) *registerFlags {
	f := &registerFlags{}
	fs.StringVar(&f.data, "data", "", "the gateway's data directory")
	fs.StringVar(&f.config, "config", "", "gateway configuration file (its data_dir), instead of --data")
	fs.BoolVar(&f.json, "json", false, "print JSON for machines")
	return f
}

// open opens the register database and runs fn.
func (f *registerFlags) run(env *Env, fs *flag.FlagSet, fn func(ctx context.Context, reg *register.Register) error) error {
	dir := f.data
	var lim register.Limits
	if dir == "" && f.config != "" {
		cfg, err := config.Load(f.config)
		if err != nil {
			return err
		}
		dir = cfg.DataDir
		if cfg.Register != nil {
			lim.Retention = cfg.Register.Retention
		}
	}
	if dir == "" {
		return usageErrorf(fs, "give --data DIR or --config FILE")
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	ctx := context.Background()
	st, err := rsqlite.Open(ctx, filepath.Join(dir, rsqlite.FileName), rsqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	reg, err := register.New(st, nil, nil, lim)
	if err != nil {
		return err
	}
	return fn(ctx, reg)
}

func (f *registerFlags) print(env *Env, v any, human func(w io.Writer) error) error {
	if f.json {
		return printJSON(env.Stdout, v)
	}
	return human(env.Stdout)
}

func runRegisterCheck(env *Env, fs *flag.FlagSet, args []string) error {
	var c api.CheckRequest
	fs.StringVar(&c.Value, "value", "", "estimated net value in EUR, e.g. 29999.99 (required)")
	fs.StringVar(&c.Kind, "kind", "", "public, sector or concession (required)")
	fs.StringVar(&c.Contract, "contract", "", "works, supplies, services (default) or social")
	fs.StringVar(&c.Date, "date", "", "the day whose thresholds apply, YYYY-MM-DD (default today)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if c.Value == "" || c.Kind == "" {
		return usageErrorf(fs, "--value and --kind are required")
	}
	d, err := checkRequest(fs, c)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, d)
	}
	fmt.Fprintln(env.Stdout, d.Reason)
	return nil
}

func checkRequest(fs *flag.FlagSet, c api.CheckRequest) (register.Decision, error) {
	np, err := procedureFrom(fs, c)
	if err != nil {
		return register.Decision{}, err
	}
	return register.Check(np.Value, np.Kind, np.Contract, np.Date)
}

func procedureFrom(fs *flag.FlagSet, c api.CheckRequest) (register.NewProcedure, error) {
	var np register.NewProcedure
	var err error
	if np.Value, err = register.ParseEUR(c.Value); err != nil {
		return np, usageErrorf(fs, "--value: %v", err)
	}
	if np.Kind, err = register.ParseAuthorityKind(c.Kind); err != nil {
		return np, usageErrorf(fs, "--kind: %v", err)
	}
	if np.Contract, err = register.ParseContractKind(c.Contract); err != nil {
		return np, usageErrorf(fs, "--contract: %v", err)
	}
	np.Date = time.Now()
	if c.Date != "" {
		d, err := time.ParseInLocation("2006-01-02", c.Date, api.Berlin)
		if err != nil {
			return np, usageErrorf(fs, "--date must be YYYY-MM-DD")
		}
		np.Date = d.Add(12 * time.Hour)
	}
	np.Number, np.Description, np.Publication = c.Number, c.Description, c.Publication
	return np, nil
}

func runRegisterProcedure(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	var c api.CheckRequest
	fs.StringVar(&c.Description, "description", "", "short description (Kurzbeschreibung)")
	fs.StringVar(&c.Publication, "publication", "", "publication reference of the contract notice (Fundstelle)")
	fs.StringVar(&c.Value, "value", "", "estimated net value in EUR: record the procedure")
	fs.StringVar(&c.Kind, "kind", "public", "public, sector or concession")
	fs.StringVar(&c.Contract, "contract", "", "works, supplies, services (default) or social")
	fs.StringVar(&c.Date, "date", "", "the day whose thresholds apply, YYYY-MM-DD (default today)")
	if err := parseArgs(env, fs, args, 1, "one procedure number"); err != nil {
		return err
	}
	c.Number = fs.Arg(0)
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		if c.Value != "" {
			np, err := procedureFrom(fs, c)
			if err != nil {
				return err
			}
			p, err := reg.CreateProcedure(ctx, np, cliActor(env))
			if err != nil {
				return err
			}
			return f.print(env, p, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Vergabeverfahren %s erfasst.\n%s\n", p.Number, p.Decision.Reason)
				return err
			})
		}
		v, err := api.RegisterProcedureView(ctx, reg, c.Number)
		if err != nil {
			return err
		}
		return f.print(env, v, func(w io.Writer) error { return printProcedure(w, v) })
	})
}

func printProcedure(w io.Writer, v api.ProcedureView) error {
	p := v.Procedure
	fmt.Fprintf(w, "Vergabeverfahren %s: %s\nWert %s (%s, %s)\n%s\n", p.Number, p.Description, p.Value, p.Kind, p.Contract, p.Decision.Reason)
	if v.Bidder != nil {
		fmt.Fprintf(w, "\nBieter: %s\n", v.Bidder.Name)
		tw := newTable(w, "MITGLIED\tFIRMA\tREGISTER\tUST-ID")
		for _, m := range v.Bidder.Members {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.ID, m.Company.Name, cliDash(strings.TrimSpace(m.Company.RegistryCourt+" "+m.Company.RegisterNumber)), cliDash(m.Company.VATID))
		}
		tw.Flush()
	}
	if len(v.Queries) > 0 {
		fmt.Fprintln(w)
		tw := newTable(w, "ABFRAGE\tMITGLIED\tWEG\tSTAND\tANGEFRAGT\tAUSKUNFT")
		for _, q := range v.Queries {
			ans := "-"
			if q.AnswerID != 0 {
				ans = fmt.Sprint(q.AnswerID)
			}
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", q.ID, q.MemberID, q.Channel, q.State, cliTime(q.RequestedAt), ans)
		}
		tw.Flush()
	}
	return nil
}

func runRegisterBidder(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	file := fs.String("members", "", "JSON file with the list of companies (required)")
	name := fs.String("name", "", "the bidder's name (a consortium's, default the first company's)")
	if err := parseArgs(env, fs, args, 1, "one procedure number"); err != nil {
		return err
	}
	if *file == "" {
		return usageErrorf(fs, "--members is required")
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var members []register.Company
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&members); err != nil {
		return usageErrorf(fs, "--members %s: %v", *file, err)
	}
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		bd, err := reg.SetBidder(ctx, fs.Arg(0), *name, members, cliActor(env))
		if err != nil {
			return err
		}
		return f.print(env, bd, func(w io.Writer) error {
			fmt.Fprintf(w, "Bieter %s mit %d Mitglied(ern) erfasst:\n", bd.Name, len(bd.Members))
			for _, m := range bd.Members {
				fmt.Fprintf(w, "  Mitglied %d: %s\n", m.ID, m.Company.Name)
			}
			return nil
		})
	})
}

type int64List []int64

func (l *int64List) String() string { return fmt.Sprint(*l) }
func (l *int64List) Set(v string) error {
	var n int64
	if _, err := fmt.Sscan(v, &n); err != nil {
		return err
	}
	*l = append(*l, n)
	return nil
}

func runRegisterQuery(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	var members int64List
	fs.Var(&members, "member", "query this member (repeatable; default every member without an answer)")
	viaInterface := fs.Bool("interface", false, "send through the register's interface instead of the portal")
	confirm := fs.Bool("confirm", false, "confirm: the legal conditions are met and only involved staff see the answer (§5 Abs. 2 WRegV)")
	if err := parseArgs(env, fs, args, 1, "one procedure number"); err != nil {
		return err
	}
	if !*confirm {
		return usageErrorf(fs, "--confirm is required: %s", register.ConfirmationText)
	}
	ch := register.ChannelPortal
	if *viaInterface {
		ch = register.ChannelInterface
	}
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		qs, err := reg.Query(ctx, fs.Arg(0), register.QueryRequest{MemberIDs: members, Channel: ch,
			Confirmation: register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true, By: cliActor(env)}}, cliActor(env))
		if err != nil {
			return err
		}
		return f.print(env, map[string]any{"queries": qs}, func(w io.Writer) error {
			for _, q := range qs {
				if q.Channel == register.ChannelPortal {
					fmt.Fprintf(w, "Abfrage %d für Mitglied %d: Abfragebogen wird in die eAkte gelegt; Auskunft danach mit 'register answer --query %d DATEI.pdf' übergeben.\n", q.ID, q.MemberID, q.ID)
				} else {
					fmt.Fprintf(w, "Abfrage %d für Mitglied %d: wird über die Schnittstelle gesendet.\n", q.ID, q.MemberID)
				}
			}
			return nil
		})
	})
}

func runRegisterAnswer(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	query := fs.Int64("query", 0, "the portal query the answer belongs to")
	entries := fs.Bool("entries", false, "the answer lists entries")
	candidates := fs.Bool("candidates", false, "list reusable answers for the procedure NUMBER")
	reuse := fs.Int64("reuse", 0, "rely on this earlier answer (with --member) for the procedure NUMBER")
	member := fs.Int64("member", 0, "the member the reused answer is about")
	if err := parseArgs(env, fs, args, 1, "one file or procedure number"); err != nil {
		return err
	}
	arg := fs.Arg(0)
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		switch {
		case *candidates:
			cs, err := reg.Candidates(ctx, arg)
			if err != nil {
				return err
			}
			return f.print(env, map[string]any{"candidates": cs}, func(w io.Writer) error {
				tw := newTable(w, "MITGLIED\tAUSKUNFT\tFIRMA\tERHALTEN\tVERWENDBAR BIS\tÜBEREINSTIMMUNG")
				for _, c := range cs {
					fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", c.MemberID, c.AnswerID, c.Company.Name, cliTime(c.ReceivedAt), c.ValidUntil.Format("02.01.2006"), c.MatchedOn)
				}
				return tw.Flush()
			})
		case *reuse != 0:
			if *member == 0 {
				return usageErrorf(fs, "--reuse needs --member")
			}
			rel, err := reg.Reuse(ctx, arg, *member, *reuse, cliActor(env))
			if err != nil {
				return err
			}
			return f.print(env, rel, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Verfahren %s stützt sich für Mitglied %d auf Auskunft %d.\n", arg, rel.MemberID, rel.AnswerID)
				return err
			})
		case *query != 0:
			data, err := os.ReadFile(arg)
			if err != nil {
				return err
			}
			a, err := reg.RecordAnswer(ctx, *query, register.AnswerInput{HasEntries: *entries, Data: data}, cliActor(env))
			if err != nil {
				return err
			}
			return f.print(env, a, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Auskunft %d zu Abfrage %d erfasst (SHA-256 %s); sie wird in die eAkte gelegt.\n", a.ID, a.QueryID, a.SHA256)
				return err
			})
		}
		return usageErrorf(fs, "give --query ID FILE, --candidates NUMBER or --reuse ANSWER --member ID NUMBER")
	})
}

func runRegisterAssess(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	var a register.NewAssessment
	fs.Int64Var(&a.AnswerID, "answer", 0, "the answer with entries (required)")
	fs.StringVar(&a.Person, "person", "", "who assessed it (required)")
	excl := fs.String("exclusion", "", "none, mandatory (§123 GWB) or optional (§124 GWB) (required)")
	fs.StringVar(&a.SelfCleaning, "self-cleaning", "", "what was found about self-cleaning (§125 GWB) (required)")
	fs.StringVar(&a.Note, "note", "", "further note")
	if err := parseArgs(env, fs, args, 1, "one procedure number"); err != nil {
		return err
	}
	a.Exclusion = register.Exclusion(*excl)
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		out, err := reg.Assess(ctx, fs.Arg(0), a, cliActor(env))
		if err != nil {
			return err
		}
		return f.print(env, out, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "Bewertung von Auskunft %d durch %s erfasst.\n", out.AnswerID, out.Person)
			return err
		})
	})
}

func runRegisterGate(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	if err := parseArgs(env, fs, args, 1, "one procedure number"); err != nil {
		return err
	}
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		g, err := reg.Gate(ctx, fs.Arg(0), cliActor(env))
		if err != nil {
			return err
		}
		if err := f.print(env, g, func(w io.Writer) error {
			if g.MayProceed {
				_, err := fmt.Fprintf(w, "award may proceed: %s\n", g.Reason)
				return err
			}
			fmt.Fprintln(w, "award may not proceed yet; missing:")
			for _, m := range g.Missing {
				fmt.Fprintln(w, "  - "+m)
			}
			return nil
		}); err != nil {
			return err
		}
		if !g.MayProceed {
			return errFailed
		}
		return nil
	})
}

func runRegisterLog(env *Env, fs *flag.FlagSet, args []string) error {
	f := addRegisterFlags(fs)
	verify := fs.Bool("verify", false, "check the log's hash chain and head")
	if err := parseArgs(env, fs, args, -1, ""); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf(fs, "give at most one procedure number")
	}
	return f.run(env, fs, func(ctx context.Context, reg *register.Register) error {
		if *verify {
			rep, err := reg.VerifyLog(ctx)
			if err != nil {
				if rep.BrokenAt != 0 {
					return fmt.Errorf("register log broken at entry %d: %s", rep.BrokenAt, rep.Reason)
				}
				return err
			}
			fmt.Fprintf(env.Stdout, "register log intact: %d entries, head #%d %s\n", rep.Entries, rep.HeadSeq, rep.HeadHash)
			return nil
		}
		l, err := reg.Log(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		return f.print(env, map[string]any{"entries": l}, func(w io.Writer) error {
			tw := newTable(w, "NR\tZEIT\tVERFAHREN\tWER\tEREIGNIS\tANGABEN")
			for _, e := range l {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, cliTime(e.At), cliDash(e.Procedure), cliDash(e.Actor), e.Kind, details(e.Detail))
			}
			return tw.Flush()
		})
	})
}

func details(d map[string]string) string {
	var parts []string
	for _, k := range []string{"query", "member", "answer", "channel", "purpose", "confirmedBy", "exclusion", "person", "mayProceed", "sha256", "reason"} {
		if v, ok := d[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	if _, ok := d["confirmation"]; ok {
		parts = append(parts, "bestätigt nach § 5 Abs. 2 WRegV")
	}
	return strings.Join(parts, " ")
}

package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// registerRoutes are the Wettbewerbsregister routes (docs/api.md). Every
// one needs a token with the procurement role: the answers are personal
// data about offences, and so is what a procedure's gate and log reveal.
func (s *Server) registerRoutes() {
	for _, rt := range []struct {
		pattern string
		h       apiHandler
	}{
		{"POST /v1/register/check", s.registerCheck},
		{"GET /v1/register/procedures", s.registerProcedures},
		{"POST /v1/register/procedures", s.registerCreateProcedure},
		{"GET /v1/register/procedures/{number}", s.registerProcedure},
		{"PUT /v1/register/procedures/{number}/bidder", s.registerSetBidder},
		{"POST /v1/register/procedures/{number}/queries", s.registerQuery},
		{"GET /v1/register/procedures/{number}/candidates", s.registerCandidates},
		{"POST /v1/register/procedures/{number}/reuse", s.registerReuse},
		{"POST /v1/register/procedures/{number}/assessments", s.registerAssess},
		{"GET /v1/register/procedures/{number}/gate", s.registerGate},
		{"GET /v1/register/procedures/{number}/log", s.registerLog},
		{"POST /v1/register/queries/{id}/answer", s.registerAnswer},
		{"GET /v1/register/answers/{id}/document", s.registerDocument},
		{"POST /v1/register/registrations", s.registerRegistration},
	} {
		s.private(rt.pattern, s.procurement(rt.h))
	}
}

// procurement refuses callers without the procurement role (403), and
// answers 503 when the register is not configured.
func (s *Server) procurement(h apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !s.d.Tokens.hasRole(r, RoleProcurement) {
			writeProblem(w, http.StatusForbidden, "register data needs a token with the procurement role", "Authorization")
			return nil
		}
		if s.d.Register == nil {
			writeProblem(w, http.StatusServiceUnavailable, "the Wettbewerbsregister workflow is not configured (register: section)", "")
			return nil
		}
		if err := h(w, r); err != nil {
			s.registerFail(w, r, err)
		}
		return nil
	}
}

// registerFail maps the register's refusals; other errors go to fail.
func (s *Server) registerFail(w http.ResponseWriter, r *http.Request, err error) {
	status := 0
	switch {
	case errors.Is(err, register.ErrInvalid), errors.Is(err, register.ErrConfirmation):
		status = http.StatusBadRequest
	case errors.Is(err, register.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, register.ErrExists):
		status = http.StatusConflict
	case errors.Is(err, register.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, register.ErrAnswerDeleted):
		status = http.StatusGone
	}
	if status == 0 {
		s.fail(w, r, err)
		return
	}
	writeProblem(w, status, err.Error(), "")
}

func actorOf(s *Server, r *http.Request) string { return s.d.Tokens.principal(r) }

// CheckRequest is the body of POST /v1/register/check and the procedure
// part of POST /v1/register/procedures.
type CheckRequest struct {
	Number      string `json:"number,omitempty"`
	Description string `json:"description,omitempty"`
	Publication string `json:"publication,omitempty"`
	Value       string `json:"value"` // euros, "29999.99"
	Kind        string `json:"kind"`  // public, sector, concession
	Contract    string `json:"contract,omitempty"`
	Date        string `json:"date,omitempty"` // YYYY-MM-DD, default today
}

func (c CheckRequest) procedure(now time.Time) (register.NewProcedure, error) {
	v, err := register.ParseEUR(c.Value)
	if err != nil {
		return register.NewProcedure{}, err
	}
	k, err := register.ParseAuthorityKind(c.Kind)
	if err != nil {
		return register.NewProcedure{}, err
	}
	ct, err := register.ParseContractKind(c.Contract)
	if err != nil {
		return register.NewProcedure{}, err
	}
	d := now
	if c.Date != "" {
		if d, err = time.Parse("2006-01-02", c.Date); err != nil {
			return register.NewProcedure{}, fmt.Errorf("%w: date must be YYYY-MM-DD", register.ErrInvalid)
		}
		d = d.Add(12 * time.Hour)
	}
	return register.NewProcedure{Number: c.Number, Description: c.Description, Publication: c.Publication, Value: v, Kind: k, Contract: ct, Date: d}, nil
}

// checkRequest reads a CheckRequest body as the procedure it describes.
func (s *Server) checkRequest(w http.ResponseWriter, r *http.Request) (register.NewProcedure, error) {
	var c CheckRequest
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &c, false); err != nil {
		return register.NewProcedure{}, err
	}
	return c.procedure(s.d.Now())
}

func (s *Server) registerCheck(w http.ResponseWriter, r *http.Request) error {
	np, err := s.checkRequest(w, r)
	if err != nil {
		return err
	}
	d, err := register.Check(np.Value, np.Kind, np.Contract, np.Date)
	return answerOK(w, d, err)
}

func (s *Server) registerProcedures(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.d.Register.Store.Procedures(r.Context())
	return answerOK(w, map[string]any{"procedures": orEmpty(ps)}, err)
}

func (s *Server) registerCreateProcedure(w http.ResponseWriter, r *http.Request) error {
	np, err := s.checkRequest(w, r)
	if err != nil {
		return err
	}
	p, err := s.d.Register.CreateProcedure(r.Context(), np, actorOf(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// ProcedureView is GET /v1/register/procedures/{number}.
type ProcedureView struct {
	Procedure register.Procedure    `json:"procedure"`
	Bidder    *register.Bidder      `json:"bidder,omitempty"`
	Queries   []register.Query      `json:"queries"`
	Reliances []register.Reliance   `json:"reliances"`
	Filings   []register.Filing     `json:"filings"`
	Assessed  []register.Assessment `json:"assessments"`
}

func (s *Server) registerProcedure(w http.ResponseWriter, r *http.Request) error {
	v, err := RegisterProcedureView(r.Context(), s.d.Register, r.PathValue("number"))
	return answerOK(w, v, err)
}

// RegisterProcedureView gathers a procedure with its bidder, queries,
// reliances, filings and assessments (the API's and the CLI's view); a
// list with nothing in it is empty, never null.
func RegisterProcedureView(ctx context.Context, reg *register.Register, number string) (ProcedureView, error) {
	st := reg.Store
	p, err := st.Procedure(ctx, number)
	if err != nil {
		return ProcedureView{}, err
	}
	v := ProcedureView{Procedure: p}
	if b, err := st.Bidder(ctx, p.ID); err == nil {
		v.Bidder = &b
	} else if !errors.Is(err, register.ErrNotFound) {
		return v, err
	}
	if v.Queries, err = st.Queries(ctx, p.ID); err != nil {
		return v, err
	}
	if v.Reliances, err = st.Reliances(ctx, p.ID); err != nil {
		return v, err
	}
	if v.Filings, err = st.Filings(ctx, p.ID); err != nil {
		return v, err
	}
	if v.Assessed, err = st.Assessments(ctx, p.ID); err != nil {
		return v, err
	}
	v.Queries, v.Reliances, v.Filings, v.Assessed = orEmpty(v.Queries), orEmpty(v.Reliances), orEmpty(v.Filings), orEmpty(v.Assessed)
	return v, nil
}

// orEmpty is s, or an empty slice for nil (a JSON list, not null).
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// BidderRequest is the body of PUT .../bidder.
type BidderRequest struct {
	Name    string             `json:"name"`
	Members []register.Company `json:"members"`
}

func (s *Server) registerSetBidder(w http.ResponseWriter, r *http.Request) error {
	return procedureChange(s, w, r, func(ctx context.Context, number string, b BidderRequest, actor string) (register.Bidder, error) {
		return s.d.Register.SetBidder(ctx, number, b.Name, b.Members, actor)
	})
}

func (s *Server) registerQuery(w http.ResponseWriter, r *http.Request) error {
	return procedureChange(s, w, r, func(ctx context.Context, number string, q register.QueryRequest, actor string) (map[string]any, error) {
		q.Confirmation.By = actor
		out, err := s.d.Register.Query(ctx, number, q, actor)
		return map[string]any{"queries": out}, err
	})
}

func (s *Server) registerCandidates(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.d.Register.Candidates(r.Context(), r.PathValue("number"))
	return answerOK(w, map[string]any{"candidates": orEmpty(cs)}, err)
}

// ReuseRequest is the body of POST .../reuse: the clerk confirms that the
// answer is about the member's company.
type ReuseRequest struct {
	MemberID int64 `json:"memberId"`
	AnswerID int64 `json:"answerId"`
}

func (s *Server) registerReuse(w http.ResponseWriter, r *http.Request) error {
	return procedureChange(s, w, r, func(ctx context.Context, number string, q ReuseRequest, actor string) (register.Reliance, error) {
		return s.d.Register.Reuse(ctx, number, q.MemberID, q.AnswerID, actor)
	})
}

func (s *Server) registerAssess(w http.ResponseWriter, r *http.Request) error {
	return procedureChange(s, w, r, s.d.Register.Assess)
}

// procedureChange makes a change to the procedure the path names: the
// JSON body decoded into In, the change made in the caller's name, and
// what it made answered 201.
func procedureChange[In, Out any](s *Server, w http.ResponseWriter, r *http.Request, change func(ctx context.Context, number string, in In, actor string) (Out, error)) error {
	var in In
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &in, false); err != nil {
		return err
	}
	out, err := change(r.Context(), r.PathValue("number"), in, actorOf(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) registerGate(w http.ResponseWriter, r *http.Request) error {
	g, err := s.d.Register.Gate(r.Context(), r.PathValue("number"), actorOf(s, r))
	return answerOK(w, g, err)
}

func (s *Server) registerLog(w http.ResponseWriter, r *http.Request) error {
	l, err := s.d.Register.Log(r.Context(), r.PathValue("number"))
	return answerOK(w, map[string]any{"entries": orEmpty(l)}, err)
}

// registerAnswer takes the answer document (portal mode) as the raw body;
// ?entries=true says that it lists entries.
func (s *Server) registerAnswer(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: query id %q", register.ErrInvalid, r.PathValue("id"))
	}
	entries, err := strconv.ParseBool(r.URL.Query().Get("entries"))
	if err != nil {
		return fmt.Errorf("%w: give ?entries=true or ?entries=false", register.ErrInvalid)
	}
	max := s.d.Register.Limits.MaxAnswerBytes
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return err
	}
	a, err := s.d.Register.RecordAnswer(r.Context(), id, register.AnswerInput{HasEntries: entries, ContentType: r.Header.Get("Content-Type"), Data: data}, actorOf(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) registerDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: answer id %q", register.ErrInvalid, r.PathValue("id"))
	}
	a, data, err := s.d.Register.ReadAnswer(r.Context(), id, actorOf(s, r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", a.FileName))
	w.Header().Set("Digest", "sha-256="+a.SHA256)
	_, err = w.Write(data)
	return err
}

// RegistrationRequest asks to send the registration form (§ 2 WRegV), or a
// change of the user administrators, to the register authority: To is its
// SAFE-ID (in the address book), Mailbox our sending mailbox.
type RegistrationRequest struct {
	Kind    string                    `json:"kind"` // registration, admin_change
	Mailbox string                    `json:"mailbox,omitempty"`
	To      string                    `json:"to"`
	Form    register.RegistrationForm `json:"form"`
}

// registerRegistration sends the form through the one submission path;
// the register keeps the message's process card as proof. A repeat with
// the same Idempotency-Key returns the first registration.
func (s *Server) registerRegistration(w http.ResponseWriter, r *http.Request) error {
	var req RegistrationRequest
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &req, false); err != nil {
		return err
	}
	subject := "Registrierung beim Wettbewerbsregister"
	if req.Kind == register.RegistrationAdminChange {
		subject = "Änderung der Nutzeradministratoren (Wettbewerbsregister)"
	}
	reg, err := s.d.Register.SubmitRegistration(r.Context(), s.sub, submit.MessageRequest{Mailbox: req.Mailbox, To: req.To, Subject: subject},
		req.Kind, req.Form, r.Header.Get("Idempotency-Key"), actorOf(s, r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, reg)
	return nil
}

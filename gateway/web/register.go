package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
)

var errNoRegister = errStatus(http.StatusServiceUnavailable, "Das Wettbewerbsregister ist in diesem Gateway nicht eingerichtet.")

func (a *App) procedures(w http.ResponseWriter, r *http.Request, u User) error {
	if a.c.Register == nil {
		return errNoRegister
	}
	ps, err := a.c.Register.Store.Procedures(r.Context())
	if err != nil {
		return err
	}
	a.render(w, r, u, http.StatusOK, "register", "Wettbewerbsregister", ps)
	return nil
}

// memberRow is one bidder member with its latest query and answer.
type memberRow struct {
	Member register.Member
	Query  *register.Query
	Answer *register.Answer
}

type procedureData struct {
	V            api.ProcedureView
	Members      []memberRow
	Answers      []register.Answer // answers with entries: the assessment form offers these
	Gate         *register.GateResult
	Log          []register.LogEntry
	Confirmation string
	Error        string
}

func (a *App) procedureData(r *http.Request) (procedureData, error) {
	if a.c.Register == nil {
		return procedureData{}, errNoRegister
	}
	v, err := api.RegisterProcedureView(r.Context(), a.c.Register, r.PathValue("number"))
	if err != nil {
		return procedureData{}, err
	}
	d := procedureData{V: v, Confirmation: register.ConfirmationText}
	if v.Bidder != nil {
		for _, m := range v.Bidder.Members {
			row := memberRow{Member: m}
			for i := range v.Queries {
				if q := v.Queries[i]; q.MemberID == m.ID {
					row.Query = &v.Queries[i]
				}
			}
			if row.Query != nil && row.Query.AnswerID != 0 {
				ans, err := a.c.Register.Store.Answer(r.Context(), row.Query.AnswerID)
				if err != nil && !errors.Is(err, register.ErrNotFound) {
					return d, err
				}
				if err == nil {
					row.Answer = &ans
					if ans.HasEntries {
						d.Answers = append(d.Answers, ans)
					}
				}
			}
			d.Members = append(d.Members, row)
		}
	}
	if d.Log, err = a.c.Register.Log(r.Context(), v.Procedure.Number); err != nil {
		return d, err
	}
	return d, nil
}

func (a *App) procedure(w http.ResponseWriter, r *http.Request, u User) error {
	return a.procedurePage(w, r, u, http.StatusOK, "", nil)
}

// procedurePage shows a procedure's page with status, the German refusal
// text of a change (if any) and the gate the change met (if any).
func (a *App) procedurePage(w http.ResponseWriter, r *http.Request, u User, status int, refusal string, gate *register.GateResult) error {
	d, err := a.procedureData(r)
	if err != nil {
		return err
	}
	d.Error, d.Gate = refusal, gate
	a.render(w, r, u, status, "procedure", "Vergabeverfahren "+d.V.Procedure.Number, d)
	return nil
}

// registerRefusal turns the register's refusals into German text.
func registerRefusal(err error) (string, bool) {
	switch {
	case errors.Is(err, register.ErrConfirmation):
		return "Bitte bestätigen Sie beide Voraussetzungen der Abfrage.", true
	case errors.Is(err, register.ErrInvalid):
		return "Die Angaben wurden nicht angenommen. Bitte prüfen Sie die Auswahl der Auskunft, den Namen der prüfenden Person und die Bewertung.", true
	}
	return "", false
}

func (a *App) afterRegister(w http.ResponseWriter, r *http.Request, u User, err error, gate *register.GateResult) error {
	if err != nil {
		text, ok := registerRefusal(err)
		if !ok {
			return err
		}
		return a.procedurePage(w, r, u, http.StatusUnprocessableEntity, text, nil)
	}
	if gate != nil {
		return a.procedurePage(w, r, u, http.StatusOK, "", gate)
	}
	http.Redirect(w, r, ProcedurePath(r.PathValue("number")), http.StatusSeeOther)
	return nil
}

// assess records the assessment of an answer with entries by a named person.
func (a *App) assess(w http.ResponseWriter, r *http.Request, u User) error {
	if a.c.Register == nil {
		return errNoRegister
	}
	id, _ := strconv.ParseInt(r.PostFormValue("auskunft"), 10, 64)
	na := register.NewAssessment{AnswerID: id, Person: strings.TrimSpace(r.PostFormValue("person")),
		Exclusion: register.Exclusion(r.PostFormValue("ausschluss")), SelfCleaning: strings.TrimSpace(r.PostFormValue("selbstreinigung")),
		Note: strings.TrimSpace(r.PostFormValue("vermerk"))}
	_, err := a.c.Register.Assess(r.Context(), r.PathValue("number"), na, u.Actor())
	return a.afterRegister(w, r, u, err, nil)
}

// gate asks whether the award may proceed (journaled by the register).
func (a *App) gate(w http.ResponseWriter, r *http.Request, u User) error {
	if a.c.Register == nil {
		return errNoRegister
	}
	g, err := a.c.Register.Gate(r.Context(), r.PathValue("number"), u.Actor())
	return a.afterRegister(w, r, u, err, &g)
}

// query asks the register about every member without a usable answer.
func (a *App) query(w http.ResponseWriter, r *http.Request, u User) error {
	if a.c.Register == nil {
		return errNoRegister
	}
	req := register.QueryRequest{Channel: register.Channel(r.PostFormValue("weg")), Confirmation: register.Confirmation{
		ConditionsMet: r.PostFormValue("voraussetzungen") == "ja", OnlyInvolvedStaff: r.PostFormValue("beschaeftigte") == "ja", By: u.Actor()}}
	if req.Channel == "" {
		req.Channel = register.ChannelInterface
	}
	_, err := a.c.Register.Query(r.Context(), r.PathValue("number"), req, u.Actor())
	return a.afterRegister(w, r, u, err, nil)
}

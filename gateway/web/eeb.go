package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
)

type eebRow struct {
	Task eeb.Task
	Age  string
	// Urgency is "ok", "nah" (more than half the time the deadline guard
	// allows has passed) or "ueberschritten"; the page shows it by colour
	// and in words.
	Urgency, UrgencyText string
	Deadline             time.Time
}

type eebData struct {
	Available bool
	Rows      []eebRow
	Today     string
	Days      int
}

// eebTasks lists the open eEB requests of u's mailboxes, oldest first.
func (a *App) eebTasks(w http.ResponseWriter, r *http.Request, u User) error {
	d := eebData{Available: a.c.EEB != nil, Today: a.c.Now().In(api.Berlin).Format("2006-01-02")}
	if a.c.EEB != nil {
		f := eeb.Filter{States: []eeb.State{eeb.StateOpen, eeb.StateAnswering}, Limit: 500}
		ts, err := api.TasksIn(r.Context(), a.c.EEB.Tasks(), f, a.scope(u))
		if err != nil {
			return err
		}
		limit := a.c.EEB.OverdueAfter()
		d.Days = int(limit / (24 * time.Hour))
		now := a.c.Now()
		for _, t := range ts {
			age := now.Sub(t.ReceivedAt)
			row := eebRow{Task: t, Age: ageText(age), Deadline: t.ReceivedAt.Add(limit), Urgency: "ok", UrgencyText: "in der Frist"}
			switch {
			case age >= limit:
				row.Urgency, row.UrgencyText = "ueberschritten", "überfällig"
			case age >= limit/2:
				row.Urgency, row.UrgencyText = "nah", "Frist läuft ab"
			}
			d.Rows = append(d.Rows, row)
		}
	}
	a.render(w, r, u, http.StatusOK, "eeb", "eEB-Aufgaben", d)
	return nil
}

func ageText(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	switch {
	case days == 1:
		return "1 Tag"
	case days > 1:
		return itoa(days) + " Tage"
	case d >= time.Hour:
		return itoa(int(d/time.Hour)) + " Std."
	}
	return "gerade eben"
}

// eebAnswer acknowledges (with the day of receipt) or rejects (with code
// and reason) a task of u's mailboxes through eeb.Service.Answer, which
// queues the answer to the court and records u as who answered.
func (a *App) eebAnswer(ack bool) handler {
	return func(w http.ResponseWriter, r *http.Request, u User) error {
		if a.c.EEB == nil {
			return errStatus(http.StatusServiceUnavailable, "Die eEB-Aufgaben sind in diesem Gateway nicht eingerichtet.")
		}
		id, err := pathInt(r, "task")
		if err != nil {
			return err
		}
		t, err := a.c.EEB.Tasks().Task(r.Context(), id)
		if err != nil {
			return err
		}
		if !u.InScope(t.Mailbox) {
			return errNotFound
		}
		var dec eeb.Decision
		if ack {
			day, err := time.ParseInLocation("2006-01-02", r.PostFormValue("datum"), api.Berlin)
			if err != nil {
				return errStatus(http.StatusBadRequest, "Bitte geben Sie das Datum des Empfangs an.")
			}
			dec.Acknowledged = day
		} else {
			dec.RejectCode, dec.RejectReason = r.PostFormValue("code"), strings.TrimSpace(r.PostFormValue("grund"))
		}
		if _, err := a.c.EEB.Answer(r.Context(), id, dec, u.Actor()); err != nil {
			switch {
			case errors.Is(err, eeb.ErrAnswered), errors.Is(err, eeb.ErrBusy):
				return errStatus(http.StatusConflict, "Diese Aufgabe wurde bereits beantwortet oder wird gerade beantwortet.")
			case errors.Is(err, eeb.ErrBadAnswer):
				return errStatus(http.StatusBadRequest, "Die Antwort wurde nicht angenommen: Das Datum darf nicht vor dem Eingang und nicht in der Zukunft liegen; eine Ablehnung braucht einen Grund (Code 1, 2 oder 3).")
			}
			return err
		}
		http.Redirect(w, r, PathEEB+"?beantwortet="+itoa(int(id)), http.StatusSeeOther)
		return nil
	}
}

package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/metrics"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ReadyCheck is one readiness condition.
type ReadyCheck struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// ReadyReport is the answer to GET /readyz (200 when Ready, else 503).
type ReadyReport struct {
	Ready  bool         `json:"ready"`
	Checks []ReadyCheck `json:"checks"`
}

// MailboxStatus is one mailbox in GET /v1/status.
type MailboxStatus struct {
	Name         string    `json:"name"`
	SafeID       string    `json:"safeId,omitempty"`
	PollInterval string    `json:"pollInterval,omitempty"`
	LastPollOK   bool      `json:"lastPollOk"`
	LastPollAt   time.Time `json:"lastPollAt,omitzero"`
}

// StatusReport is the answer to GET /v1/status.
type StatusReport struct {
	Version   string          `json:"version"`
	Now       time.Time       `json:"now"`
	Ready     ReadyReport     `json:"readiness"`
	Mailboxes []MailboxStatus `json:"mailboxes"`
	// Intermediaries is each configured intermediary's health: state ok,
	// failing or open (its circuit: sends to it wait without a request).
	Intermediaries []intermediaries.View `json:"intermediaries"`
	// Directory is the expiry of the address book's cipher certificates,
	// per intermediary of the entries.
	Directory []addressbook.ExpirySummary `json:"directory"`
	Counts    *metrics.MessageCounts      `json:"counts,omitempty"`
	// EEB is the deadline guard's view of the eEB tasks.
	EEB *eeb.Summary `json:"eeb,omitempty"`
}

// IntermediaryList is the answer to GET /v1/intermediaries.
type IntermediaryList struct {
	Intermediaries []intermediaries.View `json:"intermediaries"`
}

func (s *Server) intermediaryViews() []intermediaries.View {
	if s.d.Intermediaries == nil {
		return []intermediaries.View{}
	}
	return s.d.Intermediaries()
}

func (s *Server) getIntermediaries(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, IntermediaryList{Intermediaries: s.intermediaryViews()})
	return nil
}

func (s *Server) getHealthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	return nil
}

func (s *Server) getReadyz(w http.ResponseWriter, r *http.Request) error {
	rep := s.readiness(r.Context())
	status := http.StatusOK
	if !rep.Ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, rep)
	return nil
}

// readiness checks that the data directory takes a durable write, that
// the store answers, and that every mailbox's last poll succeeded within
// PollStaleAfter poll intervals (at least a minute).
func (s *Server) readiness(ctx context.Context) ReadyReport {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var rep ReadyReport
	add := func(name string, err error, okDetail string) {
		c := ReadyCheck{Name: name, OK: err == nil, Detail: okDetail}
		if err != nil {
			c.Detail = err.Error()
		}
		rep.Checks = append(rep.Checks, c)
	}
	add("data_dir_writable", writeProbe(s.d.DataDir), "")
	_, err := s.d.Store.List(ctx, mailbox.Filter{Limit: 1})
	add("store", err, "")
	now := s.d.Now()
	for _, mb := range s.d.Mailboxes {
		add("poll:"+mb.Name, s.pollFresh(mb, now), "")
	}
	rep.Ready = true
	for _, c := range rep.Checks {
		rep.Ready = rep.Ready && c.OK
	}
	return rep
}

func (s *Server) pollFresh(mb Mailbox, now time.Time) error {
	if s.d.Poll == nil {
		return errors.New("no poll status reported")
	}
	ok, at := s.d.Poll.LastPoll(mb.Name)
	limit := time.Duration(s.lim.PollStaleAfter) * mb.PollInterval
	if limit < time.Minute {
		limit = time.Minute
	}
	switch {
	case at.IsZero():
		return errors.New("not polled yet")
	case !ok:
		return fmt.Errorf("last poll at %s failed", at.UTC().Format(time.RFC3339))
	case now.Sub(at) > limit:
		return fmt.Errorf("last successful poll at %s is older than %s", at.UTC().Format(time.RFC3339), limit)
	}
	return nil
}

// writeProbe writes, fsyncs and removes a small file in dir.
func writeProbe(dir string) error {
	f, err := os.CreateTemp(dir, ".readyz-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_, err = f.Write([]byte("ok\n"))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close(), os.Remove(name))
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	rep := StatusReport{Version: version.Version, Now: s.d.Now().UTC(), Ready: s.readiness(r.Context())}
	for _, mb := range s.d.Mailboxes {
		ms := MailboxStatus{Name: mb.Name, SafeID: mb.SafeID}
		if mb.PollInterval > 0 {
			ms.PollInterval = mb.PollInterval.String()
		}
		if s.d.Poll != nil {
			ms.LastPollOK, ms.LastPollAt = s.d.Poll.LastPoll(mb.Name)
		}
		rep.Mailboxes = append(rep.Mailboxes, ms)
	}
	rep.Intermediaries = s.intermediaryViews()
	rep.Directory = s.d.AddressBook.Expiries(s.d.Now())
	c, err := s.m.Counts(r.Context())
	if err != nil {
		return err
	}
	rep.Counts = c
	if s.d.EEB != nil {
		sum, err := s.d.EEB.Summary(r.Context())
		if err != nil {
			return err
		}
		rep.EEB = &sum
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

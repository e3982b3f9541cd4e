package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Mailbox scopes: a token with "@mailbox" entries reaches only those
// mailboxes. A message, task or document of another mailbox is answered
// 404 as if there were none (so an id tells nothing about others' mail),
// lists hold only the scope's mailboxes, and a submission from another
// mailbox is refused as from an unknown mailbox.

// scopedMessage returns message id when r reaches its mailbox, else
// mailbox.ErrNotFound.
func (s *Server) scopedMessage(r *http.Request, id int64) (mailbox.Message, error) {
	m, err := s.d.Store.Get(r.Context(), id)
	if err != nil {
		return m, err
	}
	if !s.d.Tokens.scopeOf(r).has(m.Mailbox) {
		return mailbox.Message{}, mailbox.ErrNotFound
	}
	return m, nil
}

// scopedTask returns eEB task id when r reaches its mailbox, else
// eeb.ErrNotFound.
func (s *Server) scopedTask(r *http.Request, id int64) (eeb.Task, error) {
	t, err := s.d.EEB.Tasks().Task(r.Context(), id)
	if err != nil {
		return t, err
	}
	if !s.d.Tokens.scopeOf(r).has(t.Mailbox) {
		return eeb.Task{}, eeb.ErrNotFound
	}
	return t, nil
}

// scopedNames returns the mailboxes of ours r reaches, in configuration
// order; nil when r reaches every one.
func (s *Server) scopedNames(r *http.Request) []string {
	sc := s.d.Tokens.scopeOf(r)
	if sc.all {
		return nil
	}
	out := []string{}
	for _, m := range s.d.Mailboxes {
		if sc.has(m.Name) {
			out = append(out, m.Name)
		}
	}
	return out
}

// checkSubmitScope refuses a submission from a mailbox r does not reach,
// as submit refuses an unknown one; an empty mailbox becomes the first
// mailbox in scope.
func (s *Server) checkSubmitScope(r *http.Request, req *submit.MessageRequest) error {
	names := s.scopedNames(r)
	if names == nil {
		return nil
	}
	if req.Mailbox == "" && len(names) > 0 {
		req.Mailbox = names[0]
	}
	if !slices.Contains(names, req.Mailbox) {
		return field.Errorf(submit.ErrUnknownMailbox, "mailbox", "%q is not one of ours", req.Mailbox)
	}
	return nil
}

// ListIn lists the messages f selects within the mailboxes names (nil:
// every mailbox; empty: none), ordered by id, at most f.Limit: one query
// per mailbox, merged, so paging by AfterID stays exact.
func ListIn(ctx context.Context, st mailbox.Store, f mailbox.Filter, names []string) ([]mailbox.Message, error) {
	return listIn(names, f.Mailbox, f.Limit, func(mb string) ([]mailbox.Message, error) {
		f.Mailbox = mb
		return st.List(ctx, f)
	}, func(m mailbox.Message) int64 { return m.ID })
}

// TasksIn is ListIn for eEB tasks.
func TasksIn(ctx context.Context, st eeb.Store, f eeb.Filter, names []string) ([]eeb.Task, error) {
	return listIn(names, f.Mailbox, f.Limit, func(mb string) ([]eeb.Task, error) {
		f.Mailbox = mb
		return st.Tasks(ctx, f)
	}, func(t eeb.Task) int64 { return t.ID })
}

// listIn runs list, the query of a filter for mailbox mb ("" every
// mailbox), within the mailboxes names: one query per mailbox, merged by
// id and cut to limit.
func listIn[T any](names []string, mb string, limit int, list func(mb string) ([]T, error), id func(T) int64) ([]T, error) {
	if names == nil {
		return list(mb)
	}
	if mb != "" {
		if !slices.Contains(names, mb) {
			return nil, nil
		}
		return list(mb)
	}
	var all []T
	for _, n := range names {
		part, err := list(n)
		if err != nil {
			return nil, err
		}
		all = append(all, part...)
	}
	slices.SortFunc(all, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}

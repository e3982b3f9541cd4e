package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // Berlin on every host

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// EEBView is what a message shows of the eEB: the task its request
// opened (received) or the courts' answers recorded on it (sent).
type EEBView struct {
	Task    *eeb.Task   `json:"task,omitempty"`
	Replies []eeb.Reply `json:"replies,omitempty"`
	// Reply is set on a received message that is itself a court's answer.
	Reply *eeb.Reply `json:"reply,omitempty"`
}

// TaskList is the answer to GET /v1/eeb/tasks.
type TaskList struct {
	Tasks []eeb.Task `json:"tasks"`
	Next  string     `json:"next,omitempty"`
}

// ReplyList is the answer to GET /v1/eeb/replies (the courts' answers
// that match none of our messages).
type ReplyList struct {
	Replies []eeb.Reply `json:"replies"`
}

// AcknowledgeRequest is the body of POST /v1/eeb/tasks/{task}/acknowledge.
type AcknowledgeRequest struct {
	Date string `json:"date"` // YYYY-MM-DD, the day of receipt the person declares
}

// RejectRequest is the body of POST /v1/eeb/tasks/{task}/reject.
type RejectRequest struct {
	Code   string `json:"code"`             // EEB.StoerungsID: 1, 2 or 3
	Reason string `json:"reason,omitempty"` // stoerungsGrund
}

// AttachEEB adds to v what the task store knows of its message; the API
// and the CLI reading a data directory show messages so.
func AttachEEB(ctx context.Context, v *MessageView, st eeb.Store) error {
	var e EEBView
	if t, err := st.TaskForMessage(ctx, v.ID); err == nil {
		e.Task = &t
	} else if !errors.Is(err, eeb.ErrNotFound) {
		return err
	}
	if r, err := st.ReplyIn(ctx, v.ID); err == nil {
		e.Reply = &r
	} else if !errors.Is(err, eeb.ErrNotFound) {
		return err
	}
	reps, err := st.ReplyTo(ctx, v.ID)
	if err != nil {
		return err
	}
	e.Replies = reps
	if e.Task != nil || e.Reply != nil || len(e.Replies) > 0 {
		v.EEB = &e
	}
	return nil
}

// eebProblem answers the refusals of the eEB and evidence routes; it
// reports false for errors the common mapping answers.
func eebProblem(w http.ResponseWriter, err error) bool {
	status, name := 0, ""
	switch {
	case errors.Is(err, eeb.ErrNotFound):
		status, name = http.StatusNotFound, "task"
	case errors.Is(err, eeb.ErrAnswered), errors.Is(err, eeb.ErrBusy):
		status, name = http.StatusConflict, "task"
	case errors.Is(err, eeb.ErrBadAnswer):
		status = http.StatusBadRequest
	case errors.Is(err, eeb.ErrUnavailable):
		status = http.StatusServiceUnavailable
	case errors.Is(err, eeb.ErrNoRecord), errors.Is(err, xjustiz.ErrIncomplete), errors.Is(err, xjustiz.ErrMissingCourt),
		errors.Is(err, xjustiz.ErrSchema), errors.Is(err, xjustiz.ErrRule), errors.Is(err, xjustiz.ErrNoEEBAsked):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, evidence.ErrNotOutgoing):
		status, name = http.StatusConflict, "id"
	default:
		return false
	}
	writeProblem(w, status, err.Error(), name)
	return true
}

// eebRoute wraps an eEB handler: 503 without the eEB service, and the
// eEB refusals answered as problems.
func (s *Server) eebRoute(h apiHandler) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.d.EEB == nil {
			writeProblem(w, http.StatusServiceUnavailable, "the eEB tasks are not available in this gateway", "")
			return nil
		}
		if err := h(w, r); err != nil && !eebProblem(w, err) {
			return err
		}
		return nil
	}
}

func taskID(r *http.Request) (int64, error) { return positiveID(r, "task", "task id") }

// ParseTaskFilter reads a task listing's query (state, mailbox, after,
// limit); errors name the parameter.
func ParseTaskFilter(q url.Values, defaultLimit int) (eeb.Filter, error) {
	f := eeb.Filter{Mailbox: q.Get("mailbox"), Limit: defaultLimit}
	for _, v := range q["state"] {
		for _, st := range strings.Split(v, ",") {
			switch eeb.State(st) {
			case eeb.StateOpen, eeb.StateAnswering, eeb.StateAnswered:
				f.States = append(f.States, eeb.State(st))
			default:
				return f, field.Errorf(nil, "state", "must be open, answering or answered, not %q", st)
			}
		}
	}
	err := pageQuery(q, "a task id", &f.AfterID, &f.Limit)
	return f, err
}

// TaskPage is one page of tasks; Next is set when the page is full.
func TaskPage(ts []eeb.Task, f eeb.Filter, q url.Values, base string) TaskList {
	out := TaskList{Tasks: ts}
	if len(ts) == f.Limit && len(ts) > 0 {
		out.Next = nextPage(base, q, ts[len(ts)-1].ID, 0)
	}
	return out
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := ParseTaskFilter(q, s.lim.PageLimit)
	if err != nil {
		return err
	}
	ts, err := TasksIn(r.Context(), s.d.EEB.Tasks(), f, s.scopedNames(r))
	return answerOK(w, TaskPage(ts, f, q, "/v1/eeb/tasks"), err)
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	t, err := s.scopedTask(r, id)
	return answerOK(w, t, err)
}

func (s *Server) listReplies(w http.ResponseWriter, r *http.Request) error {
	reps, err := s.d.EEB.Tasks().Unmatched(r.Context())
	return answerOK(w, ReplyList{Replies: reps}, err)
}

func (s *Server) acknowledgeTask(w http.ResponseWriter, r *http.Request) error {
	return answerTask(s, w, r, func(req AcknowledgeRequest) (eeb.Decision, error) {
		day, err := time.ParseInLocation(time.DateOnly, req.Date, Berlin)
		if err != nil {
			return eeb.Decision{}, field.Errorf(nil, "date", "must be a day as YYYY-MM-DD, not %q", req.Date)
		}
		return eeb.Decision{Acknowledged: day}, nil
	})
}

func (s *Server) rejectTask(w http.ResponseWriter, r *http.Request) error {
	return answerTask(s, w, r, func(req RejectRequest) (eeb.Decision, error) {
		if err := field.Text("reason", req.Reason, eeb.MaxReasonLength, false); err != nil {
			return eeb.Decision{}, err
		}
		return eeb.Decision{RejectCode: req.Code, RejectReason: req.Reason}, nil
	})
}

// answerTask answers the task the path names with the decision the JSON
// body (decoded into Req) makes, on behalf of the request's principal
// (the token's name); the answer is queued like any submission.
func answerTask[Req any](s *Server, w http.ResponseWriter, r *http.Request, decide func(Req) (eeb.Decision, error)) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	var req Req
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &req, false); err != nil {
		return err
	}
	d, err := decide(req)
	if err != nil {
		return err
	}
	if _, err := s.scopedTask(r, id); err != nil {
		return err
	}
	t, err := s.d.EEB.Answer(r.Context(), id, d, s.d.Tokens.principal(r))
	return answerOK(w, t, err)
}

// EvidenceSources is where a proof of filing comes from: the message
// store and its documents, and with the eEB service (svc not nil) the
// XJustiz record and the court's eEB answers.
func EvidenceSources(st mailbox.Store, blobs mailbox.BlobStore, svc *eeb.Service) evidence.Sources {
	src := evidence.Sources{Mail: st, Blobs: blobs}
	if svc != nil {
		src.Codec, src.Replies = svc.Codec(), svc.Tasks().ReplyTo
	}
	return src
}

// getEvidence answers the proof of filing of a sent message: JSON
// (default, or ?format=json) or the German page (?format=html).
func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" {
		return field.Errorf(nil, "format", "must be html or json, not %q", format)
	}
	if _, err := s.scopedMessage(r, id); err != nil {
		return err
	}
	b, err := evidence.Build(r.Context(), EvidenceSources(s.d.Store, s.d.Blobs, s.d.EEB), id, s.d.Now())
	if err != nil {
		if eebProblem(w, err) {
			return nil
		}
		return err
	}
	var body []byte
	ct := "application/json"
	if format == "html" {
		body, err = b.HTML()
		ct = "text/html; charset=utf-8"
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	} else {
		body, err = b.JSON()
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(body)
	return err
}

// Berlin is the gateway's local time zone, Europe/Berlin (tzdata is
// embedded, so a minimal container has it too): the days its users give
// (an eEB's date of receipt) are read in it, and the times they are shown
// are written in it.
var Berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// Tasks lists eEB tasks (q: state, mailbox, after, limit).
func (c *Client) Tasks(ctx context.Context, q url.Values) (TaskList, error) {
	var out TaskList
	return out, c.doJSON(ctx, http.MethodGet, "/v1/eeb/tasks?"+q.Encode(), nil, &out)
}

// NextTasks follows TaskList.Next.
func (c *Client) NextTasks(ctx context.Context, next string) (TaskList, error) {
	var out TaskList
	return out, c.doJSON(ctx, http.MethodGet, next, nil, &out)
}

// Task reads one eEB task.
func (c *Client) Task(ctx context.Context, id int64) (eeb.Task, error) {
	var out eeb.Task
	return out, c.doJSON(ctx, http.MethodGet, fmt.Sprintf("/v1/eeb/tasks/%d", id), nil, &out)
}

// UnmatchedReplies lists the courts' eEB answers that match none of our messages.
func (c *Client) UnmatchedReplies(ctx context.Context) (ReplyList, error) {
	var out ReplyList
	return out, c.doJSON(ctx, http.MethodGet, "/v1/eeb/replies", nil, &out)
}

// Acknowledge acknowledges a task's request on day (YYYY-MM-DD).
func (c *Client) Acknowledge(ctx context.Context, id int64, day string) (eeb.Task, error) {
	var out eeb.Task
	return out, c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/v1/eeb/tasks/%d/acknowledge", id), AcknowledgeRequest{Date: day}, &out)
}

// Reject rejects a task's request with a code of EEB.StoerungsID and a reason.
func (c *Client) Reject(ctx context.Context, id int64, code, reason string) (eeb.Task, error) {
	var out eeb.Task
	return out, c.doJSON(ctx, http.MethodPost, fmt.Sprintf("/v1/eeb/tasks/%d/reject", id), RejectRequest{Code: code, Reason: reason}, &out)
}

// Evidence fetches the proof of filing of a sent message as "json" or "html".
func (c *Client) Evidence(ctx context.Context, id int64, format string) ([]byte, error) {
	req, err := c.newRequest(ctx, http.MethodGet, fmt.Sprintf("/v1/messages/%d/evidence?format=%s", id, url.QueryEscape(format)), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, readAPIError(resp)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// SubmitResponse is the answer to POST /v1/messages.
type SubmitResponse struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Replayed bool   `json:"replayed,omitempty"`
	// Warnings are the ERVB pre-flight's findings that did not refuse the
	// message (a font not embedded, a link), in German.
	Warnings ervb.Findings `json:"warnings,omitempty"`
}

// postMessage accepts a multipart/form-data message: one "message" JSON
// part and one or more "document" file parts, streamed to the blob store.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) error {
	release, ok := s.admitUpload(w, r)
	if !ok {
		return nil
	}
	defer release()
	var key string
	if h := r.Header.Get("Idempotency-Key"); h != "" {
		if err := submit.CheckIdempotencyKey(h); err != nil {
			return err
		}
		key = "api:" + h // the outgoing folder's keys start with "outfolder:"
		m, ok, err := s.sub.Lookup(r.Context(), key)
		if err != nil {
			return err
		}
		if ok {
			return s.accepted(w, submit.Accepted{Message: m, Replayed: true})
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxRequestBytes())
	mr, err := r.MultipartReader()
	if err != nil {
		return field.Errorf(nil, "Content-Type", "must be multipart/form-data with a boundary: %v", err)
	}
	draft := s.sub.Begin()
	defer draft.Abort()
	var req *submit.MessageRequest
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bodyErr(&submit.BodyReadError{Err: err})
		}
		switch part.FormName() {
		case "message":
			if req != nil {
				return field.Errorf(nil, "message", "is given twice")
			}
			m, err := s.sub.DecodeMessageRequest(submit.BodyReader(part))
			if err != nil {
				return bodyErr(err)
			}
			if err := s.checkSubmitScope(r, &m); err != nil {
				return field.Prefix("message.", err)
			}
			// Reject a bad recipient before the documents are streamed.
			if _, err := s.sub.Check(r.Context(), m); err != nil {
				return field.Prefix("message.", err)
			}
			req = &m
		case "document":
			_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			name := params["filename"]
			if name == "" {
				return field.Errorf(nil, fmt.Sprintf("document[%d].filename", draft.Files()), "is required")
			}
			if err := draft.AddDocument(name, part.Header.Get("Content-Type"), part); err != nil {
				return bodyErr(err)
			}
		default:
			return field.Errorf(nil, part.FormName(), "unknown part %q (expected message and document)", part.FormName())
		}
		part.Close()
	}
	if req == nil {
		return field.Errorf(nil, "message", "the JSON part \"message\" is required")
	}
	acc, err := draft.Commit(r.Context(), *req, key)
	if err != nil {
		return err
	}
	return s.accepted(w, acc)
}

// bodyErr turns a failure to read the request body into a caller error
// (400, or 413 past the size limit); failures to store pass unchanged.
func bodyErr(err error) error {
	var fe *field.Error
	var mbe *http.MaxBytesError
	var bre *submit.BodyReadError
	switch {
	case errors.As(err, &fe), errors.As(err, &mbe):
		return err
	case errors.As(err, &bre):
		return field.Errorf(nil, "body", "could not be read to the end: %v", bre.Err)
	}
	return err
}

func (s *Server) accepted(w http.ResponseWriter, a submit.Accepted) error {
	w.Header().Set("Location", fmt.Sprintf("/v1/messages/%d", a.Message.ID))
	// The acceptance itself has its line from the journal ("message
	// accepted for sending"); a replay is not a new acceptance, only a
	// client asking again.
	if a.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		s.d.Logger.Info("submission answered from its earlier acceptance (same Idempotency-Key)", zap.Int64(logging.KeyMessageID, a.Message.ID),
			zap.String(logging.KeyMailbox, a.Message.Mailbox), zap.String(logging.KeyState, string(a.Message.State)))
	}
	writeJSON(w, http.StatusAccepted, SubmitResponse{ID: a.Message.ID, State: string(a.Message.State), Replayed: a.Replayed, Warnings: a.Warnings})
	return nil
}

// MessageList is the answer to GET /v1/messages.
type MessageList struct {
	Messages []MessageView `json:"messages"`
	Next     string        `json:"next,omitempty"`
}

var knownStates = map[mailbox.State]bool{}

func init() {
	for _, st := range []mailbox.State{mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateSending, mailbox.StateSent,
		mailbox.StateConfirmed, mailbox.StateFailed, mailbox.StateReceived, mailbox.StateQuarantined, mailbox.StateIntakePending,
		mailbox.StateDelivered, mailbox.StateHeld, mailbox.StateDeleted} {
		knownStates[st] = true
	}
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, err := ParseFilter(q, s.lim.PageLimit)
	if err != nil {
		return err
	}
	ms, err := ListIn(r.Context(), s.d.Store, f, s.scopedNames(r))
	return answerOK(w, ListPage(ms, f, q, "/v1/messages"), err)
}

// ParseFilter reads a message listing's query (direction, state, mailbox,
// after, limit); errors name the parameter.
func ParseFilter(q url.Values, defaultLimit int) (mailbox.Filter, error) {
	f := mailbox.Filter{Mailbox: q.Get("mailbox"), Limit: defaultLimit}
	switch d := q.Get("direction"); d {
	case "", "in", "out":
		f.Direction = mailbox.Direction(d)
	default:
		return f, field.Errorf(nil, "direction", "must be in or out, not %q", d)
	}
	for _, v := range q["state"] {
		for _, st := range strings.Split(v, ",") {
			if !knownStates[mailbox.State(st)] {
				return f, field.Errorf(nil, "state", "%q is not a message state", st)
			}
			f.States = append(f.States, mailbox.State(st))
		}
	}
	err := pageQuery(q, "a message id (a non-negative integer)", &f.AfterID, &f.Limit)
	return f, err
}

// pageQuery reads a listing's keyset paging into after and limit: after
// an id (what says which, for the refusal), limit 1-500; either absent
// leaves its default.
func pageQuery(q url.Values, what string, after *int64, limit *int) error {
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return field.Errorf(nil, "after", "must be %s, not %q", what, v)
		}
		*after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return field.Errorf(nil, "limit", "must be 1-500, not %q", v)
		}
		*limit = n
	}
	return nil
}

// nextPage is the link to the page after a full one: base with q's
// parameters, after=lastID and, when limit is not 0, limit.
func nextPage(base string, q url.Values, lastID int64, limit int) string {
	next := url.Values{}
	for k, v := range q {
		next[k] = v
	}
	next.Set("after", strconv.FormatInt(lastID, 10))
	if limit != 0 {
		next.Set("limit", strconv.Itoa(limit))
	}
	return base + "?" + next.Encode()
}

// ListPage is one page of a listing; Next (path base plus the query for
// the following page) is set when the page is full.
func ListPage(ms []mailbox.Message, f mailbox.Filter, q url.Values, base string) MessageList {
	out := MessageList{Messages: make([]MessageView, 0, len(ms))}
	for _, m := range ms {
		out.Messages = append(out.Messages, ViewMessage(m))
	}
	if len(ms) == f.Limit && len(ms) > 0 {
		out.Next = nextPage(base, q, ms[len(ms)-1].ID, f.Limit)
	}
	return out
}

func pathID(r *http.Request) (int64, error) { return positiveID(r, "id", "message id") }

// positiveID is the path value name as an id (what: "message id"), a
// positive integer, else a field error on name.
func positiveID(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, field.Errorf(nil, name, "must be a %s (a positive integer), not %q", what, v)
	}
	return id, nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.scopedMessage(r, id); err != nil {
		return err
	}
	v, err := Detail(r.Context(), s.d.Store, id)
	if err != nil {
		return err
	}
	if s.d.EEB != nil {
		if err := AttachEEB(r.Context(), &v, s.d.EEB.Tasks()); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) getDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.scopedMessage(r, id)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(m.Documents) {
		return field.Errorf(ErrDocumentNotFound, "n", "message %d has documents 0-%d, not %q", id, len(m.Documents)-1, r.PathValue("n"))
	}
	doc := m.Documents[n]
	if !doc.PurgedAt.IsZero() {
		return fmt.Errorf("%w on %s (its name, size and SHA-256 stay)", mailbox.ErrPurged, doc.PurgedAt.UTC().Format(time.RFC3339))
	}
	body, err := s.d.Blobs.Open(doc.SHA256)
	if err != nil {
		return err
	}
	defer body.Close()
	sum, _ := hex.DecodeString(doc.SHA256)
	h := w.Header()
	h.Set("Content-Type", orDefault(doc.ContentType, "application/octet-stream"))
	h.Set("Content-Length", strconv.FormatInt(doc.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": mailbox.SafeFileName(doc.Name)}))
	h.Set("X-Content-SHA256", doc.SHA256)
	h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	hash := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, hash), body); err != nil {
		panic(http.ErrAbortHandler) // the client sees a cut-off transfer, never a short file as complete
	}
	if got := hex.EncodeToString(hash.Sum(nil)); got != doc.SHA256 {
		s.d.Logger.Error("stored document does not match its hash", zap.Int64(logging.KeyMessageID, id), zap.String("sha256", doc.SHA256))
		panic(http.ErrAbortHandler)
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// OperateRequest is the optional body of requeue, hold and release.
type OperateRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (s *Server) operate(op mailbox.Op) apiHandler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		var req OperateRequest
		if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &req, true); err != nil {
			return err
		}
		if err := field.Text("reason", req.Reason, 500, false); err != nil {
			return err
		}
		if _, err := s.scopedMessage(r, id); err != nil {
			return err
		}
		m, err := s.d.Store.Operate(r.Context(), mailbox.OperatorAction{ID: id, Op: op,
			Actor: s.d.Tokens.principal(r), Reason: req.Reason, Now: s.d.Now()})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ViewMessage(m))
		return nil
	}
}

// decodeJSONBody decodes a JSON body strictly; an empty body is allowed
// when optional.
func decodeJSONBody(w http.ResponseWriter, r *http.Request, max int64, v any, optional bool) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return err
	}
	if optional && len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return field.Errorf(nil, "body", "is not valid JSON for this request: %v", err)
	}
	if dec.More() {
		return field.Errorf(nil, "body", "holds more than one JSON value")
	}
	return nil
}

// ErrNoReprocessor: the gateway cannot read deliveries again (the API runs
// without the OSCI bridge).
var ErrNoReprocessor = errors.New("api: reading deliveries again is not available")

// reprocess reads a parked delivery (quarantined as unreadable) again from
// its stored original with the bridge of its mailbox (mailbox.Reprocess):
// read, it goes on like a fresh delivery; still unreadable, it stays
// parked with the new reason. No body.
func (s *Server) reprocess(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var none struct{}
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &none, true); err != nil {
		return err
	}
	m, err := s.scopedMessage(r, id)
	if err != nil {
		return err
	}
	if s.d.Reprocessor == nil {
		return ErrNoReprocessor
	}
	rp, err := s.d.Reprocessor(m.Mailbox)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoReprocessor, err)
	}
	actor := s.d.Tokens.principal(r)
	m, err = mailbox.Reprocess(r.Context(), s.d.Store, s.d.Blobs, rp, id, actor, s.d.Now())
	if err != nil {
		return err
	}
	s.d.Logger.Info("parked delivery read again", zap.Int64(logging.KeyMessageID, m.ID), zap.String(logging.KeyMailbox, m.Mailbox),
		zap.String(logging.KeyState, string(m.State)), zap.String("actor", actor))
	writeJSON(w, http.StatusOK, ViewMessage(m))
	return nil
}

// clearFetch forgets the reads counted for one delivery of a mailbox
// (mailbox.FetchEnd with Clear): a delivery no longer read because its
// reads kept stopping the process (a "skipped" notice) is read again at
// the next poll. Journaled with the principal. No body.
func (s *Server) clearFetch(w http.ResponseWriter, r *http.Request) error {
	name, osciID := r.PathValue("mailbox"), r.PathValue("osciMessageId")
	known := false
	for _, m := range s.d.Mailboxes {
		known = known || m.Name == name
	}
	known = known && s.d.Tokens.scopeOf(r).has(name)
	if !known {
		return field.Errorf(submit.ErrUnknownMailbox, "mailbox", "%q is not one of our mailboxes", name)
	}
	if err := field.Text("osciMessageId", osciID, 200, true); err != nil {
		return err
	}
	var none struct{}
	if err := decodeJSONBody(w, r, s.lim.MaxJSONBytes, &none, true); err != nil {
		return err
	}
	actor := s.d.Tokens.principal(r)
	if err := s.d.Store.EndFetch(r.Context(), mailbox.FetchEnd{Mailbox: name, OSCIMessageID: osciID, Now: s.d.Now(), Clear: true, Actor: actor}); err != nil {
		return err
	}
	s.d.Logger.Info("fetch count cleared", zap.String(logging.KeyMailbox, name), zap.String(logging.KeyOSCIID, osciID), zap.String("actor", actor))
	writeJSON(w, http.StatusOK, ClearFetchResponse{Mailbox: name, OSCIMessageID: osciID, Cleared: true})
	return nil
}

// ClearFetchResponse is the answer to POST /v1/mailboxes/{mailbox}/fetches/{osciMessageId}/clear.
type ClearFetchResponse struct {
	Mailbox       string `json:"mailbox"`
	OSCIMessageID string `json:"osciMessageId"`
	Cleared       bool   `json:"cleared"`
}

package register

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Adapter is the official interface of the register (amtliche
// Schnittstelle, §1 Abs. 3 Nr. 2 and §3 WRegV). Its format is not
// published; register/iface holds an HTTPS implementation whose every
// wire assumption is in one file, and register/registersim a simulator of
// the same contract.
//
// Contract: Submit with the same Request.Key makes at most one query at
// the register (the key is the idempotency key), so a Submit whose
// outcome is unknown is simply made again. Poll asks for the answer to a
// reference Submit returned. An error that IsPermanent reports is the
// register's refusal; any other error is temporary.
type Adapter interface {
	Submit(ctx context.Context, req AdapterRequest) (ref string, err error)
	Poll(ctx context.Context, ref string) (AdapterResult, error)
}

// AdapterRequest is one query as §5 Abs. 2 WRegV lists its data.
type AdapterRequest struct {
	Key          string  // idempotency key, stable for one query
	Procedure    string  // Aktenzeichen / Vergabenummer
	Description  string  // Kurzbeschreibung
	Publication  string  // Fundstelle
	Company      Company // §3 Abs. 1 Nr. 4 WRegG
	Confirmation string  // ConfirmationText
	ConfirmedBy  string
	Voluntary    bool // §6 Abs. 2 WRegG
}

// AdapterState is where the register says a query stands.
type AdapterState string

const (
	AdapterPending  AdapterState = "pending"
	AdapterAnswered AdapterState = "answered"
	AdapterRefused  AdapterState = "refused"
)

// AdapterResult is the register's answer to Poll.
type AdapterResult struct {
	State       AdapterState
	HasEntries  bool
	Document    []byte // the answer (Auskunft), e.g. a PDF
	ContentType string
	Reason      string // why it was refused
}

// ErrRefused is the register's permanent refusal of a query.
var ErrRefused = errors.New("register: the register refused the query")

// IsPermanent reports an adapter error that retrying cannot cure.
func IsPermanent(err error) bool { return errors.Is(err, ErrRefused) }

// QueryKey is the idempotency key of a query towards the adapter.
func QueryKey(q Query) string { return "bebpo-wreg-query-" + strconv.FormatInt(q.ID, 10) }

// Poller sends interface queries and polls pending ones until their
// answer arrives (the daemon runs RunOnce every few seconds). A failed
// call is retried with Policy; after an outage the query is submitted
// again under the same key, so the register makes no second query.
type Poller struct {
	Register *Register
	Adapter  Adapter
	// Interval is how long a pending query waits before the next poll;
	// default 1 minute.
	Interval time.Duration
	Policy   mailbox.RetryPolicy // failed calls; default 30 s doubling to 30 minutes, forever
	Owner    string
	Lease    time.Duration // default 5 minutes
	Batch    int           // default 8
	Rand     io.Reader
}

func (p *Poller) defaults() {
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	if p.Policy.Initial == 0 {
		p.Policy = mailbox.RetryPolicy{Initial: 30 * time.Second, Factor: 2, Max: 30 * time.Minute, Jitter: mailbox.EqualJitter}
	}
	if p.Lease <= 0 {
		p.Lease = 5 * time.Minute
	}
	if p.Batch <= 0 {
		p.Batch = 8
	}
	if p.Owner == "" {
		p.Owner = "register-poller"
	}
}

// RunOnce handles one batch of due queries and returns how many.
func (p *Poller) RunOnce(ctx context.Context) (int, error) {
	p.defaults()
	r := p.Register
	return runBatch(ctx, func() ([]Query, error) { return r.Store.ClaimQueries(ctx, r.now(), p.Owner, p.Lease, p.Batch) }, p.step)
}

// runBatch hands every item claim returns to handle in turn and returns
// how many there were; a claim or handle error (a store error) stops it.
func runBatch[T any](ctx context.Context, claim func() ([]T, error), handle func(context.Context, T) error) (int, error) {
	items, err := claim()
	if err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := handle(ctx, it); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// step moves one claimed query on; only store errors are returned.
func (p *Poller) step(ctx context.Context, q Query) error {
	r := p.Register
	log := r.Logger.With(zap.Int64("queryId", q.ID), zap.Int64("procedureId", q.ProcedureID))
	if q.State == QueryToSend {
		req, err := p.request(ctx, q)
		if err != nil {
			return err
		}
		ref, err := p.Adapter.Submit(ctx, req)
		if err != nil {
			return p.failed(ctx, q, "submit", err, log)
		}
		// Due at once: the next round (RunOnce reports work done, so the
		// daemon runs it without waiting) polls for an immediate answer.
		q.State, q.Ref, q.LastError, q.NextAttemptAt = QueryPending, ref, "", r.now()
		err = r.Store.UpdateQuery(ctx, q, &Entry{At: r.now(), ProcedureID: q.ProcedureID, Kind: "query_sent", Actor: p.Owner,
			Detail: map[string]string{"query": strconv.FormatInt(q.ID, 10), "ref": ref}})
		if err == nil {
			log.Info("register query sent", zap.Int("attempts", q.Attempts))
		}
		return ignoreLost(err)
	}
	res, err := p.Adapter.Poll(ctx, q.Ref)
	if err != nil {
		return p.failed(ctx, q, "poll", err, log)
	}
	switch res.State {
	case AdapterAnswered:
		_, err := r.storeAnswer(ctx, q, AnswerInput{HasEntries: res.HasEntries, ContentType: res.ContentType, Data: res.Document}, "interface", q.LeaseToken)
		if errors.Is(err, ErrInvalid) || errors.Is(err, ErrTooLarge) {
			return p.failed(ctx, q, "answer", err, log)
		}
		return ignoreLost(err)
	case AdapterRefused:
		return p.refused(ctx, q, res.Reason, log)
	default:
		q.NextAttemptAt, q.LastError = r.now().Add(p.Interval), ""
		return ignoreLost(r.Store.UpdateQuery(ctx, q, nil))
	}
}

func (p *Poller) failed(ctx context.Context, q Query, what string, err error, log *zap.Logger) error {
	if IsPermanent(err) {
		return p.refused(ctx, q, err.Error(), log)
	}
	r := p.Register
	q.NextAttemptAt, q.LastError = r.now().Add(p.Policy.Delay(q.Attempts, p.Rand)), what+": "+err.Error()
	log.Warn("register interface call failed; retried", zap.String("call", what), zap.Int("attempts", q.Attempts), zap.Error(err))
	return ignoreLost(r.Store.UpdateQuery(ctx, q, nil))
}

func (p *Poller) refused(ctx context.Context, q Query, reason string, log *zap.Logger) error {
	r := p.Register
	q.State, q.LastError = QueryRefused, reason
	log.Warn("register query refused by the register", zap.String("reason", reason))
	return ignoreLost(r.Store.UpdateQuery(ctx, q, &Entry{At: r.now(), ProcedureID: q.ProcedureID, Kind: "query_refused", Actor: p.Owner,
		Detail: map[string]string{"query": strconv.FormatInt(q.ID, 10), "reason": reason}}))
}

func (p *Poller) request(ctx context.Context, q Query) (AdapterRequest, error) {
	st := p.Register.Store
	pr, b, err := procedureBidder(ctx, st, "", q.ProcedureID)
	if err != nil {
		return AdapterRequest{}, err
	}
	m, ok := b.member(q.MemberID)
	if !ok {
		return AdapterRequest{}, fmt.Errorf("%w: member %d of query %d", ErrNotFound, q.MemberID, q.ID)
	}
	return AdapterRequest{Key: QueryKey(q), Procedure: pr.Number, Description: pr.Description, Publication: pr.Publication,
		Company: m.Company, Confirmation: ConfirmationText, ConfirmedBy: q.Confirmation.By, Voluntary: q.Purpose == "voluntary"}, nil
}

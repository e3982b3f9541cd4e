package register

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
)

// Limits bound what the register accepts. Zero fields take the defaults.
type Limits struct {
	MaxAnswerBytes int64 // one answer document; default 20 MiB
	MaxMembers     int   // members of one consortium; default 50
	// Retention is how long the gateway keeps an answer's document after
	// it was received (it stays in the eAkte); default 90 days, at least
	// two months and a day so that reuse stays possible.
	Retention time.Duration
}

// DefaultRetention is the default Limits.Retention.
const DefaultRetention = 90 * 24 * time.Hour

// MinRetention is the shortest retention: two months (at most 62 days)
// and a day, so that an answer is never deleted while it may be reused.
const MinRetention = 63 * 24 * time.Hour

// WithDefaults fills the zero fields.
func (l Limits) WithDefaults() Limits {
	return limit.Fill(l, Limits{MaxAnswerBytes: 20 << 20, MaxMembers: 50, Retention: DefaultRetention})
}

// Validate refuses a retention shorter than MinRetention.
func (l Limits) Validate() error {
	if l.Retention != 0 && l.Retention < MinRetention {
		return fmt.Errorf("%w: retention %s is shorter than two months and a day (%s)", ErrInvalid, l.Retention, MinRetention)
	}
	return nil
}

// Register is the procurement office's workflow on a Store. It holds no
// goroutines; the daemon runs the Filer, the Poller and Retain.
type Register struct {
	Store  Store
	Now    func() time.Time
	Logger *zap.Logger
	Limits Limits
}

// New returns a Register with defaults.
func New(st Store, now func() time.Time, log *zap.Logger, lim Limits) (*Register, error) {
	if st == nil {
		return nil, errors.New("register: needs a store")
	}
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Register{Store: st, Now: now, Logger: log, Limits: lim.WithDefaults()}, nil
}

func (r *Register) now() time.Time { return r.Now().UTC() }

// NewProcedure is what a clerk enters for a procedure.
type NewProcedure struct {
	Number      string        `json:"number"`
	Description string        `json:"description"`
	Publication string        `json:"publication"`
	Value       Cents         `json:"valueCents"`
	Kind        AuthorityKind `json:"kind"`
	Contract    ContractKind  `json:"contract"`
	Date        time.Time     `json:"date,omitzero"`
}

// CreateProcedure records a procedure and whether a query is required.
func (r *Register) CreateProcedure(ctx context.Context, np NewProcedure, actor string) (Procedure, error) {
	if err := firstErr(field.Text("number", np.Number, 100, true), field.Text("description", np.Description, 500, true),
		field.Text("publication", np.Publication, 300, false)); err != nil {
		return Procedure{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := r.now()
	if np.Date.IsZero() {
		np.Date = now
	}
	if np.Contract == "" {
		np.Contract = ContractServices
	}
	d, err := Check(np.Value, np.Kind, np.Contract, np.Date)
	if err != nil {
		return Procedure{}, err
	}
	p := Procedure{Number: np.Number, Description: np.Description, Publication: np.Publication, Value: np.Value,
		Kind: np.Kind, Contract: np.Contract, Date: np.Date.UTC(), Decision: d, CreatedAt: now, CreatedBy: actor}
	p, err = r.Store.CreateProcedure(ctx, p, Entry{At: now, Kind: "procedure_created", Actor: actor,
		Detail: map[string]string{"required": strconv.FormatBool(d.Required), "kind": string(np.Kind), "contract": string(np.Contract)}})
	if err != nil {
		return Procedure{}, err
	}
	r.Logger.Info("register procedure created", zap.Int64("procedureId", p.ID), zap.Bool("queryRequired", d.Required))
	return p, nil
}

// SetBidder records the bidder intended for the award; a consortium
// lists two or more members.
func (r *Register) SetBidder(ctx context.Context, number, name string, members []Company, actor string) (Bidder, error) {
	p, err := r.Store.Procedure(ctx, number)
	if err != nil {
		return Bidder{}, err
	}
	if len(members) == 0 || len(members) > r.Limits.MaxMembers {
		return Bidder{}, fmt.Errorf("%w: a bidder needs 1 to %d companies", ErrInvalid, r.Limits.MaxMembers)
	}
	b := Bidder{ProcedureID: p.ID, Name: name, Consortium: len(members) > 1}
	for i, c := range members {
		if err := c.validate(fmt.Sprintf("members[%d].", i)); err != nil {
			return Bidder{}, err
		}
		b.Members = append(b.Members, Member{Company: c})
	}
	if b.Name == "" {
		b.Name = members[0].Name
	}
	if err := field.Text("name", b.Name, 300, true); err != nil {
		return Bidder{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	now := r.now()
	b, err = r.Store.SetBidder(ctx, b, Entry{At: now, ProcedureID: p.ID, Kind: "bidder_set", Actor: actor,
		Detail: map[string]string{"members": strconv.Itoa(len(members))}})
	if err != nil {
		return Bidder{}, err
	}
	r.Logger.Info("register bidder set", zap.Int64("procedureId", p.ID), zap.Int("members", len(members)))
	return b, nil
}

func (c Company) validate(prefix string) error {
	errs := []error{field.Text(prefix+"name", c.Name, 300, true), field.Text(prefix+"legalForm", c.LegalForm, 100, false),
		field.Text(prefix+"address", c.Address, 500, true), field.Text(prefix+"registryCourt", c.RegistryCourt, 200, false),
		field.Text(prefix+"registerNumber", c.RegisterNumber, 100, false), field.Text(prefix+"foreignRegister", c.ForeignRegister, 300, false),
		field.Text(prefix+"vatId", c.VATID, 30, false)}
	for i, s := range append(append([]string(nil), c.Representatives...), c.ManagingPartners...) {
		errs = append(errs, field.Text(fmt.Sprintf("%spersons[%d]", prefix, i), s, 300, true))
	}
	if c.RegisterNumber == "" && c.ForeignRegister == "" && c.VATID == "" {
		errs = append(errs, field.Errorf(nil, prefix+"registerNumber", "give the register number, a foreign equivalent or the VAT id"))
	}
	if err := firstErr(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// QueryRequest asks for queries about the members of a procedure's
// bidder: MemberIDs (none: every member without a usable answer).
type QueryRequest struct {
	MemberIDs    []int64      `json:"memberIds,omitempty"`
	Channel      Channel      `json:"channel"`
	Confirmation Confirmation `json:"confirmation"`
}

// Query creates the queries. Portal: the query sheet with every field to
// enter is made and filed; the clerk queries in the portal and hands the
// answer over (RecordAnswer). Interface: the Poller sends it. Every query
// is journaled with the §5 Abs. 2 WRegV confirmation.
func (r *Register) Query(ctx context.Context, number string, req QueryRequest, actor string) ([]Query, error) {
	if !req.Confirmation.ConditionsMet || !req.Confirmation.OnlyInvolvedStaff {
		return nil, fmt.Errorf("%w: confirm that the conditions are met and only involved staff see the answer", ErrConfirmation)
	}
	if req.Confirmation.By == "" {
		req.Confirmation.By = actor
	}
	if req.Channel == "" {
		req.Channel = ChannelPortal
	}
	if req.Channel != ChannelPortal && req.Channel != ChannelInterface {
		return nil, fmt.Errorf("%w: channel must be portal or interface, not %q", ErrInvalid, req.Channel)
	}
	p, b, err := procedureBidder(ctx, r.Store, number, 0)
	if err != nil {
		return nil, err
	}
	rels, err := r.Store.Reliances(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	members, err := pickMembers(b, req.MemberIDs, rels)
	if err != nil {
		return nil, err
	}
	purpose := "award"
	if !p.Decision.Required {
		purpose = "voluntary"
	}
	now := r.now()
	var out []Query
	for _, m := range members {
		q := Query{ProcedureID: p.ID, MemberID: m.ID, Channel: req.Channel, Purpose: purpose, Confirmation: req.Confirmation,
			RequestedBy: actor, RequestedAt: now, State: QueryPrepared}
		var sheet func(Query) StoredFile
		if req.Channel == ChannelInterface {
			q.State, q.NextAttemptAt = QueryToSend, now
		} else {
			sheet = func(q Query) StoredFile {
				doc := QuerySheet(p, b, m, q)
				return StoredFile{Name: fmt.Sprintf("Abfrage_Wettbewerbsregister_%d.pdf", q.ID), ContentType: "application/pdf", Data: doc, SHA256: hexSHA(doc)}
			}
		}
		q, err = r.Store.CreateQuery(ctx, q, sheet, Entry{At: now, ProcedureID: p.ID, Kind: "query_created", Actor: actor,
			Detail: map[string]string{"member": strconv.FormatInt(m.ID, 10), "channel": string(q.Channel), "purpose": purpose,
				"confirmation": ConfirmationText, "confirmedBy": req.Confirmation.By}})
		if err != nil {
			return out, err
		}
		r.Logger.Info("register query created", zap.Int64("procedureId", p.ID), zap.Int64("queryId", q.ID),
			zap.String("channel", string(q.Channel)), zap.String("purpose", purpose))
		out = append(out, q)
	}
	return out, nil
}

// pickMembers returns the members asked for, or every member the
// procedure relies on no answer for yet.
func pickMembers(b Bidder, ids []int64, rels []Reliance) ([]Member, error) {
	if len(ids) == 0 {
		have := map[int64]bool{}
		for _, rl := range rels {
			have[rl.MemberID] = true
		}
		var out []Member
		for _, m := range b.Members {
			if !have[m.ID] {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w: every member already has an answer; name a member to query again", ErrInvalid)
		}
		return out, nil
	}
	var out []Member
	for _, id := range ids {
		m, ok := b.member(id)
		if !ok {
			return nil, fmt.Errorf("%w: member %d is not a member of bidder %d", ErrNotFound, id, b.ID)
		}
		out = append(out, m)
	}
	return out, nil
}

// procedureBidder loads a procedure, by its number or, when number is
// empty, by id, and the procedure's bidder.
func procedureBidder(ctx context.Context, st Store, number string, id int64) (Procedure, Bidder, error) {
	var p Procedure
	var err error
	if number != "" {
		p, err = st.Procedure(ctx, number)
	} else {
		p, err = st.ProcedureByID(ctx, id)
	}
	if err != nil {
		return Procedure{}, Bidder{}, err
	}
	b, err := st.Bidder(ctx, p.ID)
	if err != nil {
		return Procedure{}, Bidder{}, err
	}
	return p, b, nil
}

func (b Bidder) member(id int64) (Member, bool) {
	for _, m := range b.Members {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// AnswerInput is an answer document handed over by a clerk (portal mode).
type AnswerInput struct {
	HasEntries  bool   `json:"hasEntries"`
	FileName    string `json:"fileName"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"-"`
}

// RecordAnswer stores the answer to a portal query, hashes it, lets the
// procedure rely on it and queues it for the intake.
func (r *Register) RecordAnswer(ctx context.Context, queryID int64, in AnswerInput, actor string) (Answer, error) {
	q, err := r.Store.Query(ctx, queryID)
	if err != nil {
		return Answer{}, err
	}
	if q.State == QueryAnswered || q.State == QueryRefused {
		return Answer{}, fmt.Errorf("%w: query %d is %s", ErrExists, q.ID, q.State)
	}
	if q.Channel != ChannelPortal {
		return Answer{}, fmt.Errorf("%w: query %d goes through the interface; its answer arrives there", ErrInvalid, q.ID)
	}
	return r.storeAnswer(ctx, q, in, actor, 0)
}

// storeAnswer is the one place an answer enters the store, for both
// channels.
func (r *Register) storeAnswer(ctx context.Context, q Query, in AnswerInput, actor string, leaseToken int64) (Answer, error) {
	if int64(len(in.Data)) > r.Limits.MaxAnswerBytes {
		return Answer{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(in.Data), r.Limits.MaxAnswerBytes)
	}
	if len(in.Data) == 0 {
		return Answer{}, fmt.Errorf("%w: the answer document is empty", ErrInvalid)
	}
	if in.ContentType == "" {
		in.ContentType = "application/pdf"
	}
	p, b, err := procedureBidder(ctx, r.Store, "", q.ProcedureID)
	if err != nil {
		return Answer{}, err
	}
	m, ok := b.member(q.MemberID)
	if !ok {
		return Answer{}, fmt.Errorf("%w: member %d", ErrNotFound, q.MemberID)
	}
	now := r.now()
	a := Answer{QueryID: q.ID, Company: m.Company, HasEntries: in.HasEntries, Channel: q.Channel, ReceivedAt: now,
		RecordedBy: actor, FileName: answerFileName(q.ID), ContentType: in.ContentType, Size: int64(len(in.Data)), SHA256: hexSHA(in.Data)}
	rel := Reliance{ProcedureID: p.ID, MemberID: m.ID, ConfirmedBy: actor, At: now}
	a, err = r.Store.AddAnswer(ctx, a, in.Data, leaseToken, rel, Filing{ProcedureID: p.ID, Kind: FilingAnswer},
		Entry{At: now, ProcedureID: p.ID, Kind: "answer_received", Actor: actor, Detail: map[string]string{
			"query": strconv.FormatInt(q.ID, 10), "member": strconv.FormatInt(m.ID, 10), "channel": string(q.Channel),
			"sha256": a.SHA256, "size": strconv.FormatInt(a.Size, 10)}})
	if err != nil {
		return Answer{}, err
	}
	r.Logger.Info("register answer received", zap.Int64("procedureId", p.ID), zap.Int64("queryId", q.ID), zap.Int64("answerId", a.ID),
		zap.String("channel", string(q.Channel)))
	return a, nil
}

func answerFileName(queryID int64) string {
	return "Auskunft_Wettbewerbsregister_" + strconv.FormatInt(queryID, 10) + ".pdf"
}

// Candidate is an earlier answer about a member's company that may be
// reused, shown to the clerk for confirmation.
type Candidate struct {
	MemberID   int64     `json:"memberId"`
	AnswerID   int64     `json:"answerId"`
	MatchedOn  string    `json:"matchedOn"` // "registerNumber" or "vatId"
	Company    Company   `json:"company"`
	ReceivedAt time.Time `json:"receivedAt"`
	ValidUntil time.Time `json:"validUntil"`
}

// Candidates lists, per member of the procedure's bidder, the answers
// received within the last two months about the same company (matched on
// register number or VAT id).
func (r *Register) Candidates(ctx context.Context, number string) ([]Candidate, error) {
	_, b, err := procedureBidder(ctx, r.Store, number, 0)
	if err != nil {
		return nil, err
	}
	now := r.now()
	since := now.AddDate(0, -3, 0) // wider than two months; Usable decides
	var out []Candidate
	for _, m := range b.Members {
		as, err := r.Store.AnswersAbout(ctx, m.Company.RegisterKey(), m.Company.VATKey(), since)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			if !Usable(a.ReceivedAt, now) {
				continue
			}
			on := "vatId"
			if k := m.Company.RegisterKey(); k != "" && k == a.Company.RegisterKey() {
				on = "registerNumber"
			}
			out = append(out, Candidate{MemberID: m.ID, AnswerID: a.ID, MatchedOn: on, Company: a.Company,
				ReceivedAt: a.ReceivedAt, ValidUntil: ValidUntil(a.ReceivedAt)})
		}
	}
	return out, nil
}

// Reuse lets the procedure rely on an earlier answer for a member, after
// the clerk confirmed that it is about the same company. The answer must
// match on register number or VAT id and be usable today.
func (r *Register) Reuse(ctx context.Context, number string, memberID, answerID int64, actor string) (Reliance, error) {
	p, b, err := procedureBidder(ctx, r.Store, number, 0)
	if err != nil {
		return Reliance{}, err
	}
	m, ok := b.member(memberID)
	if !ok {
		return Reliance{}, fmt.Errorf("%w: member %d is not a member of the bidder of %s", ErrNotFound, memberID, number)
	}
	a, err := r.Store.Answer(ctx, answerID)
	if err != nil {
		return Reliance{}, err
	}
	now := r.now()
	switch {
	case !a.DeletedAt.IsZero():
		return Reliance{}, fmt.Errorf("%w: answer %d", ErrAnswerDeleted, a.ID)
	case !sameCompany(m.Company, a.Company):
		return Reliance{}, fmt.Errorf("%w: answer %d is about another company (neither register number nor VAT id match)", ErrInvalid, a.ID)
	case !Usable(a.ReceivedAt, now):
		return Reliance{}, fmt.Errorf("%w: answer %d was received %s and could be relied on until %s (two months, § 6 Abs. 1 Satz 5 WRegG)",
			ErrInvalid, a.ID, a.ReceivedAt.In(berlin).Format("02.01.2006"), ValidUntil(a.ReceivedAt).Format("02.01.2006"))
	}
	rel := Reliance{ProcedureID: p.ID, MemberID: m.ID, AnswerID: a.ID, Reused: true, ConfirmedBy: actor, At: now}
	err = r.Store.Rely(ctx, rel, Filing{ProcedureID: p.ID, Kind: FilingAnswer, AnswerID: a.ID},
		Entry{At: now, ProcedureID: p.ID, Kind: "answer_reused", Actor: actor, Detail: map[string]string{
			"member": strconv.FormatInt(m.ID, 10), "answer": strconv.FormatInt(a.ID, 10),
			"received": a.ReceivedAt.UTC().Format(time.RFC3339)}})
	if err != nil {
		return Reliance{}, err
	}
	r.Logger.Info("register answer reused", zap.Int64("procedureId", p.ID), zap.Int64("answerId", a.ID))
	return rel, nil
}

func sameCompany(x, y Company) bool {
	if k := x.RegisterKey(); k != "" && k == y.RegisterKey() {
		return true
	}
	k := x.VATKey()
	return k != "" && k == y.VATKey()
}

// NewAssessment is the consideration of an answer with entries.
type NewAssessment struct {
	AnswerID     int64     `json:"answerId"`
	Person       string    `json:"person"`
	Exclusion    Exclusion `json:"exclusion"`
	SelfCleaning string    `json:"selfCleaning"`
	Note         string    `json:"note,omitempty"`
}

// Assess records the assessment of an answer the procedure relies on.
func (r *Register) Assess(ctx context.Context, number string, na NewAssessment, actor string) (Assessment, error) {
	p, err := r.Store.Procedure(ctx, number)
	if err != nil {
		return Assessment{}, err
	}
	switch na.Exclusion {
	case ExclusionNone, ExclusionMandatory, ExclusionOptional:
	default:
		return Assessment{}, fmt.Errorf("%w: exclusion must be none, mandatory (§ 123 GWB) or optional (§ 124 GWB), not %q", ErrInvalid, na.Exclusion)
	}
	if err := firstErr(field.Text("person", na.Person, 200, true), field.Text("selfCleaning", na.SelfCleaning, 2000, true),
		field.Text("note", na.Note, 2000, false)); err != nil {
		return Assessment{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	rels, err := r.Store.Reliances(ctx, p.ID)
	if err != nil {
		return Assessment{}, err
	}
	relied := false
	for _, rl := range rels {
		relied = relied || rl.AnswerID == na.AnswerID
	}
	if !relied {
		return Assessment{}, fmt.Errorf("%w: procedure %s does not rely on answer %d", ErrNotFound, number, na.AnswerID)
	}
	now := r.now()
	a := Assessment{ProcedureID: p.ID, AnswerID: na.AnswerID, Person: na.Person, Exclusion: na.Exclusion,
		SelfCleaning: na.SelfCleaning, Note: na.Note, At: now}
	// The journal names who assessed and the outcome's kind, never the
	// reasoning (it is about offences).
	a, err = r.Store.AddAssessment(ctx, a, Entry{At: now, ProcedureID: p.ID, Kind: "assessment", Actor: actor,
		Detail: map[string]string{"answer": strconv.FormatInt(na.AnswerID, 10), "person": na.Person, "exclusion": string(na.Exclusion)}})
	if err != nil {
		return Assessment{}, err
	}
	r.Logger.Info("register assessment recorded", zap.Int64("procedureId", p.ID), zap.Int64("answerId", na.AnswerID))
	return a, nil
}

// MemberStatus is one member's standing at the gate.
type MemberStatus struct {
	MemberID   int64     `json:"memberId"`
	Company    string    `json:"company"`
	AnswerID   int64     `json:"answerId,omitempty"`
	Reused     bool      `json:"reused,omitempty"`
	ReceivedAt time.Time `json:"receivedAt,omitzero"`
	ValidUntil time.Time `json:"validUntil,omitzero"`
	HasEntries bool      `json:"hasEntries,omitempty"`
	AssessedBy string    `json:"assessedBy,omitempty"`
	OK         bool      `json:"ok"`
}

// GateResult says whether the award may proceed and, if not, what is
// missing (German, for the clerk).
type GateResult struct {
	Procedure  string         `json:"procedure"`
	MayProceed bool           `json:"mayProceed"`
	Reason     string         `json:"reason"`
	Missing    []string       `json:"missing,omitempty"`
	Members    []MemberStatus `json:"members,omitempty"`
}

// Gate decides whether the award may proceed: every member of the bidder
// has an answer usable today (when a query is required), and every
// answer with entries the procedure relies on carries an assessment by a
// named person; an assessment finding a mandatory exclusion (§ 123 GWB)
// blocks. The decision is journaled.
func (r *Register) Gate(ctx context.Context, number, actor string) (GateResult, error) {
	p, err := r.Store.Procedure(ctx, number)
	if err != nil {
		return GateResult{}, err
	}
	res := GateResult{Procedure: p.Number}
	now := r.now()
	b, err := r.Store.Bidder(ctx, p.ID)
	switch {
	case errors.Is(err, ErrNotFound):
		if p.Decision.Required {
			res.Missing = append(res.Missing, "Kein Bieter für den Zuschlag erfasst.")
		}
	case err != nil:
		return GateResult{}, err
	default:
		if err := r.gateMembers(ctx, p, b, now, &res); err != nil {
			return GateResult{}, err
		}
	}
	res.MayProceed = len(res.Missing) == 0
	switch {
	case res.MayProceed && !p.Decision.Required:
		res.Reason = "Zuschlag kann erfolgen: " + p.Decision.Reason
	case res.MayProceed:
		res.Reason = "Zuschlag kann erfolgen: für jedes Mitglied liegt eine gültige Auskunft vor, jede Auskunft mit Eintragungen ist bewertet."
	default:
		res.Reason = "Zuschlag noch nicht möglich: " + strings.Join(res.Missing, " ")
	}
	if err := r.Store.Append(ctx, Entry{At: now, ProcedureID: p.ID, Kind: "gate", Actor: actor,
		Detail: map[string]string{"mayProceed": strconv.FormatBool(res.MayProceed), "missing": strconv.Itoa(len(res.Missing))}}); err != nil {
		return GateResult{}, err
	}
	r.Logger.Info("register gate checked", zap.Int64("procedureId", p.ID), zap.Bool("mayProceed", res.MayProceed), zap.Int("missing", len(res.Missing)))
	return res, nil
}

func (r *Register) gateMembers(ctx context.Context, p Procedure, b Bidder, now time.Time, res *GateResult) error {
	rels, err := r.Store.Reliances(ctx, p.ID)
	if err != nil {
		return err
	}
	as, err := r.Store.Assessments(ctx, p.ID)
	if err != nil {
		return err
	}
	for i, m := range b.Members {
		label := fmt.Sprintf("Mitglied %d (%s)", i+1, m.Company.Name)
		st := MemberStatus{MemberID: m.ID, Company: m.Company.Name}
		var rel *Reliance
		for j := range rels { // the latest reliance counts
			if rels[j].MemberID == m.ID && (rel == nil || !rels[j].At.Before(rel.At)) {
				rel = &rels[j]
			}
		}
		if rel == nil {
			if p.Decision.Required {
				res.Missing = append(res.Missing, label+": keine Auskunft aus dem Wettbewerbsregister.")
			}
			res.Members = append(res.Members, st)
			continue
		}
		a, err := r.Store.Answer(ctx, rel.AnswerID)
		if err != nil {
			return err
		}
		st.AnswerID, st.Reused, st.ReceivedAt, st.ValidUntil, st.HasEntries = a.ID, rel.Reused, a.ReceivedAt, ValidUntil(a.ReceivedAt), a.HasEntries
		ok := true
		if p.Decision.Required && (!Usable(a.ReceivedAt, now) || !a.DeletedAt.IsZero()) {
			ok = false
			res.Missing = append(res.Missing, fmt.Sprintf("%s: die Auskunft vom %s ist älter als zwei Monate; neue Abfrage nötig.",
				label, a.ReceivedAt.In(berlin).Format("02.01.2006")))
		}
		if a.HasEntries {
			var last *Assessment
			for j := range as {
				if as[j].AnswerID == a.ID {
					last = &as[j]
				}
			}
			switch {
			case last == nil:
				ok = false
				res.Missing = append(res.Missing, label+": die Auskunft enthält Eintragungen; Bewertung (§§ 123, 124, 125 GWB) durch eine benannte Person fehlt.")
			case last.Exclusion == ExclusionMandatory:
				ok = false
				st.AssessedBy = last.Person
				res.Missing = append(res.Missing, label+": zwingender Ausschlussgrund nach § 123 GWB festgestellt ("+last.Person+").")
			default:
				st.AssessedBy = last.Person
			}
		}
		st.OK = ok
		res.Members = append(res.Members, st)
	}
	return nil
}

// ReadAnswer returns an answer's document for someone with the
// procurement role, and journals who read it.
func (r *Register) ReadAnswer(ctx context.Context, id int64, actor string) (Answer, []byte, error) {
	a, err := r.Store.Answer(ctx, id)
	if err != nil {
		return Answer{}, nil, err
	}
	data, err := r.Store.AnswerContent(ctx, id)
	if err != nil {
		return a, nil, err
	}
	q, err := r.Store.Query(ctx, a.QueryID)
	if err != nil {
		return a, nil, err
	}
	if err := r.Store.Append(ctx, Entry{At: r.now(), ProcedureID: q.ProcedureID, Kind: "answer_read", Actor: actor,
		Detail: map[string]string{"answer": strconv.FormatInt(id, 10)}}); err != nil {
		return a, nil, err
	}
	return a, data, nil
}

// Retain deletes the documents of answers received longer than
// Limits.Retention ago whose filing is done, journaling each deletion.
// It returns how many it deleted.
func (r *Register) Retain(ctx context.Context) (int, error) {
	now := r.now()
	as, err := r.Store.Expired(ctx, now.Add(-r.Limits.Retention))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range as {
		q, err := r.Store.Query(ctx, a.QueryID)
		if err != nil {
			return n, err
		}
		if err := r.Store.DeleteAnswer(ctx, a.ID, now, Entry{At: now, ProcedureID: q.ProcedureID, Kind: "answer_deleted", Actor: "retention",
			Detail: map[string]string{"answer": strconv.FormatInt(a.ID, 10), "sha256": a.SHA256,
				"received": a.ReceivedAt.UTC().Format(time.RFC3339), "retention": r.Limits.Retention.String()}}); err != nil {
			return n, err
		}
		n++
		r.Logger.Info("register answer deleted after retention", zap.Int64("answerId", a.ID), zap.Int64("procedureId", q.ProcedureID))
	}
	return n, nil
}

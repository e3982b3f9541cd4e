package register

import (
	"errors"
	"strings"
	"time"
	_ "time/tzdata"
)

// Errors of the register. Refusals wrap ErrInvalid; the gate's "no" is
// not an error (GateResult.MayProceed).
var (
	ErrInvalid  = errors.New("register: invalid request")
	ErrNotFound = errors.New("register: not found")
	ErrExists   = errors.New("register: already exists")
	// ErrLeaseLost: a worker's claim on a query or filing was taken over.
	ErrLeaseLost = errors.New("register: lease lost")
	// ErrConfirmation: a query without the §5 Abs. 2 WRegV confirmation.
	ErrConfirmation = errors.New("register: the confirmation of §5 Abs. 2 WRegV is missing")
	// ErrAnswerDeleted: the answer's content was deleted after its
	// retention period.
	ErrAnswerDeleted = errors.New("register: answer deleted after its retention period")
	// ErrTooLarge: an answer document over Limits.MaxAnswerBytes.
	ErrTooLarge = errors.New("register: answer document too large")
)

// berlin is the time zone of the clerks: periods run in German calendar days.
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.UTC
	}
	return loc
}()

// Procedure is an award procedure (Vergabeverfahren).
type Procedure struct {
	ID          int64         `json:"id"`
	Number      string        `json:"number"`      // Vergabenummer / Aktenzeichen
	Description string        `json:"description"` // Kurzbeschreibung
	Publication string        `json:"publication"` // Fundstelle der Bekanntmachung
	Value       Cents         `json:"valueCents"`  // geschätzter Auftragswert, netto
	Kind        AuthorityKind `json:"kind"`
	Contract    ContractKind  `json:"contract"`
	// Date is the day the thresholds are taken from (default: creation).
	Date      time.Time `json:"date"`
	Decision  Decision  `json:"decision"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
}

// Company is the company data of §3 Abs. 1 Nr. 4 WRegG that a query
// carries (§5 Abs. 2 WRegV).
type Company struct {
	Name             string   `json:"name"`                       // Firma
	LegalForm        string   `json:"legalForm,omitempty"`        // Rechtsform
	Representatives  []string `json:"representatives,omitempty"`  // gesetzliche Vertreter
	ManagingPartners []string `json:"managingPartners,omitempty"` // vertretungsberechtigte Gesellschafter
	Address          string   `json:"address"`                    // Anschrift
	RegistryCourt    string   `json:"registryCourt,omitempty"`    // Registergericht
	RegisterNumber   string   `json:"registerNumber,omitempty"`   // Registernummer (z. B. HRB 1234)
	ForeignRegister  string   `json:"foreignRegister,omitempty"`  // ausländische Entsprechung
	VATID            string   `json:"vatId,omitempty"`            // Umsatzsteuer-Identifikationsnummer
}

// normKey makes register numbers and VAT ids comparable: upper case,
// without spaces, dots and hyphens.
func normKey(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '/', '\t':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(s)))
}

// RegisterKey is the company's register court and number as matched for
// reuse ("" without a register number).
func (c Company) RegisterKey() string {
	if c.RegisterNumber == "" {
		return ""
	}
	return normKey(c.RegistryCourt) + "|" + normKey(c.RegisterNumber)
}

// VATKey is the VAT id as matched for reuse.
func (c Company) VATKey() string { return normKey(c.VATID) }

// Bidder is the bidder intended for the award: one company, or a
// consortium (Bietergemeinschaft) of members, each of which needs its own
// answer (§5 Abs. 1 Satz 2 WRegV).
type Bidder struct {
	ID          int64    `json:"id"`
	ProcedureID int64    `json:"procedureId"`
	Name        string   `json:"name"`
	Consortium  bool     `json:"consortium"`
	Members     []Member `json:"members"`
}

// Member is one company of a bidder.
type Member struct {
	ID       int64   `json:"id"`
	BidderID int64   `json:"bidderId"`
	Company  Company `json:"company"`
}

// Channel is how a query is made (§5 Abs. 1 WRegV: only these two).
type Channel string

const (
	ChannelPortal    Channel = "portal"    // the clerk in the web portal (§1 Abs. 3 Nr. 1 WRegV)
	ChannelInterface Channel = "interface" // the official interface (§1 Abs. 3 Nr. 2, §3 WRegV)
)

// QueryState is where a query stands.
type QueryState string

const (
	QueryPrepared QueryState = "prepared" // portal: sheet made, the clerk queries
	QueryToSend   QueryState = "to_send"  // interface: not yet accepted by the register
	QueryPending  QueryState = "pending"  // interface: accepted, answer awaited (polled)
	QueryAnswered QueryState = "answered"
	QueryRefused  QueryState = "refused" // the register refused it (permanent)
)

// Confirmation is the declaration §5 Abs. 2 WRegV requires with every
// query: the legal conditions are met, and only staff involved in the
// award will see the answer.
type Confirmation struct {
	ConditionsMet     bool   `json:"conditionsMet"`
	OnlyInvolvedStaff bool   `json:"onlyInvolvedStaff"`
	By                string `json:"by"`
}

// ConfirmationText is the German wording recorded with every query.
const ConfirmationText = "Die rechtlichen Voraussetzungen für die Abfrage liegen vor (§ 6 WRegG, § 5 Abs. 2 WRegV); " +
	"die Auskunft wird nur den mit dem Vergabeverfahren befassten Beschäftigten zugänglich gemacht."

// Query is one query about one member.
type Query struct {
	ID           int64        `json:"id"`
	ProcedureID  int64        `json:"procedureId"`
	MemberID     int64        `json:"memberId"`
	Channel      Channel      `json:"channel"`
	State        QueryState   `json:"state"`
	Purpose      string       `json:"purpose"` // "award" or "voluntary"
	Confirmation Confirmation `json:"confirmation"`
	RequestedBy  string       `json:"requestedBy"`
	RequestedAt  time.Time    `json:"requestedAt"`
	// Ref is the register's reference for an interface query.
	Ref           string    `json:"ref,omitempty"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	AnswerID      int64     `json:"answerId,omitempty"`
	// Lease fences the worker that polls an interface query.
	LeaseOwner string    `json:"-"`
	LeaseUntil time.Time `json:"-"`
	LeaseToken int64     `json:"-"`
}

// Answer is an answer (Auskunft) of the register about one company. Its
// document is personal data about offences: only the procurement role
// reads it, it never appears in a log, and it is deleted after the
// retention period (Content empty, DeletedAt set; the hash stays).
type Answer struct {
	ID          int64     `json:"id"`
	QueryID     int64     `json:"queryId"`
	Company     Company   `json:"company"`
	HasEntries  bool      `json:"hasEntries"`
	Channel     Channel   `json:"channel"`
	ReceivedAt  time.Time `json:"receivedAt"`
	RecordedBy  string    `json:"recordedBy"`
	FileName    string    `json:"fileName"`
	ContentType string    `json:"contentType"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	DeletedAt   time.Time `json:"deletedAt,omitzero"`
}

// Reliance is which answer a procedure relies on for a member: its own
// query's, or an earlier one reused (§6 Abs. 1 Satz 5 WRegG), confirmed by
// a clerk.
type Reliance struct {
	ProcedureID int64     `json:"procedureId"`
	MemberID    int64     `json:"memberId"`
	AnswerID    int64     `json:"answerId"`
	Reused      bool      `json:"reused"`
	ConfirmedBy string    `json:"confirmedBy"`
	At          time.Time `json:"at"`
}

// Exclusion is the outcome of considering the exclusion grounds.
type Exclusion string

const (
	ExclusionNone      Exclusion = "none"      // kein Ausschluss
	ExclusionMandatory Exclusion = "mandatory" // zwingender Ausschluss, § 123 GWB
	ExclusionOptional  Exclusion = "optional"  // fakultativer Ausschluss, § 124 GWB
)

// Assessment is the recorded consideration of an answer with entries:
// exclusion under §§ 123/124 GWB considered, self-cleaning (§ 125 GWB)
// noted, by a named person.
type Assessment struct {
	ID           int64     `json:"id"`
	ProcedureID  int64     `json:"procedureId"`
	AnswerID     int64     `json:"answerId"`
	Person       string    `json:"person"`
	Exclusion    Exclusion `json:"exclusion"`
	SelfCleaning string    `json:"selfCleaning"` // Selbstreinigung nach § 125 GWB
	Note         string    `json:"note,omitempty"`
	At           time.Time `json:"at"`
}

// ValidUntil is the last German calendar day on which an answer received
// at t may be relied on: two months (§6 Abs. 1 Satz 5 WRegG), counted by
// §§ 187 Abs. 1, 188 Abs. 2 and 3 BGB — the day of the second month with
// the receipt day's number, or that month's last day when it has none.
func ValidUntil(t time.Time) time.Time {
	t = t.In(berlin)
	y, m, d := t.Date()
	first := time.Date(y, m+2, 1, 0, 0, 0, 0, berlin)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, berlin)
}

// Usable reports whether an answer received at t may be relied on at now.
func Usable(t, now time.Time) bool {
	n := now.In(berlin)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, berlin)
	return !today.After(ValidUntil(t))
}

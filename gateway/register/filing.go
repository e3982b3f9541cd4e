package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// FilingMessageID is the intake idempotency key of a filing: an answer is
// filed once per procedure relying on it, a sheet once.
func FilingMessageID(f Filing) string {
	if f.Kind == FilingSheet {
		return "wettbewerbsregister-abfrage-" + strconv.FormatInt(f.FileID, 10)
	}
	return "wettbewerbsregister-auskunft-" + strconv.FormatInt(f.AnswerID, 10) + "-verfahren-" + strconv.FormatInt(f.ProcedureID, 10)
}

// Filer hands answers and query sheets to the eAkte intake through the
// mailbox intake sinks (mailbox.Intake), like any received message: the
// procedure number as the recipient's case number (Aktenzeichen), the
// company in the subject and in wettbewerbsregister.json. A filing is
// queued in the transaction that stored its document, so none is lost;
// the sink is idempotent on the MessageId, so a repeated hand-over after
// a crash makes no second entry. A failed hand-over is retried forever
// with Policy (default mailbox.DefaultIntakePolicy).
type Filer struct {
	Register *Register
	Sink     mailbox.Intake
	// Mailbox is the configured mailbox whose intake receives the entries
	// (IntakeMetadata.Mailbox).
	Mailbox string
	Policy  mailbox.RetryPolicy
	Owner   string
	Lease   time.Duration // default 10 minutes
	Batch   int           // default 8
	Rand    io.Reader
}

// RunOnce hands over one batch of due filings and returns how many it
// handled.
func (f *Filer) RunOnce(ctx context.Context) (int, error) {
	if f.Policy.Initial == 0 {
		f.Policy = mailbox.DefaultIntakePolicy()
	}
	if f.Lease == 0 {
		f.Lease = 10 * time.Minute
	}
	if f.Batch == 0 {
		f.Batch = 8
	}
	if f.Owner == "" {
		f.Owner = "register-filer"
	}
	r := f.Register
	return runBatch(ctx, func() ([]Filing, error) { return r.Store.ClaimFilings(ctx, r.now(), f.Owner, f.Lease, f.Batch) }, f.file)
}

// file hands one filing over; only a store error is returned.
func (f *Filer) file(ctx context.Context, fl Filing) error {
	r := f.Register
	im, err := f.build(ctx, fl)
	var rec mailbox.IntakeRecord
	if err == nil {
		rec, err = f.Sink.Deliver(ctx, im)
	}
	now := r.now()
	if err != nil {
		fl.NextAttemptAt, fl.LastError = now.Add(f.Policy.Delay(fl.Attempts, f.Rand)), err.Error()
		r.Logger.Warn("register filing failed; retried", zap.Int64("filingId", fl.ID), zap.Int("attempts", fl.Attempts), zap.Error(err))
		return ignoreLost(r.Store.FinishFiling(ctx, fl, nil, nil))
	}
	err = r.Store.FinishFiling(ctx, fl, &rec, &Entry{At: now, ProcedureID: fl.ProcedureID, Kind: "filed", Actor: f.Owner,
		Detail: map[string]string{"filing": strconv.FormatInt(fl.ID, 10), "kind": string(fl.Kind), "messageId": fl.MessageID,
			"sink": rec.Sink, "location": rec.Location, "manifestSha256": rec.ManifestSHA256}})
	if err == nil {
		r.Logger.Info("register document filed", zap.Int64("filingId", fl.ID), zap.String("kind", string(fl.Kind)), zap.String("sink", rec.Sink))
	}
	return ignoreLost(err)
}

func ignoreLost(err error) error {
	if err != nil && isLost(err) {
		return nil
	}
	return err
}

// filingRecord is wettbewerbsregister.json, the structured metadata of an
// entry beside the document.
type filingRecord struct {
	Kind        string    `json:"kind"` // "auskunft" or "abfrage"
	Procedure   string    `json:"procedure"`
	Description string    `json:"description"`
	Publication string    `json:"publication,omitempty"`
	Company     Company   `json:"company"`
	QueryID     int64     `json:"queryId"`
	AnswerID    int64     `json:"answerId,omitempty"`
	Channel     Channel   `json:"channel"`
	HasEntries  *bool     `json:"hasEntries,omitempty"`
	Reused      bool      `json:"reused,omitempty"`
	ReceivedAt  time.Time `json:"receivedAt,omitzero"`
	ValidUntil  string    `json:"validUntil,omitempty"`
	SHA256      string    `json:"sha256"`
	Confirmed   string    `json:"confirmation,omitempty"`
	ConfirmedBy string    `json:"confirmedBy,omitempty"`
}

func (f *Filer) build(ctx context.Context, fl Filing) (*mailbox.IntakeMessage, error) {
	st := f.Register.Store
	p, b, err := procedureBidder(ctx, st, "", fl.ProcedureID)
	if err != nil {
		return nil, err
	}
	var doc StoredFile
	var rec filingRecord
	var q Query
	var at time.Time
	subject := ""
	switch fl.Kind {
	case FilingSheet:
		if doc, err = st.File(ctx, fl.FileID); err != nil {
			return nil, err
		}
		if q, err = st.Query(ctx, fl.QueryID); err != nil {
			return nil, err
		}
		at = q.RequestedAt
		rec = filingRecord{Kind: "abfrage", Confirmed: ConfirmationText, ConfirmedBy: q.Confirmation.By}
		subject = "Wettbewerbsregister: Abfragebogen"
	default:
		a, err := st.Answer(ctx, fl.AnswerID)
		if err != nil {
			return nil, err
		}
		data, err := st.AnswerContent(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if q, err = st.Query(ctx, a.QueryID); err != nil {
			return nil, err
		}
		doc = StoredFile{Name: a.FileName, ContentType: a.ContentType, Data: data, SHA256: a.SHA256}
		at = a.ReceivedAt
		he := a.HasEntries
		rec = filingRecord{Kind: "auskunft", AnswerID: a.ID, Company: a.Company, HasEntries: &he, Reused: q.ProcedureID != p.ID,
			ReceivedAt: a.ReceivedAt, ValidUntil: ValidUntil(a.ReceivedAt).Format("2006-01-02")}
		subject = "Wettbewerbsregister: Auskunft"
	}
	company := rec.Company
	if m, ok := b.member(q.MemberID); ok {
		company = m.Company
	}
	rec.Procedure, rec.Description, rec.Publication, rec.Company = p.Number, p.Description, p.Publication, company
	rec.QueryID, rec.Channel, rec.SHA256 = q.ID, q.Channel, doc.SHA256
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	js = append(js, '\n')
	note := "Vom bebpo-gateway für das Vergabeverfahren abgelegt; die Auskunft stammt aus dem Wettbewerbsregister und wurde nicht als OSCI-Nachricht empfangen, daher ohne Signaturprüfung."
	md := mailbox.IntakeMetadata{Version: "1", MessageID: fl.MessageID, Mailbox: f.Mailbox,
		Sender:      mailbox.SenderIdentity{Claimed: mailbox.Party{Name: "Wettbewerbsregister", Organisation: "Bundeskartellamt"}},
		OSCISubject: "wettbewerbsregister-" + rec.Kind, UserSubject: subject + " zu " + company.Name + " – Vergabe " + p.Number,
		CaseNumberRecipient: p.Number, StoredAt: at.UTC().Format(time.RFC3339), VerificationStatus: checkresult.Indeterminate,
		Notes: mailbox.NoteList{note}}
	if fl.Kind == FilingSheet {
		md.Sender = mailbox.SenderIdentity{Claimed: mailbox.Party{Name: "Vergabestelle", Organisation: "bebpo-gateway"}}
	}
	files := []mailbox.IntakeFile{memFile(doc.Name, doc.ContentType, doc.Data, doc.SHA256), memFile("wettbewerbsregister.json", "application/json", js, hexSHA(js))}
	for _, x := range files {
		md.Documents = append(md.Documents, mailbox.DocumentMeta{FileName: x.FileName, OriginalName: x.OriginalName, Size: x.Size, SHA256: x.SHA256, ContentType: x.ContentType})
	}
	return &mailbox.IntakeMessage{Metadata: md, Documents: files,
		Report: mailbox.VerificationReport{CheckedAt: at.UTC(), Verdict: checkresult.Indeterminate, Notes: []string{note}}}, nil
}

func memFile(name, ct string, data []byte, sum string) mailbox.IntakeFile {
	return mailbox.IntakeFile{FileName: mailbox.SafeFileName(name), OriginalName: name, ContentType: ct, Size: int64(len(data)), SHA256: sum,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// isLost reports a lease that was taken over: the other worker goes on.
func isLost(err error) bool { return err != nil && errors.Is(err, ErrLeaseLost) }

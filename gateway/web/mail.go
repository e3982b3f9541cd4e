package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/evidence"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// row is one message of a list with what the filters look at.
type row struct {
	ID                   int64
	State                string
	Subject              string
	Party                string // sender (in) or recipient (out)
	Court                string
	CaseOurs, CaseTheirs string
	EEB                  bool
	At                   time.Time
}

// listQuery is a list's search form.
type listQuery struct {
	Text, Sender, Court, Case, From, To, State string
	EEB                                        bool
}

type listData struct {
	Mailbox   Mailbox
	Direction string
	Q         listQuery
	Rows      []row
	States    []string
	Truncated bool
	Scanned   int
}

// inStates and outStates are the states a list's filter offers.
var (
	inStates  = []string{"received", "quarantined", "intake_pending", "delivered", "held", "deleted"}
	outStates = []string{"queued", "id_assigned", "sending", "sent", "confirmed", "failed", "held", "deleted"}
)

// list shows a mailbox's incoming or outgoing messages, newest first,
// filtered by the search form.
func (a *App) list(dir string) handler {
	return func(w http.ResponseWriter, r *http.Request, u User) error {
		mb, ok := a.mailboxInScope(u, r.PathValue("mailbox"))
		if !ok {
			return errNotFound
		}
		v := r.URL.Query()
		q := listQuery{Text: v.Get("suche"), Sender: v.Get("absender"), Court: v.Get("gericht"), Case: v.Get("aktenzeichen"),
			From: v.Get("von"), To: v.Get("bis"), State: v.Get("zustand"), EEB: v.Get("eeb") == "ja"}
		d := listData{Mailbox: mb, Direction: dir, Q: q, States: inStates}
		if dir == "out" {
			d.States = outStates
		}
		if q.State != "" && !slices.Contains(d.States, q.State) {
			q.State, d.Q.State = "", ""
		}
		rows, scanned, err := a.scan(r.Context(), mb.Name, mailbox.Direction(dir), q)
		if err != nil {
			return err
		}
		d.Scanned = scanned
		if len(rows) > a.lim.PageSize {
			rows, d.Truncated = rows[:a.lim.PageSize], true
		}
		d.Rows = rows
		title := "Posteingang " + mb.Name
		if dir == "out" {
			title = "Postausgang " + mb.Name
		}
		a.render(w, r, u, http.StatusOK, "list", title, d)
		return nil
	}
}

// scan reads up to MaxListScan messages of one mailbox and direction
// and returns those q matches, newest first.
func (a *App) scan(ctx context.Context, mb string, dir mailbox.Direction, q listQuery) ([]row, int, error) {
	f := mailbox.Filter{Mailbox: mb, Direction: dir, Limit: 500}
	if q.State != "" {
		f.States = []mailbox.State{mailbox.State(q.State)}
	}
	var all []mailbox.Message
	for len(all) < a.lim.MaxListScan {
		ms, err := a.c.Store.List(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		all = append(all, ms...)
		if len(ms) < f.Limit {
			break
		}
		f.AfterID = ms[len(ms)-1].ID
	}
	// The store lists oldest first; past the limit the newest are kept.
	if len(all) > a.lim.MaxListScan {
		all = all[len(all)-a.lim.MaxListScan:]
	}
	var rows []row
	for i := len(all) - 1; i >= 0; i-- {
		rw := a.rowOf(all[i])
		if q.matches(rw) {
			rows = append(rows, rw)
		}
	}
	return rows, len(all), nil
}

// rowOf reads what the list shows from a message and its metadata.
func (a *App) rowOf(m mailbox.Message) row {
	rw := row{ID: m.ID, State: string(m.State), Subject: m.Subject, At: m.CreatedAt}
	if m.Direction == mailbox.In {
		var meta mailbox.IncomingMeta
		_ = json.Unmarshal(m.Meta, &meta)
		rw.Party = senderName(meta.Sender, m.Sender)
		rw.CaseOurs, rw.CaseTheirs, rw.EEB = meta.CaseNumberRecipient, meta.CaseNumberSender, meta.EEBRequested
		if rw.Subject == "" {
			rw.Subject = meta.UserSubject
		}
		return rw
	}
	var meta submit.OutgoingMeta
	_ = json.Unmarshal(m.Meta, &meta)
	rw.Party = m.Recipient
	if rec, err := a.c.Book.Get(m.Recipient); err == nil {
		rw.Party = rec.Name
		rw.Court = strings.TrimSpace(rec.CourtName + " " + rec.CourtCode)
	}
	if rw.Court == "" {
		rw.Court = meta.CourtCode
	}
	rw.CaseOurs, rw.CaseTheirs, rw.EEB = meta.CaseNumberSender, meta.CaseNumberRecipient, meta.EEBRequested
	return rw
}

// senderName is who sent a received message as the list shows it: the
// business card's organisation or name, else the certificate's subject,
// else the SAFE-ID (the message page tells claimed and confirmed apart).
func senderName(s mailbox.SenderIdentity, safeID string) string {
	for _, n := range []string{s.Claimed.Organisation, s.Claimed.Name, s.Confirmed.Certificate, safeID} {
		if n != "" {
			return n
		}
	}
	return ""
}

func fold(s string) string {
	return strings.NewReplacer("ä", "a", "ö", "o", "ü", "u", "ß", "ss", "ae", "a", "oe", "o", "ue", "u").Replace(strings.ToLower(s))
}

func contains(hay, needle string) bool {
	return needle == "" || strings.Contains(fold(hay), fold(needle))
}

func (q listQuery) matches(r row) bool {
	if q.EEB && !r.EEB {
		return false
	}
	if q.From != "" {
		if d, err := time.ParseInLocation("2006-01-02", q.From, api.Berlin); err == nil && r.At.Before(d) {
			return false
		}
	}
	if q.To != "" {
		if d, err := time.ParseInLocation("2006-01-02", q.To, api.Berlin); err == nil && !r.At.Before(d.AddDate(0, 0, 1)) {
			return false
		}
	}
	all := r.Subject + " " + r.Party + " " + r.Court + " " + r.CaseOurs + " " + r.CaseTheirs + " " + strconv.FormatInt(r.ID, 10)
	return contains(r.Party, q.Sender) && contains(r.Court+" "+r.Party, q.Court) &&
		contains(r.CaseOurs+" "+r.CaseTheirs, q.Case) && contains(all, q.Text)
}

// messageData is what the message page shows.
type messageData struct {
	M          api.MessageView
	Row        row
	Mailbox    Mailbox
	Incoming   *mailbox.IncomingMeta
	Final      bool
	Quarantine bool
	Reason     string
	Evidence   bool
	Today      string
}

func (a *App) messagePage(w http.ResponseWriter, r *http.Request, u User) error {
	m, err := a.message(r, u)
	if err != nil {
		return err
	}
	id := m.ID
	v, err := api.Detail(r.Context(), a.c.Store, id)
	if err != nil {
		return err
	}
	if a.c.EEB != nil {
		if err := api.AttachEEB(r.Context(), &v, a.c.EEB.Tasks()); err != nil {
			return err
		}
	}
	mb, _ := a.mailboxInScope(u, m.Mailbox)
	d := messageData{M: v, Row: a.rowOf(m), Mailbox: mb, Final: mailbox.IsFinal(m.State) && m.State != mailbox.StateQuarantined,
		Quarantine: m.State == mailbox.StateQuarantined, Evidence: m.Direction == mailbox.Out,
		Today: a.c.Now().In(api.Berlin).Format("2006-01-02")}
	if m.Direction == mailbox.In {
		var meta mailbox.IncomingMeta
		if json.Unmarshal(m.Meta, &meta) == nil {
			d.Incoming = &meta
		}
	}
	if d.Quarantine {
		d.Reason = quarantineReason(m)
	}
	title := "Nachricht " + strconv.FormatInt(id, 10)
	if m.Subject != "" {
		title = m.Subject
	}
	a.render(w, r, u, http.StatusOK, "message", title, d)
	return nil
}

// StateView is what the message page's script polls.
type StateView struct {
	State string `json:"state"`
	Label string `json:"label"`
	Final bool   `json:"final"`
}

func (a *App) messageState(w http.ResponseWriter, r *http.Request, u User) error {
	m, err := a.message(r, u)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(StateView{State: string(m.State), Label: stateLabel(string(m.State)), Final: mailbox.IsFinal(m.State)})
}

// document sends one document, re-hashed while it is sent (cut off when
// the stored file no longer matches), and journals the download.
func (a *App) document(w http.ResponseWriter, r *http.Request, u User) error {
	m, err := a.message(r, u)
	if err != nil {
		return err
	}
	id := m.ID
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 || n >= len(m.Documents) {
		return errNotFound
	}
	doc := m.Documents[n]
	if !doc.PurgedAt.IsZero() {
		return errStatus(http.StatusGone, "Der Inhalt dieses Dokuments wurde nach Ablauf der Aufbewahrungsfrist am "+mailbox.LocalTime(doc.PurgedAt)+" gelöscht.")
	}
	body, err := a.c.Blobs.Open(doc.SHA256)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := a.journal(r, u, id, http.StatusOK); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(doc.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": mailbox.SafeFileName(doc.Name)}))
	w.WriteHeader(http.StatusOK)
	hash := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, hash), body); err != nil || hex.EncodeToString(hash.Sum(nil)) != doc.SHA256 {
		panic(http.ErrAbortHandler)
	}
	return nil
}

// standaloneCSP is the policy of the Prüfprotokoll and the proof of
// filing: documents of their own with inline styles, no script at all,
// sandboxed.
const standaloneCSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

// report shows the Prüfprotokoll of a received message as the intake
// gets it (mailbox.RenderReportHTML).
func (a *App) report(w http.ResponseWriter, r *http.Request, u User) error {
	m, err := a.messageOf(r, u, mailbox.In)
	if err != nil {
		return err
	}
	id := m.ID
	var meta mailbox.IncomingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil {
		return err
	}
	card, err := a.c.Store.ProcessCard(r.Context(), id)
	if err != nil && !errors.Is(err, mailbox.ErrNotFound) {
		return err
	}
	im, err := mailbox.BuildIntakeMessage(m, meta, card, a.c.Blobs)
	if err != nil {
		return err
	}
	page, err := mailbox.RenderReportHTML(im.Metadata, im.Report)
	return sendStandalone(w, page, err)
}

// sendStandalone sends page, a document of its own (the Prüfprotokoll,
// the proof of filing), under standaloneCSP; or returns err.
func sendStandalone(w http.ResponseWriter, page []byte, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", standaloneCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write(page)
	return err
}

// evidence sends the proof of filing (Nachweis) of a sent message.
func (a *App) evidence(w http.ResponseWriter, r *http.Request, u User) error {
	m, err := a.messageOf(r, u, mailbox.Out)
	if err != nil {
		return err
	}
	b, err := evidence.Build(r.Context(), api.EvidenceSources(a.c.Store, a.c.Blobs, a.c.EEB), m.ID, a.c.Now())
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") != "json" {
		page, err := b.HTML()
		return sendStandalone(w, page, err)
	}
	body, err := b.JSON()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="nachweis-`+strconv.FormatInt(m.ID, 10)+`.json"`)
	_, err = w.Write(body)
	return err
}

// quarantineReason says in German why a message is held.
func quarantineReason(m mailbox.Message) string {
	switch m.LastErrorCode {
	case "unreadable":
		return "Die Nachricht konnte nicht gelesen (entschlüsselt oder zerlegt) werden."
	case "verification_failed":
		return "Die Prüfung der Signaturen oder Zertifikate ist fehlgeschlagen."
	case "":
		return "Die Nachricht wurde zur Prüfung durch eine Person zurückgehalten."
	}
	return "Die Nachricht wurde zurückgehalten (" + m.LastErrorCode + ")."
}

type quarantineData struct {
	Rows []quarantineRow
}

type quarantineRow struct {
	Row     row
	Mailbox string
	Reason  string
}

// quarantine lists the quarantined messages of u's mailboxes.
func (a *App) quarantine(w http.ResponseWriter, r *http.Request, u User) error {
	var d quarantineData
	f := mailbox.Filter{Direction: mailbox.In, States: []mailbox.State{mailbox.StateQuarantined}, Limit: 500}
	ms, err := api.ListIn(r.Context(), a.c.Store, f, a.scope(u))
	if err != nil {
		return err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		d.Rows = append(d.Rows, quarantineRow{Row: a.rowOf(ms[i]), Mailbox: ms[i].Mailbox, Reason: quarantineReason(ms[i])})
	}
	a.render(w, r, u, http.StatusOK, "quarantine", "Quarantäne", d)
	return nil
}

// operate releases a quarantined message to the intake (the operator's
// requeue) or rejects it (delete), with the reason, journaled with the
// user as the store journals every operator action.
func (a *App) operate(what string) handler {
	return func(w http.ResponseWriter, r *http.Request, u User) error {
		m, err := a.message(r, u)
		if err != nil {
			return err
		}
		id := m.ID
		reason := strings.TrimSpace(r.PostFormValue("grund"))
		if reason == "" || len(reason) > 500 {
			return errStatus(http.StatusBadRequest, "Bitte geben Sie einen Grund an (höchstens 500 Zeichen).")
		}
		if m.State != mailbox.StateQuarantined {
			return errStatus(http.StatusConflict, "Die Nachricht ist nicht (mehr) in Quarantäne.")
		}
		op := mailbox.OpRequeue
		if what == "reject" {
			op = mailbox.OpDelete
		}
		if _, err := a.c.Store.Operate(r.Context(), mailbox.OperatorAction{ID: id, Op: op, Actor: u.Actor(), Reason: reason, Now: a.c.Now()}); err != nil {
			if errors.Is(err, mailbox.ErrBusy) || errors.Is(err, mailbox.ErrInvalidTransition) {
				return errStatus(http.StatusConflict, "Die Nachricht wird gerade bearbeitet oder hat ihren Zustand geändert. Bitte laden Sie die Seite neu.")
			}
			return err
		}
		http.Redirect(w, r, MessagePath(id)+"?"+url.Values{"erledigt": {what}}.Encode(), http.StatusSeeOther)
		return nil
	}
}

package web

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// sendData is the Senden form, filled in again after a refusal.
type sendData struct {
	Mailboxes  []Mailbox
	Recipients []addressbook.Recipient
	Form       sendForm
	Error      string
	Field      string
	Findings   ervb.Findings
	Candidates []addressbook.Recipient
	Nonce      string
	MaxFiles   int
	MaxBytes   string
}

type sendForm struct {
	Mailbox, To, Subject, CaseOurs, CaseTheirs string
	EEB                                        bool
}

func (a *App) sendData(u User) sendData {
	d := sendData{}
	for _, m := range a.c.Mailboxes {
		if u.InScope(m.Name) {
			d.Mailboxes = append(d.Mailboxes, m)
		}
	}
	for _, rec := range a.c.Book.List() {
		if rec.CourtCode != "" || rec.Name != "" {
			d.Recipients = append(d.Recipients, rec)
		}
	}
	lim := a.c.Submitter.Limits()
	d.MaxFiles, d.MaxBytes = lim.MaxFiles, humanSize(lim.MaxTotalBytes)
	return d
}

func (a *App) sendForm(w http.ResponseWriter, r *http.Request, u User) error {
	d := a.sendData(u)
	if len(d.Mailboxes) == 0 {
		return errStatus(http.StatusForbidden, "Ihnen ist kein Postfach zugewiesen, aus dem Sie senden dürfen.")
	}
	n, err := a.sessions.random()
	if err != nil {
		return err
	}
	d.Nonce, d.Form.Mailbox = n, d.Mailboxes[0].Name
	d.Form.To = r.URL.Query().Get("an")
	a.render(w, r, u, http.StatusOK, "send", "Senden", d)
	return nil
}

// maxTextPart bounds one text field of the send form.
const maxTextPart = 4 << 10

// send reads the multipart form as it streams: the CSRF token must be
// the first part, the text fields come next and the documents last (the
// form is laid out so), each streamed into the one submission path.
func (a *App) send(w http.ResponseWriter, r *http.Request, u User) error {
	lim := a.c.Submitter.Limits()
	mr, err := a.multipartForm(w, r, lim.MaxTotalBytes+lim.MaxMessageBytes+1<<20)
	if err != nil {
		return err
	}
	d := a.sendData(u)
	f := &d.Form
	draft := a.c.Submitter.Begin()
	defer draft.Abort()
	var nonce string
	checked := false
	var req submit.MessageRequest
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errStatus(http.StatusBadRequest, "Das Formular kam nicht vollständig an. Bitte senden Sie es erneut.")
		}
		if p.FormName() == "dokument" {
			if p.FileName() == "" {
				continue // an empty file input
			}
			if !checked {
				if req, err = a.sendRequest(u, f); err == nil {
					_, err = a.c.Submitter.Check(r.Context(), req)
				}
				if err != nil {
					return a.refuse(w, r, u, d, nonce, err)
				}
				checked = true
			}
			if err := draft.AddDocument(p.FileName(), p.Header.Get("Content-Type"), p); err != nil {
				return a.refuse(w, r, u, d, nonce, err)
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxTextPart+1))
		if err != nil || len(v) > maxTextPart {
			return errStatus(http.StatusBadRequest, "Ein Feld des Formulars ist zu lang.")
		}
		s := strings.TrimSpace(string(v))
		switch p.FormName() {
		case "postfach":
			f.Mailbox = s
		case "empfaenger":
			f.To = s
		case "betreff":
			f.Subject = s
		case "az_eigen":
			f.CaseOurs = s
		case "az_gericht":
			f.CaseTheirs = s
		case "eeb":
			f.EEB = s == "ja"
		case "sendung":
			nonce = s
		}
	}
	if !checked {
		if req, err = a.sendRequest(u, f); err != nil {
			return a.refuse(w, r, u, d, nonce, err)
		}
	}
	key := ""
	if nonce != "" && len(nonce) <= 64 && submit.CheckIdempotencyKey(nonce) == nil {
		key = "web:" + nonce
		if m, ok, err := a.c.Submitter.Lookup(r.Context(), key); err != nil {
			return err
		} else if ok {
			http.Redirect(w, r, MessagePath(m.ID), http.StatusSeeOther)
			return nil
		}
	}
	acc, err := draft.Commit(r.Context(), req, key)
	if err != nil {
		return a.refuse(w, r, u, d, nonce, err)
	}
	target := MessagePath(acc.Message.ID) + "?gesendet=1"
	if len(acc.Warnings) > 0 {
		target += "&hinweise=" + strconv.Itoa(len(acc.Warnings))
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// multipartForm opens a multipart form of at most limit bytes whose
// first part must be the session's CSRF token (the forms are laid out
// so, letting the rest stream); anything else is errCSRF.
func (a *App) multipartForm(w http.ResponseWriter, r *http.Request, limit int64) (*multipart.Reader, error) {
	_, want, _ := a.sessions.current(r)
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, errCSRF
	}
	first, err := mr.NextPart()
	if err != nil || first.FormName() != csrfField {
		return nil, errCSRF
	}
	b, err := io.ReadAll(io.LimitReader(first, 256))
	if err != nil || want == "" || string(b) != want {
		return nil, errCSRF
	}
	return mr, nil
}

// sendRequest builds the submission from the form: the recipient is a
// SAFE-ID, a court code or text that finds exactly one address book entry.
func (a *App) sendRequest(u User, f *sendForm) (submit.MessageRequest, error) {
	if _, ok := a.mailboxInScope(u, f.Mailbox); !ok {
		return submit.MessageRequest{}, field.Errorf(submit.ErrUnknownMailbox, "mailbox", "not in scope")
	}
	req := submit.MessageRequest{Mailbox: f.Mailbox, Subject: f.Subject, CaseNumberSender: f.CaseOurs,
		CaseNumberRecipient: f.CaseTheirs, EEBRequested: f.EEB}
	to := f.To
	if i := strings.LastIndex(to, "–"); i >= 0 { // "Amtsgericht Köln (F1100) – SAFE-ID" from the list
		to = strings.TrimSpace(to[i+len("–"):])
	}
	if _, err := a.c.Book.Get(to); err == nil {
		req.To = to
		return req, nil
	}
	if len(a.c.Book.ByCourt(strings.ToUpper(to))) > 0 {
		req.Court = strings.ToUpper(to)
		return req, nil
	}
	switch found := a.c.Book.Lookup(to); {
	case to == "":
		return req, &recipientError{}
	case len(found) == 1:
		req.To = found[0].SafeID
	default:
		return req, &recipientError{found}
	}
	return req, nil
}

// recipientError is a recipient the form's text does not name exactly.
type recipientError struct{ candidates []addressbook.Recipient }

func (e *recipientError) Error() string {
	return fmt.Sprintf("web: recipient names %d address book entries", len(e.candidates))
}

// refuse shows the form again with the reason in German.
func (a *App) refuse(w http.ResponseWriter, r *http.Request, u User, d sendData, nonce string, err error) error {
	d.Nonce = nonce
	if d.Nonce == "" {
		n, rerr := a.sessions.random()
		if rerr != nil {
			return rerr
		}
		d.Nonce = n
	}
	var pe *submit.PreflightError
	var re *recipientError
	var fe *field.Error
	switch {
	case errors.As(err, &pe):
		d.Error, d.Findings = "Die Dokumente erfüllen die Regeln für den elektronischen Rechtsverkehr (ERVB) nicht. Bitte beheben Sie die folgenden Punkte und wählen Sie die Dateien erneut aus.", pe.Findings
		d.Field = "dokumente"
	case errors.As(err, &re):
		d.Field, d.Candidates = "empfaenger", re.candidates
		d.Error = "Bitte wählen Sie den Empfänger aus dem Verzeichnis (Name, Gerichtscode oder SAFE-ID)."
		if len(re.candidates) > 1 {
			d.Error = "Der Empfänger ist nicht eindeutig. Bitte wählen Sie einen der gefundenen Einträge."
		}
	case errors.Is(err, submit.ErrUnknownRecipient):
		d.Field, d.Error = "empfaenger", "Der Empfänger steht nicht im Verzeichnis."
	case errors.Is(err, submit.ErrAmbiguousRecipient):
		d.Field, d.Error = "empfaenger", "Unter diesem Gerichtscode stehen mehrere Einträge im Verzeichnis; bitte wählen Sie einen aus der Liste."
	case errors.Is(err, submit.ErrUnknownMailbox):
		d.Field, d.Error = "postfach", "Aus diesem Postfach dürfen Sie nicht senden."
	case errors.Is(err, submit.ErrBadFileName):
		d.Field, d.Error = "dokumente", "Ein Dateiname verstößt gegen die ERVB-Regeln: erlaubt sind Buchstaben (auch Umlaute und ß), Ziffern, _ und -, ein Punkt vor der Endung, höchstens 90 Zeichen."
	case errors.Is(err, submit.ErrDuplicateFileName):
		d.Field, d.Error = "dokumente", "Zwei Dateien tragen denselben Namen."
	case errors.Is(err, submit.ErrTooManyFiles):
		d.Field, d.Error = "dokumente", fmt.Sprintf("Es dürfen höchstens %d Dateien sein.", d.MaxFiles)
	case errors.Is(err, submit.ErrMessageTooLarge):
		d.Field, d.Error = "dokumente", "Die Dateien sind zusammen größer als "+d.MaxBytes+"."
	case errors.Is(err, submit.ErrNoDocuments):
		d.Field, d.Error = "dokumente", "Bitte wählen Sie mindestens ein Dokument aus."
	case errors.As(err, &fe):
		d.Field = fe.Field
		d.Error = "Die Angaben wurden nicht angenommen. Bitte prüfen Sie das Feld „" + germanField(fe.Field) + "“."
	default:
		return err
	}
	a.render(w, r, u, http.StatusUnprocessableEntity, "send", "Senden", d)
	return nil
}

func germanField(f string) string {
	if g, ok := map[string]string{"subject": "Betreff", "caseNumberSender": "Eigenes Aktenzeichen", "caseNumberRecipient": "Aktenzeichen des Gerichts",
		"to": "Empfänger", "court": "Empfänger", "mailbox": "Postfach"}[f]; ok {
		return g
	}
	return f
}

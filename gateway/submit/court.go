package submit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// What a message carries besides its documents.
const (
	// RecordName is the XJustiz record's file name in a message.
	RecordName = ervb.RecordName
	// DefaultDocumentClass is the GDS.Dokumentklasse of documents whose
	// class the submitter does not give: 015, Schreiben.
	DefaultDocumentClass = "015"
	// maxRecordBytes bounds a record the submitter brings.
	maxRecordBytes = 4 << 20
)

// Refusals of the court rules.
var (
	// ErrNoRecord: an eEB is asked for only in an XJustiz record.
	ErrNoRecord = errors.New("submit: an eEB needs an XJustiz record")
	// ErrRecord: the XJustiz record the submitter brought is not valid.
	ErrRecord = errors.New("submit: XJustiz record refused")
	// ErrPreflight: the ERVB pre-flight refused documents
	// (*PreflightError carries every finding).
	ErrPreflight = errors.New("submit: documents refused by the ERVB pre-flight")
)

// PreflightError carries the ERVB pre-flight's findings of a refused
// message: every error and warning, each naming file and rule.
type PreflightError struct {
	Findings ervb.Findings
}

func (e *PreflightError) Error() string {
	errs := e.Findings.Errors()
	msgs := make([]string, len(errs))
	for i, f := range errs {
		msgs[i] = f.String()
	}
	return fmt.Sprintf("%v: %s", ErrPreflight, strings.Join(msgs, "; "))
}

func (e *PreflightError) Unwrap() []error { return []error{ErrPreflight, ervb.ErrRefused} }

// courtRecord gives a message to a court its XJustiz record: one the
// submitter brought (xjustiz_nachricht.xml among the documents) is
// validated; otherwise one is built for a recipient whose address book
// entry names a court, and the documents take the names the record gives
// them (each carries its UUID). Either way the record's message id is
// pinned for the eEB answer. An eEB without a record is refused: EGVP
// carries the request only there. It reports whether the message carries
// a record, i.e. goes to a court.
func (d *Draft) courtRecord(ctx context.Context, r *resolved, req MessageRequest) (bool, error) {
	idx := -1
	for i, doc := range d.docs {
		if mailbox.FileNameKey(doc.Name) == mailbox.FileNameKey(RecordName) {
			idx = i
		}
	}
	switch {
	case idx >= 0:
		data, err := d.read(idx, maxRecordBytes)
		if err != nil {
			return false, err
		}
		docField := fmt.Sprintf("document[%d]", idx)
		rec, err := d.s.codec.Read(data)
		if err == nil {
			err = rec.Validation
		}
		if err != nil {
			fe := field.Errorf(ErrRecord, docField, "%s is not a valid XJustiz record: %v", RecordName, err)
			fe.Cause = err
			return false, fe
		}
		if req.EEBRequested && !rec.EEBRequested {
			return false, field.Errorf(ErrNoRecord, "message.eebRequested", "the XJustiz record does not ask for an eEB (ruecksendungEEB); set it there")
		}
		r.meta.XJustizMessageID, r.meta.EEBRequested = rec.MessageID, rec.EEBRequested
		return true, nil
	case r.court.Code != "":
		class := strings.TrimSpace(req.DocumentClass)
		if class == "" {
			class = DefaultDocumentClass
		}
		// A detached signature travels beside its document under the
		// name the record gives it; it is no document of its own.
		var docs []xjustiz.Document
		index := map[string]int{} // document name key -> index in docs
		sigOf := map[int]int{}    // d.docs index of a .p7s -> index in docs of its document
		for _, doc := range d.docs {
			if _, ok := mailbox.SignedDocumentName(doc.Name); !ok {
				index[mailbox.FileNameKey(doc.Name)] = len(docs)
				docs = append(docs, xjustiz.Document{Name: doc.Name, Class: class})
			}
		}
		for i, doc := range d.docs {
			if signed, ok := mailbox.SignedDocumentName(doc.Name); ok {
				j, found := index[mailbox.FileNameKey(signed)]
				if !found {
					return false, field.Errorf(ErrRecord, fmt.Sprintf("document[%d]", i), "%s is a signature of %s, which the message does not hold", doc.Name, signed)
				}
				docs[j].Signature, sigOf[i] = true, j
			}
		}
		sender := d.s.senders[r.mailbox]
		if sender == "" {
			sender = r.mailbox
		}
		built, err := d.s.codec.BuildSubmission(xjustiz.Submission{Court: xjustiz.Court{Code: r.court.Code, Name: r.court.Name},
			Sender: sender, CaseSender: req.CaseNumberSender, CaseRecipient: req.CaseNumberRecipient, Subject: req.Subject,
			Documents: docs, EEB: req.EEBRequested})
		if err != nil {
			fe := field.Errorf(ErrRecord, "message", "the XJustiz record for %s (%s) cannot be built: %v", r.court.Code, r.court.Name, err)
			fe.Cause = err
			return false, fe
		}
		d.given = map[string]string{}
		for i := range d.docs {
			given := d.docs[i].Name
			if j, isSig := sigOf[i]; isSig {
				d.docs[i].Name = built.Documents[j].SignatureName
			} else {
				d.docs[i].Name = built.Documents[index[mailbox.FileNameKey(given)]].FileName
			}
			d.given[d.docs[i].Name] = given
		}
		if err := d.AddDocument(RecordName, "application/xml", bytes.NewReader(built.Record)); err != nil {
			return false, err
		}
		r.meta.XJustizMessageID = built.MessageID
		return true, nil
	case req.EEBRequested:
		return false, field.Errorf(ErrNoRecord, "message.eebRequested", "an eEB (elektronisches Empfangsbekenntnis) is asked for in an XJustiz record: "+
			"send to a court from the address book (an entry with its court code), or add %s", RecordName)
	}
	return false, nil
}

// preflight runs the ERVB checks on every document as it will be sent:
// errors refuse the message with all findings (*PreflightError), warnings
// are returned for the submitter.
func (d *Draft) preflight(ctx context.Context) (ervb.Findings, error) {
	files := make([]ervb.File, len(d.docs))
	for i := range d.docs {
		files[i] = ervb.File{Name: d.docs[i].Name, Open: d.writers[i].Open}
	}
	fs, err := d.s.ervb.Check(ctx, files)
	if err != nil {
		return nil, err
	}
	if d.s.docsig != nil {
		v, err := d.s.docsig()
		if err != nil {
			return nil, err
		}
		sfs, err := d.s.ervb.CheckSignatures(ctx, v, files)
		if err != nil {
			return nil, err
		}
		fs = append(fs, sfs...)
	}
	// Findings name the files as the submitter named them, not by the
	// names the record gave them.
	for i := range fs {
		if given, ok := d.given[fs[i].File]; ok {
			fs[i].File = given
		}
	}
	if fs.Err() != nil {
		return nil, &PreflightError{Findings: fs}
	}
	return fs, nil
}

// read returns document i as streamed so far, at most max bytes.
func (d *Draft) read(i int, max int64) ([]byte, error) {
	rc, err := d.writers[i].Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, field.Errorf(ErrRecord, fmt.Sprintf("document[%d]", i), "%s is larger than %d bytes", RecordName, max)
	}
	return data, nil
}

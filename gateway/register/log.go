package register

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// LogEntry is one entry of the query log (Protokoll der Abfragen): who did
// what, when, for which procedure. Query entries carry the §5 Abs. 2
// WRegV confirmation and who gave it.
type LogEntry struct {
	Seq         int64             `json:"seq"`
	At          time.Time         `json:"at"`
	Kind        string            `json:"kind"`
	Actor       string            `json:"actor"`
	ProcedureID int64             `json:"procedureId,omitempty"`
	Procedure   string            `json:"procedure,omitempty"`
	Detail      map[string]string `json:"detail,omitempty"`
	Hash        string            `json:"hash"`
}

// Log returns the journal entries of one procedure (number), or of all
// when number is empty, oldest first.
func (r *Register) Log(ctx context.Context, number string) ([]LogEntry, error) {
	var want int64
	if number != "" {
		p, err := r.Store.Procedure(ctx, number)
		if err != nil {
			return nil, err
		}
		want = p.ID
	}
	names := map[int64]string{}
	var out []LogEntry
	for after := int64(0); ; {
		evs, err := r.Store.Events(ctx, after, 500)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			return out, nil
		}
		for _, e := range evs {
			after = e.Seq
			if want != 0 && e.MessageID != want {
				continue
			}
			le, err := logEntry(e)
			if err != nil {
				return nil, err
			}
			if le.ProcedureID != 0 {
				if _, ok := names[le.ProcedureID]; !ok {
					if p, err := r.Store.ProcedureByID(ctx, le.ProcedureID); err == nil {
						names[le.ProcedureID] = p.Number
					}
				}
				le.Procedure = names[le.ProcedureID]
			}
			out = append(out, le)
		}
	}
}

func logEntry(e mailbox.Event) (LogEntry, error) {
	d := map[string]string{}
	if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
		return LogEntry{}, fmt.Errorf("register: journal entry %d: %w", e.Seq, err)
	}
	actor := d["actor"]
	delete(d, "actor")
	return LogEntry{Seq: e.Seq, At: e.At, Kind: e.Kind, Actor: actor, ProcedureID: e.MessageID, Detail: d, Hash: e.Hash}, nil
}

// VerifyLog checks the journal's hash chain and its anchored head
// (mailbox.VerifyJournal).
func (r *Register) VerifyLog(ctx context.Context) (mailbox.JournalReport, error) {
	return mailbox.VerifyJournal(ctx, r.Store)
}

// QuerySheet is the portal-mode query sheet (Abfragebogen): every field the
// clerk enters in the register's web portal (§5 Abs. 2 WRegV), as a PDF.
func QuerySheet(p Procedure, b Bidder, m Member, q Query) []byte {
	c := m.Company
	lines := []string{
		"Abfrage " + fmt.Sprint(q.ID) + " – im Webportal des Wettbewerbsregisters einzugeben:",
		"",
		"1. Vergabeverfahren",
		"   Aktenzeichen/Vergabenummer: " + p.Number,
		"   Kurzbeschreibung: " + p.Description,
		"   Fundstelle der Bekanntmachung: " + dash(p.Publication),
		"   Geschätzter Auftragswert (netto): " + p.Value.String(),
		"   " + p.Decision.Reason,
		"",
		"2. Unternehmen (§ 3 Abs. 1 Nr. 4 WRegG)",
		"   Firma: " + c.Name,
		"   Rechtsform: " + dash(c.LegalForm),
		"   Gesetzliche Vertreter: " + dash(strings.Join(c.Representatives, "; ")),
		"   Vertretungsberechtigte Gesellschafter: " + dash(strings.Join(c.ManagingPartners, "; ")),
		"   Anschrift: " + c.Address,
		"   Registergericht: " + dash(c.RegistryCourt),
		"   Registernummer: " + dash(c.RegisterNumber),
		"   Ausländische Entsprechung: " + dash(c.ForeignRegister),
		"   USt-IdNr.: " + dash(c.VATID),
	}
	if b.Consortium {
		lines = append(lines, fmt.Sprintf("   Mitglied der Bietergemeinschaft „%s“ (je Mitglied eine Abfrage, § 5 Abs. 1 Satz 2 WRegV)", b.Name))
	}
	lines = append(lines, "",
		"3. Bestätigung (§ 5 Abs. 2 WRegV)",
		"   "+ConfirmationText,
		"   Bestätigt von: "+q.Confirmation.By+" am "+q.RequestedAt.In(berlin).Format("02.01.2006 15:04"),
		"",
		"Die Auskunft (PDF) danach dem Gateway übergeben:",
		fmt.Sprintf("   bebpo-gateway register answer --query %d [--entries] DATEI.pdf", q.ID))
	return TextPDF("Abfrage beim Wettbewerbsregister", lines)
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

package register

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Registration kinds (§2 WRegV).
const (
	RegistrationNew         = "registration" // Registrierungsantrag (form Reg-AG)
	RegistrationAdminChange = "admin_change" // Änderung der Nutzeradministratoren (§2 Abs. 4 WRegV)
)

// Administrator is one user administrator of the authority.
type Administrator struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Phone  string `json:"phone,omitempty"`
	SafeID string `json:"safeId,omitempty"`
}

// RegistrationForm is the content of the registration form, or of a
// change of the user administrators. The official form (Reg-AG) is the
// register authority's; this document carries its data for the beBPo
// message.
type RegistrationForm struct {
	Authority      string          `json:"authority"`      // Name der Behörde
	AuthorityKind  string          `json:"authorityKind"`  // e.g. "öffentlicher Auftraggeber nach § 99 Nr. 1 GWB"
	Address        string          `json:"address"`        // Anschrift
	Contact        string          `json:"contact"`        // Ansprechperson
	Administrators []Administrator `json:"administrators"` // Nutzeradministratoren
	Note           string          `json:"note,omitempty"`
}

func (f RegistrationForm) validate() error {
	errs := []error{field.Text("authority", f.Authority, 300, true), field.Text("authorityKind", f.AuthorityKind, 300, true),
		field.Text("address", f.Address, 500, true), field.Text("contact", f.Contact, 300, true), field.Text("note", f.Note, 2000, false)}
	if len(f.Administrators) == 0 {
		errs = append(errs, field.Errorf(nil, "administrators", "name at least one user administrator"))
	}
	for i, a := range f.Administrators {
		errs = append(errs, field.Text(fmt.Sprintf("administrators[%d].name", i), a.Name, 200, true),
			field.Text(fmt.Sprintf("administrators[%d].email", i), a.Email, 200, true))
	}
	if err := firstErr(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// FormPDF renders the form as a PDF.
func (f RegistrationForm) FormPDF(kind string) []byte {
	title := "Registrierung beim Wettbewerbsregister (§ 2 WRegV)"
	if kind == RegistrationAdminChange {
		title = "Änderung der Nutzeradministratoren (§ 2 Abs. 4 WRegV)"
	}
	lines := []string{"Behörde: " + f.Authority, "Art des Auftraggebers: " + f.AuthorityKind, "Anschrift: " + f.Address,
		"Ansprechperson: " + f.Contact, "", "Nutzeradministratoren:"}
	for i, a := range f.Administrators {
		lines = append(lines, fmt.Sprintf("  %d. %s, %s%s%s", i+1, a.Name, a.Email, prefixed(", Tel. ", a.Phone), prefixed(", SAFE-ID ", a.SafeID)))
	}
	if f.Note != "" {
		lines = append(lines, "", "Hinweis: "+f.Note)
	}
	return TextPDF(title, lines)
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// SubmitRegistration sends the form to the Bundeskartellamt through the
// normal sending path (sub, the one submission path): req names the
// mailbox and the register authority's SAFE-ID as recipient. The message
// id is recorded; RefreshRegistrations keeps its process card as proof.
// A repeat with the same key returns the first submission.
func (r *Register) SubmitRegistration(ctx context.Context, sub *submit.Submitter, req submit.MessageRequest, kind string, form RegistrationForm, key, actor string) (Registration, error) {
	if kind != RegistrationNew && kind != RegistrationAdminChange {
		return Registration{}, fmt.Errorf("%w: kind must be %s or %s", ErrInvalid, RegistrationNew, RegistrationAdminChange)
	}
	if err := form.validate(); err != nil {
		return Registration{}, err
	}
	if req.Subject == "" {
		req.Subject = map[string]string{RegistrationNew: "Registrierung Wettbewerbsregister", RegistrationAdminChange: "Wettbewerbsregister: Änderung der Nutzeradministratoren"}[kind]
	}
	doc := form.FormPDF(kind)
	name := map[string]string{RegistrationNew: "Registrierung_Wettbewerbsregister.pdf", RegistrationAdminChange: "Aenderung_Nutzeradministratoren.pdf"}[kind]
	d := sub.Begin()
	if err := d.AddDocument(name, "application/pdf", bytes.NewReader(doc)); err != nil {
		d.Abort()
		return Registration{}, err
	}
	acc, err := d.Commit(ctx, req, key)
	if err != nil {
		return Registration{}, err
	}
	now := r.now()
	reg := Registration{Kind: kind, MessageID: acc.Message.ID, SubmittedAt: now, SubmittedBy: actor, SHA256: hexSHA(doc)}
	if acc.Replayed {
		all, err := r.Store.Registrations(ctx)
		if err != nil {
			return Registration{}, err
		}
		for _, x := range all {
			if x.MessageID == acc.Message.ID {
				return x, nil
			}
		}
	}
	reg, err = r.Store.AddRegistration(ctx, reg, Entry{At: now, Kind: "registration_submitted", Actor: actor,
		Detail: map[string]string{"kind": kind, "message": strconv.FormatInt(acc.Message.ID, 10), "sha256": reg.SHA256}})
	if err != nil {
		return Registration{}, err
	}
	r.Logger.Info("register registration submitted", zap.String("kind", kind), zap.Int64("messageId", acc.Message.ID))
	return reg, nil
}

// RefreshRegistrations copies the process card (Laufzettel) of every
// submitted registration from the mailbox store once it shows the
// Reception, so the register keeps its proof of delivery. It returns how
// many it completed.
func (r *Register) RefreshRegistrations(ctx context.Context, mb mailbox.Store) (int, error) {
	all, err := r.Store.Registrations(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, reg := range all {
		if reg.ProcessCard != nil && !reg.ProcessCard.Reception.IsZero() {
			continue
		}
		card, err := mb.ProcessCard(ctx, reg.MessageID)
		if errors.Is(err, mailbox.ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if card.Reception.IsZero() && card.Creation.IsZero() {
			continue
		}
		reg.ProcessCard = &card
		var e *Entry
		if !card.Reception.IsZero() {
			e = &Entry{At: r.now(), Kind: "registration_received", Detail: map[string]string{"registration": strconv.FormatInt(reg.ID, 10),
				"message": strconv.FormatInt(reg.MessageID, 10), "reception": card.Reception.UTC().Format("2006-01-02T15:04:05Z")}}
			n++
		}
		if err := r.Store.UpdateRegistration(ctx, reg, e); err != nil {
			return n, err
		}
	}
	return n, nil
}

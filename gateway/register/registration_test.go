package register_test

import (
	"context"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestRegistrationGoesThroughTheSendingPathAndKeepsItsProcessCard(t *testing.T) {
	f := newFixture(t)
	e := apitest.NewEnvWithRecipient(t)
	ctx := context.Background()
	form := register.RegistrationForm{Authority: "Stadt Erkelenz", AuthorityKind: "öffentlicher Auftraggeber nach § 99 Nr. 1 GWB",
		Address: "Johannismarkt 17, 41812 Erkelenz", Contact: "Zentrale Vergabestelle",
		Administrators: []register.Administrator{{Name: "A. Admin", Email: "vergabe@erkelenz.de"}}}
	req := apitest.OKMessage()
	req.Subject = ""
	reg, err := f.reg.SubmitRegistration(ctx, e.Srv.Submitter(), req, register.RegistrationNew, form, "wreg-registration-1", "clerk")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Store.Get(ctx, reg.MessageID)
	if err != nil || m.State != mailbox.StateQueued || len(m.Documents) != 1 || m.Documents[0].Name != "Registrierung_Wettbewerbsregister.pdf" {
		t.Fatalf("queued message %+v %v", m, err)
	}
	again, err := f.reg.SubmitRegistration(ctx, e.Srv.Submitter(), req, register.RegistrationNew, form, "wreg-registration-1", "clerk")
	if err != nil || again.ID != reg.ID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	if n, err := f.reg.RefreshRegistrations(ctx, e.Store); err != nil || n != 0 {
		t.Fatalf("refresh before any card: %d %v", n, err)
	}
	rec := time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC)
	if err := e.Store.UpdateProcessCard(ctx, reg.MessageID, mailbox.ProcessCard{Creation: rec.Add(-time.Hour), Reception: rec}, rec); err != nil {
		t.Fatal(err)
	}
	if n, err := f.reg.RefreshRegistrations(ctx, e.Store); err != nil || n != 1 {
		t.Fatalf("refresh: %d %v", n, err)
	}
	all, _ := f.store.Registrations(ctx)
	if len(all) != 1 || all[0].ProcessCard == nil || !all[0].ProcessCard.Reception.Equal(rec) {
		t.Fatalf("registrations %+v", all)
	}
}

package web

import (
	"encoding/json"
	"html/template"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestEveryTemplateExecutesWithSampleData renders each page with data
// that fills every branch it has, so a template that refers to a field
// that does not exist fails here and not in front of a clerk.
func TestEveryTemplateExecutesWithSampleData(t *testing.T) {
	tpl, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 7, 51, 47, 0, time.UTC)
	user := User{Name: "anna", DisplayName: "Anna Schmidt", Roles: Roles, Mailboxes: []string{"*"}, Source: SourceLocal}
	sample := row{ID: 7, State: "confirmed", Subject: "Klage", Party: "Amtsgericht Köln", Court: "F1100", CaseOurs: "32-1", CaseTheirs: "12 C 3/26", EEB: true, At: at}
	task := eeb.Task{ID: 3, MessageID: 7, Mailbox: "stadt", CourtName: "Amtsgericht Köln", Subject: "Beschluss", ReceivedAt: at, State: eeb.StateOpen}
	msg := api.MessageView{ID: 7, Direction: "in", Mailbox: "stadt", State: "quarantined", Subject: "Klage", CreatedAt: at, OSCIMessageID: "m1",
		LastError:   &api.ErrorView{Code: "unreadable", Text: "kaputt"},
		Documents:   []api.DocumentView{{N: 0, Name: "a.pdf", Size: 2048}, {N: 1, Name: "b.pdf", PurgedAt: at}},
		ProcessCard: &api.ProcessCardView{Creation: at, Reception: at},
		Events:      []api.EventView{{Seq: 1, At: at, Kind: "received", Detail: json.RawMessage(`{}`)}},
		EEB:         &api.EEBView{Task: &task, Replies: []eeb.Reply{{ReceivedAt: at}}}}
	members := []memberRow{{Member: register.Member{ID: 1, Company: register.Company{Name: "Bau GmbH"}},
		Query:  &register.Query{State: register.QueryAnswered, RequestedAt: at},
		Answer: &register.Answer{ID: 4, HasEntries: true, ReceivedAt: at, Company: register.Company{Name: "Bau GmbH"}}}, {Member: register.Member{ID: 2}}}
	samples := map[string]any{
		"login": loginData{Next: "/", Name: "anna", Error: "Benutzername oder Passwort ist falsch.", Token: "t", Methods: []loginButton{{"Mit dem Dienstkonto anmelden", "/anmeldung/oidc/"}}},
		"error": map[string]any{"Status": 404, "Text": "Nicht gefunden"},
		"list": listData{Mailbox: Mailbox{Name: "stadt"}, Direction: "in", Q: listQuery{Text: "x", State: "delivered", EEB: true},
			Rows: []row{sample}, States: inStates, Truncated: true},
		"message": messageData{M: msg, Row: sample, Incoming: &mailbox.IncomingMeta{}, Quarantine: true, Reason: "kaputt", Evidence: true},
		"send": sendData{Mailboxes: []Mailbox{{Name: "stadt"}}, Recipients: []addressbook.Recipient{{Name: "AG Köln", CourtCode: "F1100", SafeID: "s"}},
			Form: sendForm{Mailbox: "stadt", EEB: true}, Error: "Fehler", Field: "dokumente", Nonce: "n",
			Findings:   ervb.Findings{{Severity: ervb.SeverityError, File: "a.docx", Message: "nicht zulässig"}},
			Candidates: []addressbook.Recipient{{Name: "AG", SafeID: "s"}}},
		"eeb": eebData{Available: true, Days: 3, Today: "2026-12-03", Rows: []eebRow{{Task: task, Age: "2 Tage", Urgency: "nah", UrgencyText: "Frist läuft ab", Deadline: at},
			{Task: eeb.Task{ID: 4, State: eeb.StateAnswering}, Urgency: "ueberschritten"}}},
		"quarantine": quarantineData{Rows: []quarantineRow{{Row: sample, Mailbox: "stadt", Reason: "kaputt"}}},
		"register":   []register.Procedure{{Number: "V-1", Description: "Bau", CreatedAt: at}},
		"procedure": procedureData{V: api.ProcedureView{Procedure: register.Procedure{Number: "V-1"}, Bidder: &register.Bidder{Name: "ARGE", Consortium: true},
			Assessed: []register.Assessment{{Person: "P", At: at, Exclusion: register.ExclusionNone}}},
			Members: members, Answers: []register.Answer{*members[0].Answer}, Error: "Fehler",
			Gate: &register.GateResult{MayProceed: false, Reason: "fehlt", Missing: []string{"Auskunft"}},
			Log:  []register.LogEntry{{At: at, Kind: "query", Actor: "user:anna"}}},
		"ops": opsData{Intermediaries: []intermediaries.View{{Name: "a", State: "ok"}, {Name: "b", State: "open", OpenUntil: at}, {Name: "c", State: "failing"}},
			Certificates: []certRow{{CertificateView{Use: "Signatur", Subject: "CN=x", NotAfter: at}, -1, true}},
			Directory:    []addressbook.ExpirySummary{{Intermediary: "a", Entries: 2, EarliestExpiry: at, ExpiringSoon: 1}},
			Counts:       []mailbox.StateCount{{Direction: mailbox.In, Mailbox: "stadt", State: mailbox.StateDelivered, N: 3}},
			Import:       &addressbook.ImportResult{Added: 1, DryRun: true, Changes: []addressbook.Change{{SafeID: "s", Action: "add"}, {SafeID: "t", Action: "update", Fields: []string{"name"}}}},
			ImportError:  "Fehler"},
		"extension": nil,
	}
	for _, name := range pageNames {
		data, ok := samples[name]
		if !ok {
			t.Errorf("no sample data for template %s", name)
			continue
		}
		v := view{Title: "Titel", User: user, SignedIn: true, CSRF: template.HTML(`<input type="hidden" name="csrf" value="x">`),
			Nav: []navItem{{"Posteingang", "/", true}}, Data: data, Body: "<p>Seite</p>"}
		rec := httptest.NewRecorder()
		tpl.execute(rec, 200, name, v, zap.NewNop())
		if rec.Code != 200 {
			t.Errorf("template %s: status %d: %s", name, rec.Code, rec.Body)
			continue
		}
		body := rec.Body.String()
		if !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, `<main id="inhalt"`) || !strings.Contains(body, "<h1>Titel</h1>") {
			t.Errorf("template %s lacks the layout's landmarks", name)
		}
	}
}

// TestFormsCarryTheCSRFTokenFirst checks every POST form of every
// template: the token must come before any other field, as the
// multipart handlers read it first.
func TestFormsCarryTheCSRFTokenFirst(t *testing.T) {
	for _, name := range append([]string{"layout"}, pageNames...) {
		b, err := templateFS.ReadFile("templates/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, form := range strings.Split(src, "<form")[1:] {
			if !strings.Contains(form[:strings.Index(form, ">")], `method="post"`) {
				continue
			}
			body := form[strings.Index(form, ">")+1:]
			first := len(body)
			for _, tag := range []string{"<input", "<select", "<textarea"} {
				if i := strings.Index(body, tag); i >= 0 && i < first {
					first = i
				}
			}
			tokenFirst := strings.HasPrefix(strings.TrimSpace(body), "{{$.CSRF}}") || strings.HasPrefix(strings.TrimSpace(body), "{{.CSRF}}") ||
				(first < len(body) && strings.HasPrefix(body[first:], `<input type="hidden" name="csrf"`))
			if !tokenFirst {
				t.Errorf("%s: a POST form without the CSRF token as its first field", name)
			}
		}
	}
}

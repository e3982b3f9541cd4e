package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
)

// The routes of the proof of filing, the eEB and the register, called
// through the validator by TestOpenAPIMatchesHandlers.

// exerciseEvidence: a bundle as JSON and as the German page, with the
// XJustiz record and the court's eEB answer; refusals of a received
// message, an unknown one and a bad format.
func exerciseEvidence(t *testing.T, h *harness, e *apitest.Env) {
	t.Helper()
	ours, acc := e.FileWithEEB(t)
	answer, err := e.Codec.BuildEEB(xjustiz.EEBAnswer{Court: xjustiz.Court{Name: "Stadt Erkelenz"}, Sender: "Amtsgericht Erkelenz",
		ForeignMessageID: ours.MessageID, Acknowledged: e.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	reply := e.ReceiveFromCourt(t, "court-eeb-1", answer.Record)

	path := fmt.Sprintf("/v1/messages/%d/evidence", acc.Message.ID)
	var b struct {
		Record *struct{ MessageID string } `json:"xjustiz"`
		EEB    []struct{ Result string }
	}
	if err := json.Unmarshal(h.expect(200, "GET", path, nil, nil), &b); err != nil || b.Record == nil || b.Record.MessageID != ours.MessageID ||
		len(b.EEB) != 1 || b.EEB[0].Result != "acknowledged" {
		t.Errorf("evidence: %+v %v", b, err)
	}
	h.expect(200, "GET", path+"?format=json", nil, nil)
	if page := h.expect(200, "GET", path+"?format=html", nil, nil); !bytes.Contains(page, []byte("<html")) {
		t.Errorf("evidence page: %.200s", page)
	}
	h.expect(400, "GET", path+"?format=pdf", nil, nil)
	h.expect(400, "GET", "/v1/messages/abc/evidence", nil, nil)
	h.expect(404, "GET", "/v1/messages/999999/evidence", nil, nil)
	h.expect(409, "GET", fmt.Sprintf("/v1/messages/%d/evidence", reply.ID), nil, nil)
	// The message shows the court's answer, and the answer the reply.
	h.expect(200, "GET", fmt.Sprintf("/v1/messages/%d", acc.Message.ID), nil, nil)
	h.expect(200, "GET", fmt.Sprintf("/v1/messages/%d", reply.ID), nil, nil)
}

// exerciseEEB: two courts' requests, listed, read, acknowledged and
// rejected, with the refusals; an answer naming no record of ours.
func exerciseEEB(t *testing.T, h *harness, e *apitest.Env) {
	t.Helper()
	first := e.ReceiveFromCourt(t, "court-1", e.CourtRequest(t).Record)
	e.ReceiveFromCourt(t, "court-2", e.CourtRequest(t).Record)

	var list api.TaskList
	h.expectJSON(200, "GET", "/v1/eeb/tasks", nil, &list)
	if len(list.Tasks) != 2 || list.Tasks[0].MessageID != first.ID {
		t.Fatalf("tasks: %+v", list)
	}
	h.expectJSON(200, "GET", "/v1/eeb/tasks?state=open,answering&mailbox="+apitest.Mailbox+"&limit=1", nil, &list)
	if len(list.Tasks) != 1 || list.Next == "" {
		t.Errorf("first page: %+v", list)
	}
	h.expect(200, "GET", list.Next, nil, nil)
	h.expect(400, "GET", "/v1/eeb/tasks?state=closed", nil, nil)
	h.expect(400, "GET", "/v1/eeb/tasks?limit=0", nil, nil)
	task := fmt.Sprintf("/v1/eeb/tasks/%d", list.Tasks[0].ID)
	other := fmt.Sprintf("/v1/eeb/tasks/%d", list.Tasks[0].ID+1)
	h.expect(200, "GET", task, nil, nil)
	h.expect(400, "GET", "/v1/eeb/tasks/abc", nil, nil)
	h.expect(404, "GET", "/v1/eeb/tasks/999", nil, nil)

	today := e.Clock.Now().In(berlin(t)).Format(time.DateOnly)
	h.expectJSON(400, "POST", task+"/acknowledge", api.AcknowledgeRequest{Date: "01.06.2026"}, nil)
	h.expectJSON(400, "POST", task+"/acknowledge", `{"date":"`+today+`","by":"x"}`, nil)
	h.expectJSON(404, "POST", "/v1/eeb/tasks/999/acknowledge", api.AcknowledgeRequest{Date: today}, nil)
	var answered eeb.Task
	h.expectJSON(200, "POST", task+"/acknowledge", api.AcknowledgeRequest{Date: today}, &answered)
	if answered.State != eeb.StateAnswered || answered.Answer == nil || answered.Answer.SentMessageID == 0 {
		t.Errorf("acknowledged: %+v", answered)
	}
	h.expectJSON(409, "POST", task+"/acknowledge", api.AcknowledgeRequest{Date: today}, nil)
	h.expectJSON(409, "POST", task+"/reject", api.RejectRequest{Code: "2"}, nil)
	h.expectJSON(400, "POST", other+"/reject", api.RejectRequest{Code: "7"}, nil)
	h.expectJSON(404, "POST", "/v1/eeb/tasks/999/reject", api.RejectRequest{Code: "2"}, nil)
	h.expectJSON(200, "POST", other+"/reject", api.RejectRequest{Code: "2", Reason: "Anlage K1 fehlt"}, &answered)
	if answered.Answer == nil || answered.Answer.RejectCode != "2" {
		t.Errorf("rejected: %+v", answered)
	}
	// The request shows its task.
	h.expect(200, "GET", fmt.Sprintf("/v1/messages/%d", first.ID), nil, nil)

	// A court's answer to a record we never sent.
	stray, err := e.Codec.BuildEEB(xjustiz.EEBAnswer{Court: xjustiz.Court{Name: "Stadt Erkelenz"}, Sender: "Amtsgericht Erkelenz",
		ForeignMessageID: "0b7f3e2a-0000-4000-8000-000000000000", Rejection: &xjustiz.Rejection{Code: xjustiz.RejectUnclear, Reason: "unklar"}})
	if err != nil {
		t.Fatal(err)
	}
	e.ReceiveFromCourt(t, "court-stray", stray.Record)
	var reps api.ReplyList
	h.expectJSON(200, "GET", "/v1/eeb/replies", nil, &reps)
	if len(reps.Replies) != 1 || reps.Replies[0].OurMessageID != 0 {
		t.Errorf("unmatched replies: %+v", reps)
	}
}

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// exerciseCourtSubmissions: a message to a court (by its code) whose
// "PDF" is text is refused with the pre-flight's findings; one with a
// link is accepted with a warning; an unknown court is refused.
func exerciseCourtSubmissions(t *testing.T, h *harness) {
	t.Helper()
	h.expectJSON(201, "POST", "/v1/addressbook", map[string]string{"safeId": "DE.Justiz.lg-berlin.1", "name": "LG Berlin",
		"courtCode": "F1100", "cipherCert": apitest.PKIPEM(t, "safe-cipher.pem")}, nil)
	msg := submit.MessageRequest{Court: "F1100", Subject: "Klage", CaseNumberSender: "32-12/26"}

	body, ct := apitest.MultipartBody(t, msg, apitest.Doc{Name: "Klage.pdf", Content: "kein PDF, nur Text"})
	var p api.Problem
	if err := json.Unmarshal(h.expect(422, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct}), &p); err != nil ||
		p.Field != "document" || len(p.Findings.Errors()) == 0 || p.Findings[0].Rule != ervb.RuleContentMismatch {
		t.Errorf("refused court submission: %+v %v", p, err)
	}

	body, ct = apitest.MultipartBody(t, msg, apitest.Doc{Name: "Klage.pdf", Content: string(certstest.Document(t, "uri_link.pdf"))})
	var acc api.SubmitResponse
	if err := json.Unmarshal(h.expect(202, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct}), &acc); err != nil ||
		len(acc.Warnings) == 0 || acc.Warnings[0].Severity != ervb.SeverityWarning {
		t.Errorf("court submission with a link: %+v %v", acc, err)
	}

	msg.Court = "X1"
	body, ct = apitest.MultipartBody(t, msg, apitest.Doc{Name: "Klage.pdf", Content: "x"})
	h.expect(422, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
}

// registerRoutes are a request to each register route, for the role and
// configuration refusals.
var registerRoutes = [][2]string{
	{"POST", "/v1/register/check"},
	{"GET", "/v1/register/procedures"},
	{"POST", "/v1/register/procedures"},
	{"GET", "/v1/register/procedures/VG-1"},
	{"PUT", "/v1/register/procedures/VG-1/bidder"},
	{"POST", "/v1/register/procedures/VG-1/queries"},
	{"GET", "/v1/register/procedures/VG-1/candidates"},
	{"POST", "/v1/register/procedures/VG-1/reuse"},
	{"POST", "/v1/register/procedures/VG-1/assessments"},
	{"GET", "/v1/register/procedures/VG-1/gate"},
	{"GET", "/v1/register/procedures/VG-1/log"},
	{"POST", "/v1/register/queries/1/answer?entries=false"},
	{"GET", "/v1/register/answers/1/document"},
	{"POST", "/v1/register/registrations"},
}

// exerciseRegister: the workflow of two procedures with the procurement
// token (the second reuses the first's answer), each refusal, and 403
// for a token without the role.
func exerciseRegister(t *testing.T, h *harness, e *apitest.Env) {
	t.Helper()
	vergabe := []string{"Authorization", "Bearer " + apitest.ProcurementToken}
	for _, r := range registerRoutes {
		h.expect(403, r[0], r[1], nil, nil)
	}
	h.expect(401, "GET", "/v1/register/procedures", nil, map[string]string{"Authorization": ""})

	var d register.Decision
	h.expectJSON(200, "POST", "/v1/register/check", api.CheckRequest{Value: "29999.99", Kind: "public", Date: "2026-03-10"}, &d, vergabe...)
	if d.Required {
		t.Errorf("check below the threshold: %+v", d)
	}
	h.expectJSON(400, "POST", "/v1/register/check", api.CheckRequest{Value: "30000", Kind: "federal"}, nil, vergabe...)
	h.expectJSON(400, "POST", "/v1/register/check", `{"value":"30000","kind":"public","vat":true}`, nil, vergabe...)
	h.expectJSON(200, "GET", "/v1/register/procedures", nil, nil, vergabe...)

	number, second := "VG 12/2026", "VG 13/2026"
	path, path2 := "/v1/register/procedures/"+url.PathEscape(number), "/v1/register/procedures/"+url.PathEscape(second)
	for _, n := range []string{number, second} {
		h.expectJSON(201, "POST", "/v1/register/procedures", api.CheckRequest{Number: n, Description: "Reinigung", Value: "80000", Kind: "public", Contract: "services"}, nil, vergabe...)
	}
	h.expectJSON(409, "POST", "/v1/register/procedures", api.CheckRequest{Number: number, Description: "Reinigung", Value: "80000", Kind: "public"}, nil, vergabe...)
	h.expectJSON(400, "POST", "/v1/register/procedures", api.CheckRequest{Number: "VG 14/2026", Value: "80000", Kind: "public"}, nil, vergabe...)
	h.expectJSON(200, "GET", "/v1/register/procedures", nil, nil, vergabe...)
	h.expectJSON(200, "GET", path, nil, nil, vergabe...)
	h.expectJSON(404, "GET", "/v1/register/procedures/VG-none", nil, nil, vergabe...)

	c := register.Company{Name: "Sauber GmbH", LegalForm: "GmbH", Representatives: []string{"Frau Sauber"}, Address: "Markt 1, 41812 Erkelenz",
		RegisterNumber: "HRB 1", RegistryCourt: "AG Mönchengladbach"}
	for _, p := range []string{path, path2} {
		h.expectJSON(201, "PUT", p+"/bidder", api.BidderRequest{Members: []register.Company{c}}, nil, vergabe...)
	}
	h.expectJSON(404, "PUT", "/v1/register/procedures/VG-none/bidder", api.BidderRequest{Members: []register.Company{c}}, nil, vergabe...)
	h.expectJSON(400, "PUT", path+"/bidder", api.BidderRequest{Members: []register.Company{{Name: "Ohne Register", Address: "Markt 2"}}}, nil, vergabe...)

	confirmed := register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true}
	h.expectJSON(400, "POST", path+"/queries", register.QueryRequest{Confirmation: register.Confirmation{ConditionsMet: true}}, nil, vergabe...)
	h.expectJSON(404, "POST", path+"/queries", register.QueryRequest{MemberIDs: []int64{999}, Confirmation: confirmed}, nil, vergabe...)
	var qs struct{ Queries []register.Query }
	h.expectJSON(201, "POST", path+"/queries", register.QueryRequest{Channel: register.ChannelPortal, Confirmation: confirmed}, &qs, vergabe...)
	if len(qs.Queries) != 1 {
		t.Fatalf("queries: %+v", qs)
	}
	answerPath := fmt.Sprintf("/v1/register/queries/%d/answer", qs.Queries[0].ID)
	pdf := map[string]string{"Content-Type": "application/pdf", vergabe[0]: vergabe[1]}
	h.expect(400, "POST", answerPath, bytes.NewReader([]byte("%PDF-1.4 Auskunft")), pdf)
	h.expect(400, "POST", "/v1/register/queries/abc/answer?entries=true", bytes.NewReader([]byte("%PDF-1.4 Auskunft")), pdf)
	h.expect(404, "POST", "/v1/register/queries/999/answer?entries=true", bytes.NewReader([]byte("%PDF-1.4 Auskunft")), pdf)
	var a register.Answer
	if err := json.Unmarshal(h.expect(201, "POST", answerPath+"?entries=true", bytes.NewReader([]byte("%PDF-1.4 Auskunft")), pdf), &a); err != nil || a.ID == 0 {
		t.Fatalf("answer: %+v %v", a, err)
	}
	h.expect(409, "POST", answerPath+"?entries=false", bytes.NewReader([]byte("%PDF-1.4 Auskunft")), pdf)
	docPath := fmt.Sprintf("/v1/register/answers/%d/document", a.ID)
	if got := h.expect(200, "GET", docPath, nil, map[string]string{vergabe[0]: vergabe[1]}); string(got) != "%PDF-1.4 Auskunft" {
		t.Errorf("answer document: %q", got)
	}
	h.expect(400, "GET", "/v1/register/answers/abc/document", nil, map[string]string{vergabe[0]: vergabe[1]})
	h.expect(404, "GET", "/v1/register/answers/999/document", nil, map[string]string{vergabe[0]: vergabe[1]})

	h.expectJSON(400, "POST", path+"/assessments", `{"answerId":1,"person":"Herr Prüfer","exclusion":"maybe","selfCleaning":"-"}`, nil, vergabe...)
	h.expectJSON(404, "POST", path+"/assessments", register.NewAssessment{AnswerID: 999, Person: "Herr Prüfer", Exclusion: register.ExclusionNone, SelfCleaning: "-"}, nil, vergabe...)
	h.expectJSON(201, "POST", path+"/assessments", register.NewAssessment{AnswerID: a.ID, Person: "Herr Prüfer", Exclusion: register.ExclusionNone,
		SelfCleaning: "nicht erforderlich", Note: "Eintragung getilgt"}, nil, vergabe...)
	var g register.GateResult
	h.expectJSON(200, "GET", path+"/gate", nil, &g, vergabe...)
	if !g.MayProceed {
		t.Errorf("gate after the assessment: %+v", g)
	}
	h.expectJSON(200, "GET", path2+"/gate", nil, &g, vergabe...)
	if g.MayProceed || len(g.Missing) == 0 {
		t.Errorf("gate without an answer: %+v", g)
	}
	h.expectJSON(404, "GET", "/v1/register/procedures/VG-none/gate", nil, nil, vergabe...)

	// The second procedure reuses the answer about the same company.
	var cands struct{ Candidates []register.Candidate }
	h.expectJSON(200, "GET", path2+"/candidates", nil, &cands, vergabe...)
	if len(cands.Candidates) != 1 || cands.Candidates[0].AnswerID != a.ID {
		t.Fatalf("candidates: %+v", cands)
	}
	h.expectJSON(404, "GET", "/v1/register/procedures/VG-none/candidates", nil, nil, vergabe...)
	member := cands.Candidates[0].MemberID
	h.expectJSON(404, "POST", path2+"/reuse", api.ReuseRequest{MemberID: 999, AnswerID: a.ID}, nil, vergabe...)
	h.expectJSON(201, "POST", path2+"/reuse", api.ReuseRequest{MemberID: member, AnswerID: a.ID}, nil, vergabe...)
	h.expectJSON(200, "GET", path2, nil, nil, vergabe...)
	h.expectJSON(200, "GET", path+"/log", nil, nil, vergabe...)
	h.expectJSON(404, "GET", "/v1/register/procedures/VG-none/log", nil, nil, vergabe...)

	// After its retention period the answer's document is gone.
	ctx := context.Background()
	if err := e.Register.Store.DeleteAnswer(ctx, a.ID, e.Clock.Now(), register.Entry{At: e.Clock.Now(), ProcedureID: qs.Queries[0].ProcedureID,
		Kind: "answer_deleted", Actor: "retention"}); err != nil {
		t.Fatal(err)
	}
	h.expect(410, "GET", docPath, nil, map[string]string{vergabe[0]: vergabe[1]})
	h.expectJSON(410, "POST", path2+"/reuse", api.ReuseRequest{MemberID: member, AnswerID: a.ID}, nil, vergabe...)

	// The registration form goes to the register authority through the
	// sending path; an incomplete form is refused.
	form := register.RegistrationForm{Authority: "Stadt Erkelenz", AuthorityKind: "öffentlicher Auftraggeber nach § 99 Nr. 1 GWB",
		Address: "Johannismarkt 17, 41812 Erkelenz", Contact: "Vergabestelle", Administrators: []register.Administrator{{Name: "A. Admin", Email: "admin@example.invalid"}}}
	var reg register.Registration
	h.expectJSON(201, "POST", "/v1/register/registrations", api.RegistrationRequest{Kind: register.RegistrationNew, To: apitest.Recipient, Form: form}, &reg, vergabe...)
	if reg.MessageID == 0 || reg.SHA256 == "" {
		t.Errorf("registration %+v", reg)
	}
	form.Administrators = nil
	h.expectJSON(400, "POST", "/v1/register/registrations", api.RegistrationRequest{Kind: register.RegistrationAdminChange, To: apitest.Recipient, Form: form}, nil, vergabe...)
}

// exerciseUnconfigured: without the eEB service and the register, their
// routes answer 503 (the register's after the role is checked).
func exerciseUnconfigured(h *harness) {
	h.expect(503, "GET", "/v1/eeb/tasks", nil, nil)
	h.expect(503, "GET", "/v1/eeb/tasks/1", nil, nil)
	h.expectJSON(503, "POST", "/v1/eeb/tasks/1/acknowledge", api.AcknowledgeRequest{Date: "2026-06-01"}, nil)
	h.expectJSON(503, "POST", "/v1/eeb/tasks/1/reject", api.RejectRequest{Code: "1"}, nil)
	h.expect(503, "GET", "/v1/eeb/replies", nil, nil)
	for _, r := range registerRoutes {
		h.expect(403, r[0], r[1], nil, nil)
		h.expect(503, r[0], r[1], nil, map[string]string{"Authorization": "Bearer " + apitest.ProcurementToken})
	}
	// The evidence of a message needs no eEB service.
	body, ct := apitest.MultipartBody(h.t, apitest.OKMessage(), apitest.Doc{Name: "Klage.pdf", Content: "%PDF-1.4 x"})
	var acc api.SubmitResponse
	if json.Unmarshal(h.expect(202, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct}), &acc) == nil {
		h.expect(200, "GET", fmt.Sprintf("/v1/messages/%d/evidence", acc.ID), nil, nil)
	}
}

package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
)

const (
	opsToken     = "ops-token-0123456789abcdef"
	vergabeToken = "vergabe-token-0123456789abcdef"
)

func registerAPI(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	st, blobs, book := apitest.OpenStores(t, dir, nil)
	reg := apitest.OpenRegister(t, dir, nil)
	// Backward compatible: "ops" has no roles, "vergabe" the procurement role.
	toks := apitest.LoadTokens(t, dir, "ops:"+opsToken+"\nvergabe:"+vergabeToken+":procurement\n")
	srv, err := api.New(api.Deps{Store: st, Blobs: blobs, AddressBook: book, DataDir: dir, Tokens: toks, Register: reg,
		Mailboxes: []api.Mailbox{{Name: "stadt", PollInterval: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func call(t *testing.T, ts *httptest.Server, token, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, ts.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d, undecodable: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

func TestRegisterRoutesNeedTheProcurementRole(t *testing.T) {
	ts := registerAPI(t)
	// A token without roles keeps today's rights ...
	if c := call(t, ts, opsToken, "GET", "/v1/status", nil, nil); c != 200 {
		t.Fatalf("status with a plain token: %d", c)
	}
	// ... except register data.
	for _, path := range []string{"/v1/register/procedures", "/v1/register/answers/1/document", "/v1/register/procedures/X/log"} {
		if c := call(t, ts, opsToken, "GET", path, nil, nil); c != http.StatusForbidden {
			t.Errorf("GET %s with a token without the role: %d", path, c)
		}
	}
	if c := call(t, ts, vergabeToken, "GET", "/v1/register/procedures", nil, nil); c != 200 {
		t.Fatalf("procurement token: %d", c)
	}
}

func TestRegisterWorkflowThroughTheAPI(t *testing.T) {
	ts := registerAPI(t)
	var d register.Decision
	if c := call(t, ts, vergabeToken, "POST", "/v1/register/check", api.CheckRequest{Value: "29999.99", Kind: "public"}, &d); c != 200 || d.Required {
		t.Fatalf("check: %d %+v", c, d)
	}
	number := "VG 12/2026"
	path := "/v1/register/procedures/" + url.PathEscape(number)
	if c := call(t, ts, vergabeToken, "POST", "/v1/register/procedures", api.CheckRequest{Number: number, Description: "Reinigung", Value: "80000", Kind: "public"}, nil); c != 201 {
		t.Fatalf("create: %d", c)
	}
	c1 := register.Company{Name: "Sauber GmbH", Address: "Markt 1", RegisterNumber: "HRB 1", RegistryCourt: "AG Mönchengladbach"}
	if c := call(t, ts, vergabeToken, "PUT", path+"/bidder", api.BidderRequest{Members: []register.Company{c1}}, nil); c != 201 {
		t.Fatalf("bidder: %d", c)
	}
	if c := call(t, ts, vergabeToken, "POST", path+"/queries", register.QueryRequest{}, nil); c != 400 {
		t.Fatalf("query without confirmation: %d", c)
	}
	var qs struct{ Queries []register.Query }
	if c := call(t, ts, vergabeToken, "POST", path+"/queries", register.QueryRequest{Confirmation: register.Confirmation{ConditionsMet: true, OnlyInvolvedStaff: true}}, &qs); c != 201 || len(qs.Queries) != 1 {
		t.Fatalf("query: %d %+v", c, qs)
	}
	var g register.GateResult
	if c := call(t, ts, vergabeToken, "GET", path+"/gate", nil, &g); c != 200 || g.MayProceed {
		t.Fatalf("gate before the answer: %d %+v", c, g)
	}
	var a register.Answer
	if c := call(t, ts, vergabeToken, "POST", "/v1/register/queries/"+itoa(qs.Queries[0].ID)+"/answer?entries=true", []byte("%PDF-1.4 Auskunft"), &a); c != 201 {
		t.Fatalf("answer: %d", c)
	}
	if c := call(t, ts, vergabeToken, "POST", path+"/assessments", register.NewAssessment{AnswerID: a.ID, Person: "Herr Prüfer", Exclusion: register.ExclusionNone, SelfCleaning: "nicht erforderlich"}, nil); c != 201 {
		t.Fatalf("assess: %d", c)
	}
	if c := call(t, ts, vergabeToken, "GET", path+"/gate", nil, &g); c != 200 || !g.MayProceed {
		t.Fatalf("gate after the assessment: %d %+v", c, g)
	}
	if c := call(t, ts, opsToken, "GET", "/v1/register/answers/"+itoa(a.ID)+"/document", nil, nil); c != 403 {
		t.Fatalf("answer read without the role: %d", c)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/v1/register/answers/"+itoa(a.ID)+"/document", nil)
	req.Header.Set("Authorization", "Bearer "+vergabeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "%PDF-1.4 Auskunft" {
		t.Fatalf("document: %d %q", resp.StatusCode, b)
	}
	var log struct{ Entries []register.LogEntry }
	call(t, ts, vergabeToken, "GET", path+"/log", nil, &log)
	last := log.Entries[len(log.Entries)-1]
	if last.Kind != "answer_read" || last.Actor != "token:vergabe" {
		t.Fatalf("the read is not logged: %+v", last)
	}
	if !strings.Contains(log.Entries[2].Detail["confirmedBy"], "vergabe") {
		t.Fatalf("query entry %+v", log.Entries[2])
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTokenLinesWithoutRolesReadAsBefore: a token whose last ":" part is
// not a list of known roles keeps it, as before roles existed.
func TestTokenLinesWithoutRolesReadAsBefore(t *testing.T) {
	dir := t.TempDir()
	ts := apitest.LoadTokens(t, dir, "old:abcdefgh:ijklmnopqrstu\nnew:0123456789abcdef:procurement,legal\n")
	p := filepath.Join(dir, "tokens")
	if l, ok := ts.Match("abcdefgh:ijklmnopqrstu"); !ok || l != "old" {
		t.Fatalf("legacy token with a colon: %q %v", l, ok)
	}
	if l, ok := ts.Match("0123456789abcdef"); !ok || l != "new" {
		t.Fatalf("token with roles: %q %v", l, ok)
	}
	if tok, err := api.FirstToken(p, false); err != nil || tok != "abcdefgh:ijklmnopqrstu" {
		t.Fatalf("FirstToken %q %v", tok, err)
	}
}

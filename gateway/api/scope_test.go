package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

const scopedToken = "ordnung-token-0123456789abcdef"

// scopeAPI serves mailboxes "stadt" and "ordnungsamt" with the ops token
// (every mailbox) and a token scoped to "ordnungsamt".
func scopeAPI(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	st, blobs, book := apitest.OpenStores(t, dir, nil)
	if _, err := book.Add(context.Background(), addressbook.Recipient{SafeID: apitest.Recipient, Name: "Amtsgericht Erkelenz",
		CipherCert: apitest.PKIPEM(t, "intermediary-cipher.pem")}); err != nil {
		t.Fatal(err)
	}
	toks := apitest.LoadTokens(t, dir, "ops:"+opsToken+"\nordnung:"+scopedToken+":legal,@ordnungsamt\n")
	srv, err := api.New(api.Deps{Store: st, Blobs: blobs, AddressBook: book, DataDir: dir,
		Mailboxes: []api.Mailbox{{Name: "stadt", PollInterval: time.Minute}, {Name: "ordnungsamt", PollInterval: time.Minute}},
		Tokens:    toks})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func submitAs(t *testing.T, ts *httptest.Server, token, mb string) (int, api.SubmitResponse) {
	t.Helper()
	m := apitest.OKMessage()
	m.Mailbox = mb
	body, ct := apitest.MultipartBody(t, m, apitest.Doc{Name: "Schreiben.pdf", Content: "%PDF-1.4 x"})
	req, _ := http.NewRequest("POST", ts.URL+"/v1/messages", body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ct)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var acc api.SubmitResponse
	_ = json.NewDecoder(resp.Body).Decode(&acc)
	return resp.StatusCode, acc
}

func TestScopedTokenSeesAndSendsNothingOfOtherMailboxes(t *testing.T) {
	ts := scopeAPI(t)
	code, stadt := submitAs(t, ts, opsToken, "stadt")
	if code != http.StatusAccepted {
		t.Fatalf("ops submit to stadt: %d", code)
	}
	if code, _ := submitAs(t, ts, scopedToken, "stadt"); code == http.StatusAccepted {
		t.Fatal("a token scoped to ordnungsamt sent from stadt")
	}
	code, own := submitAs(t, ts, scopedToken, "")
	if code != http.StatusAccepted {
		t.Fatalf("scoped submit without mailbox: %d", code)
	}
	var v api.MessageView
	if call(t, ts, scopedToken, "GET", "/v1/messages/"+itoa(own.ID), nil, &v) != 200 || v.Mailbox != "ordnungsamt" {
		t.Fatalf("own message: mailbox %q", v.Mailbox)
	}
	other := "/v1/messages/" + itoa(stadt.ID)
	for _, c := range []struct{ method, path string }{
		{"GET", other}, {"GET", other + "/documents/0"}, {"GET", other + "/evidence"},
		{"POST", other + "/hold"}, {"POST", other + "/release"}, {"POST", other + "/delete"}, {"POST", other + "/requeue"},
	} {
		if got := call(t, ts, scopedToken, c.method, c.path, nil, nil); got != http.StatusNotFound {
			t.Errorf("%s %s with a token of another mailbox: %d, want 404", c.method, c.path, got)
		}
	}
	unknown := call(t, ts, scopedToken, "POST", "/v1/mailboxes/nosuch/fetches/abc/clear", nil, nil)
	if got := call(t, ts, scopedToken, "POST", "/v1/mailboxes/stadt/fetches/abc/clear", nil, nil); got != unknown || got < 400 {
		t.Errorf("clearing a fetch of another mailbox: %d, want %d as for an unknown mailbox", got, unknown)
	}
	for _, q := range []string{"", "?mailbox=stadt", "?direction=out"} {
		var list api.MessageList
		if call(t, ts, scopedToken, "GET", "/v1/messages"+q, nil, &list) != 200 {
			t.Fatalf("list %q", q)
		}
		for _, m := range list.Messages {
			if m.Mailbox != "ordnungsamt" {
				t.Errorf("list %q shows message %d of %s", q, m.ID, m.Mailbox)
			}
		}
	}
	var all api.MessageList
	if call(t, ts, opsToken, "GET", "/v1/messages", nil, &all) != 200 || len(all.Messages) != 2 {
		t.Fatalf("ops token lists %d messages, want 2", len(all.Messages))
	}
	if got := call(t, ts, opsToken, "POST", other+"/hold", nil, nil); got != 200 {
		t.Fatalf("ops hold: %d", got)
	}
}

func TestTokenScopeEntriesParse(t *testing.T) {
	lines := []string{
		"a:" + strings.Repeat("x", 20) + ":records,@stadt,@ordnungsamt",
		"b:" + strings.Repeat("y", 20) + ":@not a mailbox", // not a list: stays in the token
	}
	ts := apitest.LoadTokens(t, t.TempDir(), strings.Join(lines, "\n"))
	if _, ok := ts.Match(strings.Repeat("x", 20)); !ok {
		t.Error("token with roles and scopes not matched")
	}
	if _, ok := ts.Match(strings.Repeat("y", 20) + ":@not a mailbox"); !ok {
		t.Error("a last part that is not a list must stay in the token")
	}
}

package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

func TestAPIAuth(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	tests := []struct {
		name, method, path, auth string
		want                     int
		field                    string
	}{
		{"no token", "GET", "/v1/messages", "", 401, "Authorization"},
		{"wrong token", "GET", "/v1/messages", "Bearer ops-token-0123456789abcdeX", 401, "Authorization"},
		{"basic auth", "GET", "/v1/messages", "Basic " + apitest.Token, 401, "Authorization"},
		{"unknown route without token", "GET", "/v1/nothing", "", 401, "Authorization"},
		{"unknown route", "GET", "/v1/nothing", "Bearer " + apitest.Token, 404, "path"},
		{"wrong method", "DELETE", "/v1/messages", "Bearer " + apitest.Token, 405, "method"},
		{"send without token", "POST", "/v1/messages", "", 401, "Authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.TS.URL+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := e.TS.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if p := apitest.ProblemOf(t, resp); p.Field != tc.field || p.Status != tc.want {
				t.Errorf("problem %+v, want field %q", p, tc.field)
			}
			if tc.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Every authenticated request is journaled with actor, method, path
	// and status, never the token; refused ones as one summary.
	e.Srv.FlushRefused(context.Background())
	evs, err := e.Store.Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var entries, refused []string
	for _, ev := range evs {
		switch ev.Kind {
		case "api":
			entries = append(entries, ev.Detail)
		case "api_refused":
			refused = append(refused, ev.Detail)
		}
		if strings.Contains(ev.Detail, apitest.Token) || strings.Contains(ev.Detail, "ops-token") {
			t.Errorf("journal holds a token: %s", ev.Detail)
		}
	}
	if len(entries) != 2 || !strings.Contains(entries[0], `"actor":"token:ops"`) || !strings.Contains(entries[1], `"status":"405"`) {
		t.Fatalf("api journal entries: %v", entries)
	}
	if len(refused) != 1 || !strings.Contains(refused[0], `"anonymous 401":"3"`) || !strings.Contains(refused[0], `"invalid-credentials 401":"2"`) ||
		!strings.Contains(refused[0], `GET /v1/messages`) {
		t.Fatalf("refused summary: %v", refused)
	}
}

func TestAPISubmitRejects(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{Submit: submit.Limits{MaxFiles: 3, MaxTotalBytes: 1000}})
	e.AddRecipient(t)
	ok := apitest.OKMessage()
	pdf := apitest.Doc{Name: "Klage.pdf", Content: "%PDF-1.7 test"}
	with := func(f func(*submit.MessageRequest)) submit.MessageRequest { m := ok; f(&m); return m }
	tests := []struct {
		name   string
		msg    any
		docs   []apitest.Doc
		ctype  string
		status int
		field  string
	}{
		{"not multipart", nil, nil, "application/json", 400, "Content-Type"},
		{"no message part", nil, []apitest.Doc{pdf}, "", 400, "message"},
		{"message not JSON", "{to:", []apitest.Doc{pdf}, "", 400, "message"},
		{"unknown message field", `{"to":"` + apitest.Recipient + `","subject":"s","cc":"x"}`, []apitest.Doc{pdf}, "", 400, "message"},
		{"recipient not a SAFE-ID", with(func(m *submit.MessageRequest) { m.To = "a b" }), []apitest.Doc{pdf}, "", 400, "message.to"},
		{"recipient unknown", with(func(m *submit.MessageRequest) { m.To = "DE.Justiz.unknown.1" }), []apitest.Doc{pdf}, "", 422, "message.to"},
		{"subject missing", with(func(m *submit.MessageRequest) { m.Subject = " " }), []apitest.Doc{pdf}, "", 400, "message.subject"},
		{"subject control character", with(func(m *submit.MessageRequest) { m.Subject = "a\x07b" }), []apitest.Doc{pdf}, "", 400, "message.subject"},
		{"case number too long", with(func(m *submit.MessageRequest) { m.CaseNumberSender = strings.Repeat("1", 101) }), []apitest.Doc{pdf}, "", 400, "message.caseNumberSender"},
		{"unknown mailbox", with(func(m *submit.MessageRequest) { m.Mailbox = "nope" }), []apitest.Doc{pdf}, "", 422, "message.mailbox"},
		{"recipient certificate with wrong usage", with(func(m *submit.MessageRequest) {
			m.To, m.RecipientCert = "DE.Justiz.other.2", apitest.PKIPEM(t, "wrong-usage.pem")
		}), []apitest.Doc{pdf}, "", 422, "message.recipientCert"},
		{"no documents", ok, nil, "", 400, "document"},
		{"file name with space", ok, []apitest.Doc{{Name: "Klage 1.pdf", Content: "x"}}, "", 400, "document[0].filename"},
		{"file name with two dots", ok, []apitest.Doc{pdf, {Name: "Klage.v2.pdf", Content: "x"}}, "", 400, "document[1].filename"},
		{"file name without extension", ok, []apitest.Doc{{Name: "Klage", Content: "x"}}, "", 400, "document[0].filename"},
		{"file name too long", ok, []apitest.Doc{{Name: strings.Repeat("a", 87) + ".pdf", Content: "x"}}, "", 400, "document[0].filename"},
		{"duplicate file name", ok, []apitest.Doc{pdf, {Name: "klage.PDF", Content: "y"}}, "", 400, "document[1].filename"},
		{"empty file", ok, []apitest.Doc{{Name: "Leer.pdf", Content: ""}}, "", 400, "document[0]"},
		{"too many files", ok, []apitest.Doc{{Name: "a.pdf", Content: "1"}, {Name: "b.pdf", Content: "2"}, {Name: "c.pdf", Content: "3"}, {Name: "d.pdf", Content: "4"}}, "", 413, "document[3]"},
		{"too large in total", ok, []apitest.Doc{{Name: "a.pdf", Content: strings.Repeat("x", 600)}, {Name: "b.pdf", Content: strings.Repeat("y", 600)}}, "", 413, "document[1]"},
		{"unknown part", ok, []apitest.Doc{pdf}, "extra", 400, "extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			body, ct := apitest.MultipartBody(t, tc.msg, tc.docs...)
			switch tc.ctype {
			case "":
			case "extra":
				body, ct = extraPart(tc.msg), "multipart/form-data; boundary=XYZ"
			default:
				ct = tc.ctype
			}
			resp := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %+v", resp.StatusCode, tc.status, apitest.ProblemOf(t, resp))
			}
			p := apitest.ProblemOf(t, resp)
			if p.Field != tc.field || !strings.Contains(p.Detail, tc.field) {
				t.Errorf("problem %+v, want field %q named in the detail", p, tc.field)
			}
			if n := e.MessageCount(t); n != 0 {
				t.Errorf("%d messages stored after a rejected request", n)
			}
			if tmp := e.BlobTemps(t); len(tmp) != 0 {
				t.Errorf("blob temp files left: %v", tmp)
			}
		})
	}
}

// extraPart is a body with a part neither "message" nor "document".
func extraPart(msg any) io.Reader {
	b, _ := json.Marshal(msg)
	s := "--XYZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n" + string(b) + "\r\n" +
		"--XYZ\r\nContent-Disposition: form-data; name=\"extra\"\r\n\r\nhello\r\n--XYZ--\r\n"
	return strings.NewReader(s)
}

func TestAPISubmitAccepted(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	docs := []apitest.Doc{{Name: "Klageerwiderung_Müller-Groß.pdf", Content: "%PDF-1.7 first"}, {Name: "Anlage_K1.pdf", Content: "%PDF-1.7 second"}}
	body, ct := apitest.MultipartBody(t, apitest.OKMessage(), docs...)
	resp := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %+v", resp.StatusCode, apitest.ProblemOf(t, resp))
	}
	var acc api.SubmitResponse
	json.NewDecoder(resp.Body).Decode(&acc)
	if acc.ID == 0 || acc.State != "queued" || resp.Header.Get("Location") != "/v1/messages/1" {
		t.Fatalf("answer %+v, Location %q", acc, resp.Header.Get("Location"))
	}
	var m api.MessageView
	if r := e.DoJSON(t, "GET", "/v1/messages/1", nil, &m); r.StatusCode != 200 {
		t.Fatalf("get: %d", r.StatusCode)
	}
	if m.Recipient != apitest.Recipient || m.Mailbox != apitest.Mailbox || len(m.Documents) != 2 || m.Documents[0].Name != docs[0].Name {
		t.Fatalf("message %+v", m)
	}
	var meta submit.OutgoingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil || meta.MessageType != submit.DefaultMessageType || meta.CaseNumberRecipient != "12 C 345/26" ||
		!strings.Contains(meta.RecipientCert, "BEGIN CERTIFICATE") || len(meta.RecipientFingerprint) != 64 {
		t.Errorf("sending metadata %s (%v)", m.Meta, err)
	}
	if len(m.Events) == 0 || m.Events[0].Kind != "enqueued" {
		t.Errorf("events %+v", m.Events)
	}
	for i, d := range docs {
		r := e.Do(t, "GET", m.Documents[i].Href, nil, nil)
		got, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256([]byte(d.Content))
		if r.StatusCode != 200 || string(got) != d.Content || r.Header.Get("X-Content-SHA256") != hex.EncodeToString(sum[:]) {
			t.Errorf("document %d: status %d body %q sha %q", i, r.StatusCode, got, r.Header.Get("X-Content-SHA256"))
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("Content-Disposition %q", cd)
		}
	}
	if r := e.Do(t, "GET", "/v1/messages/1/documents/2", nil, nil); r.StatusCode != 404 || apitest.ProblemOf(t, r).Field != "n" {
		t.Errorf("document out of range: %d", r.StatusCode)
	}
	if r := e.Do(t, "GET", "/v1/messages/99", nil, nil); r.StatusCode != 404 || apitest.ProblemOf(t, r).Field != "id" {
		t.Errorf("unknown message: %d", r.StatusCode)
	}
	if r := e.Do(t, "GET", "/v1/messages/x1", nil, nil); r.StatusCode != 400 || apitest.ProblemOf(t, r).Field != "id" {
		t.Errorf("bad id: %d", r.StatusCode)
	}
}

// failingBody delivers a prefix of a multipart body and then fails, as a
// client that disconnects mid-upload.
type failingBody struct {
	r io.Reader
}

var errClientGone = errors.New("client went away")

func (f *failingBody) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errClientGone
	}
	return n, err
}

func TestAPISubmitFailsMidUpload(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	body, ct := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "A.pdf", Content: strings.Repeat("a", 100000)}, apitest.Doc{Name: "B.pdf", Content: strings.Repeat("b", 100000)})
	cut := body.Bytes()[:body.Len()-50000] // inside the second document
	req := httptest.NewRequest("POST", "/v1/messages", &failingBody{r: strings.NewReader(string(cut))})
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+apitest.Token)
	rec := httptest.NewRecorder()
	e.Srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"body"`) {
		t.Fatalf("status %d %s for a broken upload", rec.Code, rec.Body)
	}
	if n := e.MessageCount(t); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if tmp := e.BlobTemps(t); len(tmp) != 0 {
		t.Errorf("blob temp files left: %v", tmp)
	}
}

func TestAPIIdempotency(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	send := func(key, content string) (*http.Response, api.SubmitResponse) {
		body, ct := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "A.pdf", Content: content})
		resp := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": key})
		var acc api.SubmitResponse
		json.NewDecoder(resp.Body).Decode(&acc)
		return resp, acc
	}
	r1, a1 := send("order-4711", "one")
	r2, a2 := send("order-4711", "one")
	_, a3 := send("order-4712", "one")
	if r1.StatusCode != 202 || r2.StatusCode != 202 || a1.ID != a2.ID || !a2.Replayed || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("repeat: %d %+v / %d %+v", r1.StatusCode, a1, r2.StatusCode, a2)
	}
	if a3.ID == a1.ID {
		t.Fatal("a different key returned the same message")
	}
	if n := e.MessageCount(t); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	body, ct := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "A.pdf", Content: "x"})
	r := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": "bad key"})
	if r.StatusCode != 400 || apitest.ProblemOf(t, r).Field != "Idempotency-Key" {
		t.Errorf("bad key: %d", r.StatusCode)
	}
}

// TestSubmitIdempotencyConflict reuses a key with other documents, as
// two racing requests would (the API answers a plain repeat before
// reading its body).

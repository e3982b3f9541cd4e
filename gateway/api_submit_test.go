package gateway

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

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

func TestAPIAuth(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	tests := []struct {
		name, method, path, auth string
		want                     int
		field                    string
	}{
		{"no token", "GET", "/v1/messages", "", 401, "Authorization"},
		{"wrong token", "GET", "/v1/messages", "Bearer ops-token-0123456789abcdeX", 401, "Authorization"},
		{"basic auth", "GET", "/v1/messages", "Basic " + apiToken, 401, "Authorization"},
		{"unknown route without token", "GET", "/v1/nothing", "", 401, "Authorization"},
		{"unknown route", "GET", "/v1/nothing", "Bearer " + apiToken, 404, "path"},
		{"wrong method", "DELETE", "/v1/messages", "Bearer " + apiToken, 405, "method"},
		{"send without token", "POST", "/v1/messages", "", 401, "Authorization"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.ts.URL+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := e.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if p := problemOf(t, resp); p.Field != tc.field || p.Status != tc.want {
				t.Errorf("problem %+v, want field %q", p, tc.field)
			}
			if tc.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Every request is journaled with actor, method, path and status, never the token.
	evs, err := e.st.Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var api []string
	for _, ev := range evs {
		if ev.Kind == "api" {
			api = append(api, ev.Detail)
		}
		if strings.Contains(ev.Detail, apiToken) || strings.Contains(ev.Detail, "ops-token") {
			t.Errorf("journal holds a token: %s", ev.Detail)
		}
	}
	if len(api) != len(tests) {
		t.Fatalf("%d api journal entries, want %d: %v", len(api), len(tests), api)
	}
	if want := `{"actor":"anonymous","method":"GET","path":"/v1/messages","status":"401"}`; api[0] != want {
		t.Errorf("audit entry %s, want %s", api[0], want)
	}
	if !strings.Contains(api[1], `"actor":"invalid-credentials"`) {
		t.Errorf("wrong-token entry %s", api[1])
	}
	if !strings.Contains(api[4], `"actor":"token:ops"`) {
		t.Errorf("authenticated entry %s", api[4])
	}
}

func TestAPISubmitRejects(t *testing.T) {
	e := newAPIEnv(t, APILimits{Submit: SubmitLimits{MaxFiles: 3, MaxTotalBytes: 1000}})
	e.addRecipient(t)
	ok := okMessage()
	pdf := testDoc{"Klage.pdf", "%PDF-1.7 test"}
	with := func(f func(*MessageRequest)) MessageRequest { m := ok; f(&m); return m }
	tests := []struct {
		name   string
		msg    any
		docs   []testDoc
		ctype  string
		status int
		field  string
	}{
		{"not multipart", nil, nil, "application/json", 400, "Content-Type"},
		{"no message part", nil, []testDoc{pdf}, "", 400, "message"},
		{"message not JSON", "{to:", []testDoc{pdf}, "", 400, "message"},
		{"unknown message field", `{"to":"` + apiRecipient + `","subject":"s","cc":"x"}`, []testDoc{pdf}, "", 400, "message"},
		{"recipient not a SAFE-ID", with(func(m *MessageRequest) { m.To = "a b" }), []testDoc{pdf}, "", 400, "message.to"},
		{"recipient unknown", with(func(m *MessageRequest) { m.To = "DE.Justiz.unknown.1" }), []testDoc{pdf}, "", 422, "message.to"},
		{"subject missing", with(func(m *MessageRequest) { m.Subject = " " }), []testDoc{pdf}, "", 400, "message.subject"},
		{"subject control character", with(func(m *MessageRequest) { m.Subject = "a\x07b" }), []testDoc{pdf}, "", 400, "message.subject"},
		{"case number too long", with(func(m *MessageRequest) { m.CaseNumberSender = strings.Repeat("1", 101) }), []testDoc{pdf}, "", 400, "message.caseNumberSender"},
		{"unknown mailbox", with(func(m *MessageRequest) { m.Mailbox = "nope" }), []testDoc{pdf}, "", 422, "message.mailbox"},
		{"recipient certificate with wrong usage", with(func(m *MessageRequest) {
			m.To, m.RecipientCert = "DE.Justiz.other.2", pkiPEM(t, "wrong-usage.pem")
		}), []testDoc{pdf}, "", 422, "message.recipientCert"},
		{"no documents", ok, nil, "", 400, "document"},
		{"file name with space", ok, []testDoc{{"Klage 1.pdf", "x"}}, "", 400, "document[0].filename"},
		{"file name with two dots", ok, []testDoc{pdf, {"Klage.v2.pdf", "x"}}, "", 400, "document[1].filename"},
		{"file name without extension", ok, []testDoc{{"Klage", "x"}}, "", 400, "document[0].filename"},
		{"file name too long", ok, []testDoc{{strings.Repeat("a", 87) + ".pdf", "x"}}, "", 400, "document[0].filename"},
		{"duplicate file name", ok, []testDoc{pdf, {"klage.PDF", "y"}}, "", 400, "document[1].filename"},
		{"empty file", ok, []testDoc{{"Leer.pdf", ""}}, "", 400, "document[0]"},
		{"too many files", ok, []testDoc{{"a.pdf", "1"}, {"b.pdf", "2"}, {"c.pdf", "3"}, {"d.pdf", "4"}}, "", 413, "document[3]"},
		{"too large in total", ok, []testDoc{{"a.pdf", strings.Repeat("x", 600)}, {"b.pdf", strings.Repeat("y", 600)}}, "", 413, "document[1]"},
		{"unknown part", ok, []testDoc{pdf}, "extra", 400, "extra"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			body, ct := multipartBody(t, tc.msg, tc.docs...)
			switch tc.ctype {
			case "":
			case "extra":
				body, ct = extraPart(tc.msg), "multipart/form-data; boundary=XYZ"
			default:
				ct = tc.ctype
			}
			resp := e.do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %+v", resp.StatusCode, tc.status, problemOf(t, resp))
			}
			p := problemOf(t, resp)
			if p.Field != tc.field || !strings.Contains(p.Detail, tc.field) {
				t.Errorf("problem %+v, want field %q named in the detail", p, tc.field)
			}
			if n := e.messageCount(t); n != 0 {
				t.Errorf("%d messages stored after a rejected request", n)
			}
			if tmp := e.blobTemps(t); len(tmp) != 0 {
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
	e := newAPIEnv(t, APILimits{})
	e.addRecipient(t)
	docs := []testDoc{{"Klageerwiderung_Müller-Groß.pdf", "%PDF-1.7 first"}, {"Anlage_K1.pdf", "%PDF-1.7 second"}}
	body, ct := multipartBody(t, okMessage(), docs...)
	resp := e.do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d: %+v", resp.StatusCode, problemOf(t, resp))
	}
	var acc SubmitResponse
	json.NewDecoder(resp.Body).Decode(&acc)
	if acc.ID == 0 || acc.State != "queued" || resp.Header.Get("Location") != "/v1/messages/1" {
		t.Fatalf("answer %+v, Location %q", acc, resp.Header.Get("Location"))
	}
	var m MessageView
	if r := e.doJSON(t, "GET", "/v1/messages/1", nil, &m); r.StatusCode != 200 {
		t.Fatalf("get: %d", r.StatusCode)
	}
	if m.Recipient != apiRecipient || m.Mailbox != apiMailbox || len(m.Documents) != 2 || m.Documents[0].Name != docs[0].name {
		t.Fatalf("message %+v", m)
	}
	var meta OutgoingMeta
	if err := json.Unmarshal(m.Meta, &meta); err != nil || meta.MessageType != DefaultMessageType || meta.CaseNumberRecipient != "12 C 345/26" ||
		!strings.Contains(meta.RecipientCert, "BEGIN CERTIFICATE") || len(meta.RecipientFingerprint) != 64 {
		t.Errorf("sending metadata %s (%v)", m.Meta, err)
	}
	if len(m.Events) == 0 || m.Events[0].Kind != "enqueued" {
		t.Errorf("events %+v", m.Events)
	}
	for i, d := range docs {
		r := e.do(t, "GET", m.Documents[i].Href, nil, nil)
		got, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256([]byte(d.content))
		if r.StatusCode != 200 || string(got) != d.content || r.Header.Get("X-Content-SHA256") != hex.EncodeToString(sum[:]) {
			t.Errorf("document %d: status %d body %q sha %q", i, r.StatusCode, got, r.Header.Get("X-Content-SHA256"))
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("Content-Disposition %q", cd)
		}
	}
	if r := e.do(t, "GET", "/v1/messages/1/documents/2", nil, nil); r.StatusCode != 404 || problemOf(t, r).Field != "n" {
		t.Errorf("document out of range: %d", r.StatusCode)
	}
	if r := e.do(t, "GET", "/v1/messages/99", nil, nil); r.StatusCode != 404 || problemOf(t, r).Field != "id" {
		t.Errorf("unknown message: %d", r.StatusCode)
	}
	if r := e.do(t, "GET", "/v1/messages/x1", nil, nil); r.StatusCode != 400 || problemOf(t, r).Field != "id" {
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
	e := newAPIEnv(t, APILimits{})
	e.addRecipient(t)
	body, ct := multipartBody(t, okMessage(), testDoc{"A.pdf", strings.Repeat("a", 100000)}, testDoc{"B.pdf", strings.Repeat("b", 100000)})
	cut := body.Bytes()[:body.Len()-50000] // inside the second document
	req := httptest.NewRequest("POST", "/v1/messages", &failingBody{r: strings.NewReader(string(cut))})
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"body"`) {
		t.Fatalf("status %d %s for a broken upload", rec.Code, rec.Body)
	}
	if n := e.messageCount(t); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	if tmp := e.blobTemps(t); len(tmp) != 0 {
		t.Errorf("blob temp files left: %v", tmp)
	}
}

func TestAPIIdempotency(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	e.addRecipient(t)
	send := func(key, content string) (*http.Response, SubmitResponse) {
		body, ct := multipartBody(t, okMessage(), testDoc{"A.pdf", content})
		resp := e.do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": key})
		var acc SubmitResponse
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
	if n := e.messageCount(t); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
	body, ct := multipartBody(t, okMessage(), testDoc{"A.pdf", "x"})
	r := e.do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": "bad key"})
	if r.StatusCode != 400 || problemOf(t, r).Field != "Idempotency-Key" {
		t.Errorf("bad key: %d", r.StatusCode)
	}
}

// TestSubmitIdempotencyConflict reuses a key with other documents, as
// two racing requests would (the API answers a plain repeat before
// reading its body).
func TestSubmitIdempotencyConflict(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	e.addRecipient(t)
	sub := e.srv.Submitter()
	commit := func(content string) (Accepted, error) {
		d := sub.Begin()
		defer d.Abort()
		if err := d.AddDocument("A.pdf", "", strings.NewReader(content)); err != nil {
			t.Fatal(err)
		}
		return d.Commit(context.Background(), okMessage(), "api:k-1")
	}
	first, err := commit("one")
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := commit("one")
	if err != nil || !again.Replayed || again.Message.ID != first.Message.ID {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	_, err = commit("two")
	var fe *FieldError
	if !errors.Is(err, ErrIdempotencyConflict) || !errors.As(err, &fe) || fe.Field != "Idempotency-Key" {
		t.Fatalf("conflict: %v", err)
	}
	if status, _, _ := problemFor(err); status != http.StatusConflict {
		t.Errorf("conflict answered with %d", status)
	}
	if m, ok, err := sub.Lookup(context.Background(), "api:k-1"); err != nil || !ok || m.ID != first.Message.ID {
		t.Errorf("Lookup = %d %v %v", m.ID, ok, err)
	}
	if _, ok, err := sub.Lookup(context.Background(), "api:none"); err != nil || ok {
		t.Errorf("Lookup of an unknown key = %v %v", ok, err)
	}
	if n := e.messageCount(t); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestAddressBookSentinels(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	e.addRecipient(t)
	ctx := context.Background()
	good := Recipient{SafeID: "DE.Justiz.x.1", Name: "LG", CipherCert: pkiPEM(t, "mailbox-cipher.pem")}
	with := func(f func(*Recipient)) Recipient { r := good; f(&r); return r }
	tests := []struct {
		name  string
		r     Recipient
		want  error
		cause error
		field string
	}{
		{"exists", with(func(r *Recipient) { r.SafeID = apiRecipient }), ErrAddressExists, nil, "safeId"},
		{"bad SAFE-ID", with(func(r *Recipient) { r.SafeID = "x" }), ErrInvalidRequest, nil, "safeId"},
		{"no name", with(func(r *Recipient) { r.Name = "" }), ErrInvalidRequest, nil, "name"},
		{"bad intermediary", with(func(r *Recipient) { r.Intermediary = "ftp://x" }), ErrInvalidRequest, nil, "intermediaryUrl"},
		{"no certificate", with(func(r *Recipient) { r.CipherCert = "" }), ErrBadCertificate, nil, "cipherCert"},
		{"wrong key usage", with(func(r *Recipient) { r.CipherCert = pkiPEM(t, "wrong-usage.pem") }), ErrBadCertificate, certs.ErrKeyUsage, "cipherCert"},
		{"expired", with(func(r *Recipient) { r.CipherCert = pkiPEM(t, "expired.pem") }), ErrBadCertificate, certs.ErrExpired, "cipherCert"},
		{"weak key", with(func(r *Recipient) { r.CipherCert = pkiPEM(t, "rsa1024.pem") }), ErrBadCertificate, certs.ErrWeakKey, "cipherCert"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.book.Add(ctx, tc.r)
			var fe *FieldError
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want %v on %s", err, tc.want, tc.field)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want cause %v", err, tc.cause)
			}
		})
	}
	if _, err := e.book.Update(ctx, good); !errors.Is(err, ErrAddressNotFound) {
		t.Errorf("update of a missing entry: %v", err)
	}
	if err := e.book.Delete("DE.Justiz.none.1"); !errors.Is(err, ErrAddressNotFound) {
		t.Errorf("delete of a missing entry: %v", err)
	}
}

func TestValidateFileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"Klage.pdf", true},
		{"Schriftsatz_Müller-Groß_ÄÖÜ.pdf", true},
		{"Anlage_K1_2026-06-01.tiff", true},
		{strings.Repeat("a", 86) + ".pdf", true},
		{strings.Repeat("a", 87) + ".pdf", false},
		{"", false},
		{"Klage", false},
		{".pdf", false},
		{"Klage.", false},
		{"Klage.final.pdf", false},
		{"Klage 1.pdf", false},
		{"../Klage.pdf", false},
		{"Klage(1).pdf", false},
		{"Klagé.pdf", false},
		{"Klage.p-f", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateFileName(tc.name)
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadFileName) {
				t.Fatalf("err = %v, want ErrBadFileName", err)
			}
		})
	}
}

func TestSubmitterSentinels(t *testing.T) {
	e := newAPIEnv(t, APILimits{Submit: SubmitLimits{MaxFiles: 2, MaxTotalBytes: 10}})
	e.addRecipient(t)
	sub := e.srv.Submitter()
	ok := okMessage()
	with := func(f func(*MessageRequest)) MessageRequest { m := ok; f(&m); return m }
	tests := []struct {
		name  string
		req   MessageRequest
		docs  []testDoc
		want  error
		cause error
	}{
		{"too many files", ok, []testDoc{{"a.pdf", "1"}, {"b.pdf", "2"}, {"c.pdf", "3"}}, ErrTooManyFiles, nil},
		{"too large", ok, []testDoc{{"a.pdf", "123456"}, {"b.pdf", "123456"}}, ErrMessageTooLarge, nil},
		{"duplicate name", ok, []testDoc{{"a.pdf", "1"}, {"A.pdf", "2"}}, ErrDuplicateFileName, nil},
		{"bad name", ok, []testDoc{{"a b.pdf", "1"}}, ErrBadFileName, nil},
		{"no documents", ok, nil, ErrNoDocuments, nil},
		{"unknown recipient", with(func(m *MessageRequest) { m.To = "DE.Justiz.none.1" }), []testDoc{{"a.pdf", "1"}}, ErrUnknownRecipient, nil},
		{"unknown mailbox", with(func(m *MessageRequest) { m.Mailbox = "x" }), []testDoc{{"a.pdf", "1"}}, ErrUnknownMailbox, nil},
		{"unusable recipient certificate", with(func(m *MessageRequest) {
			m.To, m.RecipientCert = "DE.Justiz.x.1", pkiPEM(t, "not-yet-valid.pem")
		}), []testDoc{{"a.pdf", "1"}}, ErrBadCertificate, certs.ErrNotYetValid},
		{"no subject", with(func(m *MessageRequest) { m.Subject = "" }), []testDoc{{"a.pdf", "1"}}, ErrInvalidRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sub.Begin()
			var err error
			for _, doc := range tc.docs {
				if err = d.AddDocument(doc.name, "", strings.NewReader(doc.content)); err != nil {
					break
				}
			}
			if err == nil {
				_, err = d.Commit(context.Background(), tc.req, "")
			}
			d.Abort()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("err = %v, want cause %v", err, tc.cause)
			}
			if n := e.messageCount(t); n != 0 {
				t.Errorf("%d messages stored", n)
			}
			if tmp := e.blobTemps(t); len(tmp) != 0 {
				t.Errorf("temp files left: %v", tmp)
			}
		})
	}
}

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/eeb"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/xjustiz"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

// testArgon2 keeps the tests fast; the format and the check are the same.
var testArgon2 = web.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

const password = "ein-langes-passwort"

// env is the application on a real SQLite store, blob store, address
// book, submission path and users file, with a test clock.
type env struct {
	t        *testing.T
	Store    *sqlite.Store
	Blobs    *mailbox.Blobs
	Book     *addressbook.Book
	Users    *web.FileUsers
	App      *web.App
	TS       *httptest.Server
	Clock    *certstest.Clock
	EEB      *eeb.Service
	codec    *xjustiz.Codec
	Register *register.Register
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	clock := certstest.NewClock(apitest.T0, 0)
	ctx := context.Background()
	st, blobs, book := apitest.OpenStores(t, dir, clock.Now)
	if _, err := book.Add(ctx, addressbook.Recipient{SafeID: apitest.Recipient, Name: "Stadtwerke Erkelenz",
		CipherCert: apitest.PKIPEM(t, "intermediary-cipher.pem")}); err != nil {
		t.Fatal(err)
	}
	sub, err := submit.New(submit.Config{Store: st, Blobs: blobs, AddressBook: book, Mailboxes: []string{"stadt", "ordnungsamt"}, Now: clock.Now, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	users, err := web.OpenUsers(filepath.Join(dir, "web", "users.json"), testArgon2)
	if err != nil {
		t.Fatal(err)
	}
	svc, codec := apitest.OpenEEB(t, dir, st, blobs, sub, clock.Now, "web-eeb")
	reg := apitest.OpenRegister(t, dir, clock.Now)
	app, err := web.New(web.Config{Store: st, Blobs: blobs, Book: book, Submitter: sub, Users: users, Now: clock.Now, EEB: svc, Register: reg,
		Mailboxes: []web.Mailbox{{Name: "stadt", Organisation: "Stadt Erkelenz"}, {Name: "ordnungsamt"}},
		Session:   web.SessionConfig{TTL: 8 * time.Hour, Idle: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(app.Handler())
	t.Cleanup(ts.Close)
	return &env{t: t, Store: st, Blobs: blobs, Book: book, Users: users, App: app, TS: ts, Clock: clock, EEB: svc, codec: codec, Register: reg}
}

// addUser creates a local user with password.
func (e *env) addUser(name string, roles []web.Role, mailboxes ...string) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.Users.Put(ctx, web.User{Name: name, Roles: roles, Mailboxes: mailboxes, Source: web.SourceLocal}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.Users.SetPassword(ctx, name, password); err != nil {
		e.t.Fatal(err)
	}
}

// signedIn creates the local user name and returns a browser signed in
// as that user.
func (e *env) signedIn(name string, roles []web.Role, mailboxes ...string) *browser {
	e.t.Helper()
	e.addUser(name, roles, mailboxes...)
	b := e.browser()
	b.login(name)
	return b
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Code int
	Body string
	H    http.Header
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(body), resp.Header}
}

func (b *browser) get(path string) page {
	req, _ := http.NewRequest("GET", b.e.TS.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, _ := http.NewRequest("POST", b.e.TS.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the forms of the page at path.
func (b *browser) csrf(path string) string {
	b.e.t.Helper()
	p := b.get(path)
	m := csrfInput.FindStringSubmatch(p.Body)
	if m == nil {
		b.e.t.Fatalf("no CSRF token on %s (%d)", path, p.Code)
	}
	return m[1]
}

// login signs in and fails the test unless it worked.
func (b *browser) login(name string) {
	b.e.t.Helper()
	tok := b.csrf("/anmeldung")
	p := b.post("/anmeldung", url.Values{"csrf": {tok}, "name": {name}, "passwort": {password}})
	if p.Code != http.StatusSeeOther {
		b.e.t.Fatalf("sign-in of %s: %d %s", name, p.Code, p.Body)
	}
}

// multipart posts fields in order (csrf first when given) and files as
// "dokument" parts.
func (b *browser) multipart(path string, fields [][2]string, files map[string]string) page {
	return b.multipartAs(path, "dokument", fields, files)
}

// multipartAs is multipart with the files' part name.
func (b *browser) multipartAs(path, part string, fields [][2]string, files map[string]string) page {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	for name, content := range files {
		w, _ := mw.CreateFormFile(part, name)
		_, _ = io.WriteString(w, content)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.e.TS.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// incoming stores a received message in mb with one document; parked
// makes it a quarantined (unreadable) delivery.
func (e *env) incoming(mb, subject string, parked bool) mailbox.Message {
	e.t.Helper()
	ref, err := e.Blobs.Put(strings.NewReader("%PDF-1.4 " + subject))
	if err != nil {
		e.t.Fatal(err)
	}
	orig, err := e.Blobs.Put(strings.NewReader("MIME-Version: 1.0\r\n\r\n" + subject))
	if err != nil {
		e.t.Fatal(err)
	}
	meta, _ := json.Marshal(mailbox.IncomingMeta{Sender: mailbox.SenderIdentity{Claimed: mailbox.Party{SafeID: "DE.Justiz.x", Name: "Amtsgericht Köln"}},
		UserSubject: subject, CaseNumberSender: "12 C 345/26", EEBRequested: true})
	in := mailbox.NewIncoming{Mailbox: mb, OSCIMessageID: subject, ContentSHA256: ref.SHA256, Size: ref.Size, Subject: subject,
		Sender: "DE.Justiz.x", Meta: meta, Now: e.Clock.Now(),
		Documents: []mailbox.Document{{Role: mailbox.RoleDocument, Name: "Beschluss.pdf", ContentType: "application/pdf", SHA256: ref.SHA256, Size: ref.Size},
			{Role: mailbox.RoleOriginal, Name: mailbox.FileOriginal, ContentType: "multipart/related", SHA256: orig.SHA256, Size: orig.Size}}}
	if parked {
		in.Unreadable, in.Attempts = "kaputt", 1
	}
	m, err := e.Store.InsertIncoming(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// journal returns the journal entries of kind.
func (e *env) journal(kind string) []mailbox.Event {
	e.t.Helper()
	evs, err := e.Store.Events(context.Background(), 0, 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []mailbox.Event
	for _, ev := range evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

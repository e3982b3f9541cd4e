package osci

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

func newTestClient(t *testing.T, url string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{
		URL: url, Signature: loadKeyPair(t, "alice_signature_4096"), Cipher: loadKeyPair(t, "alice_cipher_4096"),
		IntermediaryCipher: loadCert(t, "osci_manager_cipher_4096"), IntermediaryKeys: pinned(loadCert(t, "osci_manager_signature_4096")),
		Rand: certstest.DetRand("client"), SpoolDir: t.TempDir(), RetryWaitMax: 10 * time.Millisecond, RequestTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientCycle: getMessageId, storeDelivery with content and an encrypted
// attachment to bob (here: to alice herself, who also fetches), process
// cards, fetchDelivery with the acknowledgement rule, exitDialog.
func TestClientCycle(t *testing.T) {
	fake := newFake(t)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c := newTestClient(t, srv.URL)
	ctx := context.Background()
	id, err := c.GetMessageID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	me := c.cfg.Cipher.Cert
	var enc bytes.Buffer
	key, _, err := EncryptAttachment(&enc, bytes.NewReader([]byte("%PDF-1.7 Klage")), "klage.pdf", certstest.DetRand("att"))
	if err != nil {
		t.Fatal(err)
	}
	b := &PackageBuilder{Rand: certstest.DetRand("pkg")}
	if err := b.AddEncrypted(&Container{ID: "project_coco", Contents: []Content{{ID: "nachricht.xml", Data: []byte("<Nachricht/>")},
		{ID: "klage.pdf", Href: "klage.pdf"}}}, ReaderIDs([]*x509.Certificate{me}), key); err != nil {
		t.Fatal(err)
	}
	ct := enc.Bytes()
	card, err := c.StoreDelivery(ctx, OutgoingDelivery{MessageID: id, Subject: "Allgemeine Nachricht", Addressee: me, Readers: []*x509.Certificate{me},
		Content: b.Bytes(), Attachments: []OutgoingAttachment{{ContentID: "klage.pdf", Size: int64(len(ct)),
			Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ct)), nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	if card.MessageID != id || card.ProcessCard.Creation == nil {
		t.Fatalf("card %+v", card)
	}
	if _, err := c.StoreDelivery(ctx, OutgoingDelivery{MessageID: id, Addressee: me, Content: b.Bytes()}); !errors.Is(err, ErrFeedbackIllegalMessageID) {
		t.Fatalf("second store with the same id: %v", err)
	}
	s, err := c.OpenSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cards, _, err := s.ProcessCards(ctx, nil, 0)
	if err != nil || len(cards) != 1 || cards[0].MessageID != id {
		t.Fatalf("cards %+v err %v", cards, err)
	}
	if _, err := s.FetchDelivery(ctx, "govapp_unknown", &DirAttachments{Dir: t.TempDir()}); !errors.Is(err, ErrFeedbackNoDelivery) {
		t.Fatalf("unknown delivery: %v", err)
	}
	store := &DirAttachments{Dir: t.TempDir()}
	d, err := s.FetchDelivery(ctx, id, store)
	if err != nil {
		t.Fatal(err)
	}
	if d.Card == nil || d.Card.ProcessCard.Forwarding == nil || d.Sender.Get(SignatureOriginator) == nil {
		t.Fatalf("delivery %+v", d)
	}
	if err := s.Close(ctx); !errors.Is(err, ErrUnacknowledged) {
		t.Fatalf("close before acknowledgement: %v", err)
	}
	cs, err := OpenContentPackage(d.Response.Message, decrypterFor(t, "alice_cipher_4096"))
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := cs[0].DecryptAttachment(&plain, "klage.pdf", store, t.TempDir()); err != nil || plain.String() != "%PDF-1.7 Klage" {
		t.Fatalf("attachment %q: %v", plain.String(), err)
	}
	if err := s.Acknowledge(id); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ProcessCards(ctx, nil, 0); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("after close: %v", err)
	}
	if pc, err := c.FetchProcessCard(ctx, id); err != nil || pc.MessageID != id {
		t.Fatalf("FetchProcessCard: %+v %v", pc, err)
	}
}

// TestClientSignatureAlgorithm: orders are signed with the configured
// algorithm, rsa-sha256 when none is set; an unknown one is refused.
func TestClientSignatureAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		alg xmlsec.SignatureAlgorithm
		uri string
	}{{0, xmlsec.RSASHA256}, {xmlsec.SignatureRSAPSSSHA256, xmlsec.RSAPSSSHA256}, {xmlsec.SignatureRSAPSSSHA512, xmlsec.RSAPSSSHA512}} {
		t.Run(tc.alg.String(), func(t *testing.T) {
			fake := newFake(t)
			srv := httptest.NewServer(fake)
			defer srv.Close()
			c := newTestClient(t, srv.URL)
			c.cfg.SignatureAlgorithm = tc.alg
			if _, err := c.GetMessageID(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(fake.methods) != 1 || fake.methods[0] != tc.uri {
				t.Fatalf("signed with %q, want %s", fake.methods, tc.uri)
			}
		})
	}
	cfg := newTestClient(t, "https://intermediary.example/osci").cfg
	cfg.SignatureAlgorithm = xmlsec.SignatureAlgorithm(200)
	if _, err := NewClient(cfg); err == nil {
		t.Fatal("unknown signature algorithm accepted")
	}
}

// TestPlainHTTPToRemoteIntermediaryRefused: without TLS anyone on the way
// reads the traffic and answers in the intermediary's name with what is
// not signed, so plain http is refused unless the intermediary is on this
// machine or AllowInsecureHTTP says so.
func TestPlainHTTPToRemoteIntermediaryRefused(t *testing.T) {
	tests := []struct {
		url   string
		allow bool
		want  error // nil: accepted
	}{
		{"https://intermediary.example/osci", false, nil},
		{"http://127.0.0.1:8080/osci", false, nil},
		{"http://127.1.2.3/osci", false, nil},
		{"http://localhost:8080/osci", false, nil},
		{"http://[::1]:8080/osci", false, nil},
		{"http://intermediary.example/osci", false, ErrInsecureURL},
		{"http://10.0.0.1/osci", false, ErrInsecureURL},
		{"http://localhost.intermediary.example/osci", false, ErrInsecureURL},
		{"http://user:secret@intermediary.example/osci", false, ErrInsecureURL},
		{"http://intermediary.example/osci", true, nil},
		{"ftp://intermediary.example/osci", false, errAny},
		{"intermediary.example/osci", false, errAny},
		{"", false, errAny},
	}
	base := newTestClient(t, "https://intermediary.example/osci").cfg
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			cfg := base
			cfg.URL, cfg.AllowInsecureHTTP = tc.url, tc.allow
			_, err := NewClient(cfg)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == errAny && err == nil, tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

var errAny = errors.New("any error")

// TestClientFaults runs the client against scripted failures.
func TestClientFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		script    func(n int, w http.ResponseWriter, in *Incoming) bool
		mutate    func(*Message)
		want      error
		ambiguous bool
		requests  int
	}{
		{"503 twice then ok", func(n int, w http.ResponseWriter, _ *Incoming) bool {
			if n <= 2 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}, nil, nil, false, 3},
		{"503 until retries run out", func(n int, w http.ResponseWriter, _ *Incoming) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, nil, &TransportError{}, false, 4},
		{"500 without answer", func(n int, w http.ResponseWriter, _ *Incoming) bool {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}, nil, &TransportError{}, true, 1},
		{"truncated answer", func(n int, w http.ResponseWriter, _ *Incoming) bool {
			w.Write([]byte("MIME-Version: 1.0\r\nContent-Type: Multipart/Related; boundary=B; type=text/xml\r\n\r\n--B\r\nContent-ID: <osci@message>\r\n\r\n<soap:Env"))
			return true
		}, nil, ErrMIMETruncated, true, 1},
		{"connection dropped", func(n int, w http.ResponseWriter, _ *Incoming) bool {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}, nil, &TransportError{}, true, 1},
		{"fault 9400", func(n int, w http.ResponseWriter, _ *Incoming) bool {
			WriteMessage(w, WriteOptions{Rand: certstest.DetRand("f")}, FaultEnvelope(CodeSequence, ""))
			return true
		}, nil, ErrFaultSequence, true, 1},
		{"wrong sequence number in response", nil, func(m *Message) { m.ControlBlock.SequenceNumber = 7 }, ErrDialogMismatch, true, 1},
		{"response does not return our challenge", nil, func(m *Message) { m.ControlBlock.Response = "bm9wZQ==" }, ErrDialogMismatch, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			fake.script, fake.mutate = tc.script, tc.mutate
			srv := httptest.NewServer(fake)
			defer srv.Close()
			_, err := newTestClient(t, srv.URL).GetMessageID(ctx)
			if tc.want == nil && err != nil {
				t.Fatal(err)
			}
			var te *TransportError
			if te2, ok := tc.want.(*TransportError); ok && te2 != nil {
				if !errors.As(err, &te) {
					t.Fatalf("err = %v, want a transport error", err)
				}
			} else if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if IsAmbiguous(err) != tc.ambiguous {
				t.Fatalf("ambiguous = %v for %v", IsAmbiguous(err), err)
			}
			if fake.requests() != tc.requests {
				t.Fatalf("%d requests, want %d", fake.requests(), tc.requests)
			}
		})
	}
	t.Run("connection refused is retried and not ambiguous", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := newTestClient(t, url).GetMessageID(ctx)
		var te *TransportError
		if !errors.As(err, &te) || te.Stage != StageConnect || IsAmbiguous(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("response signed by an untrusted key", func(t *testing.T) {
		fake := newFake(t)
		fake.sig = loadKeyPair(t, "carol_signature_4096")
		srv := httptest.NewServer(fake)
		defer srv.Close()
		if _, err := newTestClient(t, srv.URL).GetMessageID(ctx); !IsAmbiguous(err) || !errors.Is(err, ErrSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestClientStoreResolution: an ambiguous store is resolved by the process
// card, never by sending again.
func TestClientStoreResolution(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		after     func(n int, w http.ResponseWriter) bool
		script    func(n int, w http.ResponseWriter, in *Incoming) bool
		stored    bool
		ambiguous bool
	}{
		{"answer lost after the store", func(n int, w http.ResponseWriter) bool {
			if n == 2 {
				dropConnection(w)
			}
			return n == 2
		}, nil, true, false},
		{"500 before the store", nil, func(n int, w http.ResponseWriter, _ *Incoming) bool {
			if n == 2 {
				w.WriteHeader(http.StatusInternalServerError)
				return true
			}
			return false
		}, false, false},
		{"intermediary gone", nil, func(n int, w http.ResponseWriter, _ *Incoming) bool {
			if n >= 2 {
				w.WriteHeader(http.StatusBadGateway)
				return true
			}
			return false
		}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake, c, id := withMessageID(t, tc.after, tc.script)
			card, err := c.StoreDeliveryResolved(ctx, storeFor(c, id))
			if tc.stored != (err == nil) || (err == nil && card.MessageID != id) {
				t.Fatalf("card %+v err %v", card, err)
			}
			if IsAmbiguous(err) != tc.ambiguous {
				t.Fatalf("ambiguous %v: %v", IsAmbiguous(err), err)
			}
			if !tc.stored && !tc.ambiguous && !Temporary(err) {
				t.Fatalf("resolved failure should be repeatable: %v", err)
			}
			if got := fake.stored(); got != map[bool]int{true: 1, false: 0}[tc.stored] {
				t.Fatalf("%d deliveries stored", got)
			}
		})
	}
}

package osci

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// fakeIntermediary is a scripted supplier for client tests, built from the
// codec's supplier parts. Script, when set, may answer a request itself
// (return true) before the normal handling: the n-th request counts from 1.
type fakeIntermediary struct {
	t      testing.TB
	sig    *certs.KeyPair
	dec    *xmlenc.Decrypter
	rand   io.Reader
	script func(n int, w http.ResponseWriter, in *Incoming) bool
	mutate func(resp *Message) // changes a response before signing
	// after runs once the order is executed and may answer itself instead
	// of the signed response (return true): drop the connection, forge a fault.
	after    func(n int, w http.ResponseWriter) bool
	mu       sync.Mutex
	n        int
	dialogs  map[string]*SupplierDialog
	nextConv int
	issued   map[string]bool
	store    map[string]*stored
	order    []string
	methods  []string      // SignatureMethod of each verified order
	orders   []MessageType // type of each verified order
}

type stored struct {
	content []byte
	atts    []collected
	certs   Certificates
	card    ProcessCardBundle
}

func newFake(t testing.TB) *fakeIntermediary {
	return &fakeIntermediary{t: t, sig: loadKeyPair(t, "osci_manager_signature_4096"), dec: decrypterFor(t, "osci_manager_cipher_4096"),
		rand: certstest.DetRand("fake"), dialogs: map[string]*SupplierDialog{}, issued: map[string]bool{}, store: map[string]*stored{}}
}

func (f *fakeIntermediary) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.script != nil && f.script(f.n, w, nil) {
		return
	}
	sink := &memSink{}
	in, err := ReadMessage(r.Body, ReadOptions{Decrypter: f.dec, RequireEncryption: true, Sink: sink})
	if err != nil {
		f.fault(w, FaultCode(err))
		return
	}
	opener := memOpener{}
	var ids []string
	for _, p := range sink.parts {
		opener[p.h.ContentID], ids = p.data, append(ids, p.h.ContentID)
	}
	signer := in.Message.NonIntermediary.Get(SignatureOriginator)
	v, err := in.Message.Verify(r.Context(), VerifyOptions{Keys: pinned(signer), Attachments: opener.resolver(), AttachmentIDs: ids})
	if err != nil {
		f.fault(w, CodeInvalidMessage)
		return
	}
	f.methods = append(f.methods, v.Signature.SignatureMethod)
	f.orders = append(f.orders, v.Type)
	resp, err := f.answer(v.Message, sink.parts)
	if err != nil {
		f.fault(w, FaultCode(err))
		return
	}
	if f.mutate != nil {
		f.mutate(resp)
	}
	if f.after != nil && f.after(f.n, w) {
		return
	}
	resp.Intermediary = Certificates{NewCertEntry(SignatureIntermediary, 0, f.sig.Cert)}
	var atts []Attachment
	var open func(string) (io.ReadCloser, error)
	if resp.Type == TypeResponseToFetchDelivery && resp.Content != nil {
		st := f.store[resp.Selection.MessageIDs[0]]
		m := memOpener{}
		for _, a := range st.atts {
			m[a.h.ContentID] = a.data
			atts = append(atts, Attachment{ContentID: a.h.ContentID, Size: int64(len(a.data)), Body: bytes.NewReader(a.data)})
		}
		open = m.resolver()
	}
	var cids []string
	for _, a := range atts {
		cids = append(cids, a.ContentID)
	}
	env, err := resp.SignedEnvelope(Signer{Key: f.sig.Key, Certificate: f.sig.Cert}, open, cids...)
	if err != nil {
		f.t.Errorf("fake: sign: %v", err)
		return
	}
	if err := WriteMessage(w, WriteOptions{Rand: f.rand, EncryptTo: v.NonIntermediary.Get(CipherOriginator)}, env, atts...); err != nil {
		f.t.Errorf("fake: write: %v", err)
	}
}

// withMessageID starts a fake scripted by after and script, and a client
// that has fetched a MessageId from it (request 1).
func withMessageID(t *testing.T, after func(n int, w http.ResponseWriter) bool,
	script func(n int, w http.ResponseWriter, in *Incoming) bool) (*fakeIntermediary, *Client, string) {
	t.Helper()
	fake := newFake(t)
	fake.after, fake.script = after, script
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL)
	id, err := c.GetMessageID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fake, c, id
}

// storeFor is a small delivery under id to the client's own cipher certificate.
func storeFor(c *Client, id string) OutgoingDelivery {
	return OutgoingDelivery{MessageID: id, Subject: "Testnachricht", Addressee: c.cfg.Cipher.Cert,
		Content: []byte("<osci:ContentPackage></osci:ContentPackage>")}
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	conn, _, _ := w.(http.Hijacker).Hijack()
	conn.Close()
}

func (f *fakeIntermediary) fault(w http.ResponseWriter, c Code) {
	if err := WriteMessage(w, WriteOptions{Rand: f.rand}, FaultEnvelope(c, "")); err != nil {
		f.t.Errorf("fake: %v", err)
	}
}

func (f *fakeIntermediary) answer(req *Message, parts []collected) (*Message, error) {
	var cb ControlBlock
	var err error
	var d *SupplierDialog
	switch {
	case req.Type == TypeInitDialog:
		f.nextConv++
		d, cb, err = OpenSupplierDialog(req.ControlBlock, strconv.Itoa(1000+f.nextConv), f.rand)
		if err == nil {
			f.dialogs[d.ConversationID] = d
		}
	case req.ControlBlock.ConversationID == "":
		cb, err = CheckImplicit(req.Type, req.ControlBlock, strconv.Itoa(5000+f.n))
	default:
		if d = f.dialogs[req.ControlBlock.ConversationID]; d == nil {
			return nil, ErrFaultSequence
		}
		cb, err = d.Accept(req.Type, req.ControlBlock, f.rand)
	}
	if err != nil {
		return nil, err
	}
	resp := &Message{Type: req.Type.ResponseType(), ControlBlock: cb, Feedback: NewFeedback(CodeDialogOpen)}
	if d == nil || req.Type == TypeExitDialog {
		resp.Feedback = NewFeedback(CodeDialogClosed)
	}
	now := fixedNow.Add(time.Duration(f.n) * time.Minute)
	switch req.Type {
	case TypeGetMessageID:
		resp.MessageID = fmt.Sprintf("govapp_%d", 1772443253000+f.n)
		f.issued[resp.MessageID] = true
	case TypeStoreDelivery:
		if !f.issued[req.MessageID] {
			resp.Feedback = NewFeedback(CodeIllegalMessageID)
			break
		}
		delete(f.issued, req.MessageID)
		card := ProcessCardBundle{MessageID: req.MessageID, ProcessCard: ProcessCard{RecentModification: now, Creation: &Timestamp{Time: now}, Subject: req.Subject}}
		f.store[req.MessageID] = &stored{content: rawContent(req), atts: parts, certs: req.NonIntermediary, card: card}
		f.order = append(f.order, req.MessageID)
		resp.ProcessCards = []ProcessCardBundle{card}
	case TypeFetchProcessCard:
		resp.Selection, resp.QuantityLimit = req.Selection, req.QuantityLimit
		for _, id := range f.order {
			if req.Selection == nil || len(req.Selection.MessageIDs) == 0 || req.Selection.MessageIDs[0] == id {
				resp.ProcessCards = append(resp.ProcessCards, f.store[id].card)
			}
		}
		if len(resp.ProcessCards) == 0 {
			resp.Feedback = NewFeedback(CodeNoProcessCard)
		}
	case TypeFetchDelivery:
		resp.Selection = req.Selection
		st := f.store[req.Selection.MessageIDs[0]]
		if st == nil {
			resp.Feedback = NewFeedback(CodeNoDelivery)
			break
		}
		st.card.ProcessCard.Forwarding = &Timestamp{Time: now}
		resp.Content, resp.NonIntermediary, resp.ProcessCards = st.content, st.certs, []ProcessCardBundle{st.card}
	}
	return resp, nil
}

func rawContent(m *Message) []byte {
	if m.ContentPackage == nil {
		return nil
	}
	b, err := xmlsec.Canonicalize(m.ContentPackage, xmlsec.C14N10)
	if err != nil {
		panic(err)
	}
	return b
}

func (f *fakeIntermediary) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// count returns how many verified orders of type t arrived.
func (f *fakeIntermediary) count(t MessageType) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, o := range f.orders {
		if o == t {
			n++
		}
	}
	return n
}

func (f *fakeIntermediary) stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.store)
}

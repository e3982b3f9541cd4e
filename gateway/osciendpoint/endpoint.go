// Package osciendpoint is the bridge between the mailbox engines and
// OSCI: one Mailbox per configured beBPo mailbox implements
// mailbox.Transport (send) and mailbox.Session (fetch) over one
// osci.Client to its intermediary, with the EGVP content conventions of
// osci/egvp.
//
// Guarantees: a message is built from the blob store and stored under the
// engine's MessageId, never sent twice on the bridge's own initiative;
// every failure reaches the engine classified as a mailbox.PeerError —
// permanent only for a refusal the intermediary signed or a message that
// can never be sent as it is (unusable recipient certificate, invalid
// content), temporary when retrying may help, ambiguous whenever the order
// may have been executed — so the engine settles an unknown outcome
// through the process card. A fetched delivery is verified and decrypted
// before it is handed on; a delivery that does not verify is handed on
// with its report (the engine quarantines it), never dropped; the raw
// response is kept as evidence; and the order that acknowledges a
// delivery is sent only when the engine calls again after committing it.
//
// A delivery whose response arrived whole but cannot be read (a limit of
// the response's XML or MIME, its transport decryption or signature, or
// more documents than the mailbox's egvp.Limits) is a
// *mailbox.UnreadableError carrying the response as received, with the
// dialog kept usable: from the response's ControlBlock when osci could
// not read it (osci.Session.ResumeUnreadable, which only the
// intermediary's own response passes), and the delivery pending, so the
// engine's next call acknowledges it once it parked it. Nothing is
// removed before the engine has read the original. A response cut short
// or never received is a PeerError as before, never unreadable.
// FetchOriginal fetches a delivery without its egvp reading, for one whose
// earlier reads stopped the process. Reprocess (mailbox.Reprocessor)
// reads a parked original again offline: transport decryption with our
// cipher key, the intermediary's signature, then the same egvp reading.
//
// With KeepIdleDialogs, a fetch dialog that ends with nothing to
// acknowledge is kept open and continued by the next poll (one order per
// idle poll instead of three), and so are the further dialogs a poll
// fetches a long listing in (mailbox.Fetcher.Width), up to keptDialogs;
// the send engine asks for the process cards of sent messages in one of
// them too (one order instead of three). A kept dialog the intermediary
// ended meanwhile is replaced by a fresh one for the order it failed,
// which had nothing pending to acknowledge: a listing and a card query
// change nothing at the intermediary, and a delivery handed out in the
// ended dialog was not acknowledged there. A kept dialog is never
// exited: the intermediary ends it by its own timeout.
//
// # Signatures on documents
//
// Besides the transport and content signatures egvp checks, the bridge
// verifies the signatures on the documents themselves with
// gateway/docsig, against the mailbox's content-signer trust set: every
// detached signature (Klage.pdf.p7s beside Klage.pdf, the name rule of
// mailbox.SignedDocumentName) and every signature inside a PDF. Each is a
// "document" entry of the Prüfprotokoll with its own result (integrity,
// certificate, qualified where the certificate says so), their worst
// result stands beside the Gesamtergebnis (VerificationReport.
// DocumentVerdict), and the intake metadata give it per document. A .p7s
// without its document is shown as not checkable; a PDF that cannot be
// searched for signatures is a note. Fetch and Reprocess verify at the
// same point (delivery), so both give the same report.
//
// A document signature is the author's declaration about a document, not
// the delivery's proof of origin. The verdict says that the message came
// unaltered from the confirmed sender; whether a filing is validly signed
// is for the recipient to judge in the proceedings, a broken signature is
// itself evidence that belongs in the file, and holding the message back
// would hide a receipt from which deadlines run. So by default an invalid
// document signature (altered after signing, forged, an invalid
// certificate) leaves the verdict alone: the message is delivered with
// the broken signature shown, in the report and per document in the
// metadata. A mailbox that wants a person to look first sets
// Config.QuarantineInvalidDocumentSignatures: the verdict then becomes
// invalid with its own reason, ReasonPolicyDocumentSignature, as
// RequireEndToEnd does for encryption. An indeterminate result (an issuer
// outside the trust set, an unsupported format) never quarantines.
package osciendpoint

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/docsig"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/pdf"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/writeback"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/egvp"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Config configures one of our mailboxes speaking OSCI to its
// intermediary.
type Config struct {
	Name, SafeID       string
	Identity           *certs.Identity   // signature + cipher key pairs
	IntermediaryURL    string            // our intermediary's OSCI endpoint
	IntermediaryCipher *x509.Certificate // pinned; requests are encrypted to it
	// IntermediaryName is our intermediary's configured name (default
	// "own"): the route of messages to recipients there.
	IntermediaryName string
	// Health is our intermediary's circuit (optional): sends to it wait
	// without a request while it is open, and every request's outcome
	// is recorded.
	Health *intermediaries.Health
	// Intermediaries are the configured intermediaries recipients may live
	// at (optional; nil: every recipient is at ours). A message goes to the
	// one its outgoing metadata names, with that intermediary's cipher
	// certificate and signature pins; fetching stays with ours.
	Intermediaries *intermediaries.Set
	// Trust are the mailbox's validators per use (certs.TrustSets): the
	// intermediary's pinned signature certificates for its responses, the
	// VHN and content-signer sets for what the reader checks.
	Trust certs.Validators
	// Recipients looks a recipient up in the address book (used when the
	// message's metadata carries no recipient certificate).
	Recipients func(ctx context.Context, safeID string) (addressbook.Recipient, error)
	Card       egvp.BusinessCard // our visitenkarte
	SpoolDir   string            // request spools, encrypted attachments, fetched deliveries
	Now        func() time.Time
	Rand       io.Reader
	Logger     *zap.Logger
	HTTPClient *http.Client

	// Optional.
	Manufacturer    egvp.Manufacturer // herstellerinformation.xml; default egvp.DefaultManufacturer()
	UnsignedContent bool              // do not sign the containers (content signature of the originator)
	ListLimit       int               // process cards per fetchProcessCard (0: the intermediary decides)
	RequestTimeout  time.Duration     // one HTTP exchange; default 10 minutes
	ConnectRetries  int               // retries of requests that provably did not arrive; default 3
	RetryWaitMax    time.Duration     // cap of their waits; default 30 s
	// KeepIdleDialogs keeps a fetch dialog that ended with nothing to
	// acknowledge open for the next poll. Only for a gateway that is the
	// mailbox's one fetcher: where several gateways share a store, each
	// poll ends its dialog, so that one dialog per mailbox is open at a time.
	KeepIdleDialogs bool
	Limits          egvp.Limits // ERVB limits per message

	// SignatureAlgorithm signs orders (VHN/transport signature) and the
	// content; the zero value is rsa-sha256, what current EGVP clients send.
	SignatureAlgorithm xmlsec.SignatureAlgorithm
	// AllowInsecureHTTP permits a plain http IntermediaryURL to a host that
	// is not loopback (osci.ClientConfig.AllowInsecureHTTP); test networks only.
	AllowInsecureHTTP bool
	// RequireEndToEnd is the mailbox's policy that every content container
	// of a delivery be end-to-end encrypted (egvp.Reader.RequireEndToEnd):
	// one that is only transport-encrypted is then quarantined with the
	// policy reason. Off, such content is read and noted.
	RequireEndToEnd bool
	// QuarantineInvalidDocumentSignatures is the mailbox's policy that a
	// delivery with an invalid signature on one of its documents (a
	// detached .p7s or one inside a PDF: altered after signing, forged, or
	// by an invalid certificate) is quarantined with
	// ReasonPolicyDocumentSignature. Off (the default), it is delivered
	// with the broken signature shown in the Prüfprotokoll and the intake
	// metadata; an indeterminate one never quarantines.
	QuarantineInvalidDocumentSignatures bool
	// DocumentPDFLimits bound the search for signatures inside a received
	// PDF; zero fields take pdf's defaults. A PDF beyond them is noted as
	// not searched.
	DocumentPDFLimits pdf.Limits
	// XML bounds every XML the mailbox reads (responses, forms, XJustiz
	// records); zero fields take xmlsec's defaults. A delivery beyond it is
	// parked, and reprocessed once it is raised.
	XML xmlsec.Limits
}

// Errors of the OSCI mailbox's send path (wrapped in a permanent
// mailbox.PeerError: an operator has to fix the address book or the message).
var (
	ErrOutgoingMeta      = errors.New("osciendpoint: outgoing metadata unreadable")
	ErrRecipientUnusable = errors.New("osciendpoint: recipient has no usable cipher certificate")
	// ErrUnknownIntermediary: the message names an intermediary that is
	// not (or no longer) configured; configure it and requeue the message.
	ErrUnknownIntermediary = errors.New("osciendpoint: recipient's intermediary is not configured")
)

// Mailbox is one configured mailbox: mailbox.Transport for the send
// engine and mailbox.Session for the fetch engine, over one osci.Client,
// with the EGVP content conventions of osci/egvp.
//
// Sending builds the EGVP package (documents streamed from the blob store,
// encrypted to a spool, removed afterwards) and stores it under the
// engine's MessageId; it never sends twice on its own: every failure goes
// back to the engine classified as a mailbox.PeerError, and the engine asks
// the Laufzettel before it repeats a store. Fetching verifies and decrypts
// each delivery, hands failures on in its report (never drops it), and
// sends the order that acknowledges a delivery only when the engine calls
// again after committing it.
type Mailbox struct {
	cfg    Config
	client *osci.Client     // to our intermediary
	docsig *docsig.Verifier // document signatures, with the content-signer set
	now    func() time.Time
	log    *zap.Logger
	http   *http.Client

	mu     sync.Mutex
	others map[string]*osci.Client // to other intermediaries, by name, built when first needed
	kept   []*osciSession          // idle dialogs kept open between polls (OpenSession), at most keptDialogs
}

// New checks cfg and builds the OSCI client.
func New(cfg Config) (*Mailbox, error) {
	switch {
	case cfg.SafeID == "":
		return nil, errors.New("osciendpoint: mailbox: no SAFE-ID")
	case cfg.Identity == nil || cfg.Identity.Signature == nil || cfg.Identity.Cipher == nil:
		return nil, errors.New("osciendpoint: mailbox: identity needs signature and cipher key pairs")
	case cfg.Trust.Intermediary == nil || cfg.Trust.ContentSigner == nil:
		return nil, errors.New("osciendpoint: mailbox: no intermediary or content-signer validator")
	case cfg.Rand == nil:
		return nil, errors.New("osciendpoint: mailbox: no randomness")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.SafeID
	}
	if cfg.IntermediaryName == "" {
		cfg.IntermediaryName = "own"
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &captureTransport{base: base}
	m := &Mailbox{cfg: cfg, now: now, log: log.With(zap.String("mailbox", cfg.Name)), http: hc, others: map[string]*osci.Client{}}
	client, err := m.newClient(cfg.IntermediaryURL, cfg.IntermediaryCipher, cfg.Trust.Intermediary, cfg.AllowInsecureHTTP)
	if err != nil {
		return nil, fmt.Errorf("osciendpoint: mailbox %s: %w", cfg.Name, err)
	}
	m.client = client
	if m.docsig, err = docsig.New(docsig.Config{Validator: cfg.Trust.ContentSigner, Now: now}); err != nil {
		return nil, fmt.Errorf("osciendpoint: mailbox %s: %w", cfg.Name, err)
	}
	return m, nil
}

// newClient builds an OSCI client of this mailbox (its identity, spool
// and limits) towards one intermediary, trusting only signers for its
// answers.
func (m *Mailbox) newClient(url string, cipher *x509.Certificate, signers *certs.Validator, allowHTTP bool) (*osci.Client, error) {
	cfg := m.cfg
	return osci.NewClient(osci.ClientConfig{
		URL: url, AllowInsecureHTTP: allowHTTP, Signature: cfg.Identity.Signature, Cipher: cfg.Identity.Cipher,
		SignatureAlgorithm: cfg.SignatureAlgorithm, XML: cfg.XML,
		IntermediaryCipher: cipher, IntermediaryKeys: xmlsec.ValidatorSelector{V: signers},
		RequestTimeout: cfg.RequestTimeout, ConnectRetries: cfg.ConnectRetries, RetryWaitMax: cfg.RetryWaitMax,
		Rand: cfg.Rand, SpoolDir: cfg.SpoolDir, HTTPClient: m.http,
	})
}

// Route names the intermediary a message goes to, from its outgoing
// metadata: the name pinned at submission; else the URL pinned (by
// earlier versions, or with the certificates of an intermediary an
// address-book entry gives inline: intermediaries.InlineName); else ours.
// It is the send engine's lane: messages to one intermediary are sent in
// order, those to others beside them.
func (m *Mailbox) Route(meta []byte) (string, error) {
	sm, err := parseSendMeta(meta)
	if err != nil {
		return "", err
	}
	return m.route(sm)
}

func parseSendMeta(meta []byte) (sendMeta, error) {
	var sm sendMeta
	if len(meta) > 0 {
		if err := json.Unmarshal(meta, &sm); err != nil {
			return sm, permanent("meta", fmt.Errorf("%w: %w", ErrOutgoingMeta, err))
		}
	}
	return sm, nil
}

func (m *Mailbox) route(sm sendMeta) (string, error) {
	u := sm.RecipientIntermediaryURL
	switch {
	case sm.RecipientIntermediary != "":
		return sm.RecipientIntermediary, nil
	case u == "", sameURL(u, m.cfg.IntermediaryURL):
		return m.cfg.IntermediaryName, nil
	case m.cfg.Intermediaries != nil:
		if im, err := m.cfg.Intermediaries.ByURL(u); err == nil {
			return im.Name, nil
		}
		if sm.RecipientIntermediaryCipherCert != "" {
			return intermediaries.InlineName(u), nil
		}
	}
	return "", permanent("intermediary", fmt.Errorf("%w: %s", ErrUnknownIntermediary, u))
}

func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// TransportFor returns the send transport for a message with this
// outgoing metadata: towards the intermediary Route names, with that
// intermediary's certificates and circuit. An intermediary that is not
// configured is a permanent ErrUnknownIntermediary.
func (m *Mailbox) TransportFor(meta []byte) (mailbox.Transport, error) {
	sm, err := parseSendMeta(meta)
	if err != nil {
		return nil, err
	}
	name, err := m.route(sm)
	if err != nil {
		return nil, err
	}
	if name == m.cfg.IntermediaryName {
		return &osciTransport{m: m, client: m.client, health: m.cfg.Health}, nil
	}
	var im *intermediaries.Intermediary
	switch {
	case m.cfg.Intermediaries == nil:
	case strings.HasPrefix(name, intermediaries.InlinePrefix):
		im, err = m.cfg.Intermediaries.Inline(sm.RecipientIntermediaryURL, sm.RecipientIntermediaryCipherCert,
			sm.RecipientIntermediarySignatureCerts, false)
	default:
		im, err = m.cfg.Intermediaries.Get(name)
	}
	if im == nil {
		if err == nil {
			err = fmt.Errorf("no intermediaries configured: %s", name)
		}
		return nil, permanent("intermediary", fmt.Errorf("%w: %w", ErrUnknownIntermediary, err))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.others[name]
	if !ok {
		v := *m.cfg.Trust.Intermediary
		v.Trust = im.Signers
		if c, err = m.newClient(im.URL, im.Cipher, &v, im.AllowInsecureHTTP); err != nil {
			return nil, permanent("intermediary", fmt.Errorf("osciendpoint: intermediary %s: %w", name, err))
		}
		m.others[name] = c
	}
	return &osciTransport{m: m, client: c, health: im.Health}, nil
}

// Transport returns the send transport towards our own intermediary.
func (m *Mailbox) Transport() mailbox.Transport {
	return &osciTransport{m: m, client: m.client, health: m.cfg.Health}
}

// osciTransport implements mailbox.Transport towards one intermediary.
// Storing uses osci.Client.StoreDelivery without its own resolution:
// after any failure that is not a refusal, the send engine asks
// FetchProcessCard before it sends again, so a second resolution here
// would only cost a request.
type osciTransport struct {
	m      *Mailbox
	client *osci.Client
	health *intermediaries.Health // nil: no circuit
}

// call makes one request through the intermediary's circuit: refused at
// once while it is open (temporary, nothing sent), its outcome recorded.
func (t *osciTransport) call(ctx context.Context, fn func() error) error {
	if t.health == nil {
		return fn()
	}
	if err := t.health.Allow(); err != nil {
		return &mailbox.PeerError{Class: mailbox.Temporary, FeedbackCode: "circuit_open", Err: err}
	}
	err := fn()
	t.health.Record(err, ctx.Err() != nil)
	return err
}

func (t *osciTransport) GetMessageID(ctx context.Context) (string, error) {
	var id string
	err := t.call(ctx, func() (err error) { id, err = t.client.GetMessageID(ctx); return err })
	return id, peerError(err)
}

func (t *osciTransport) FetchProcessCard(ctx context.Context, id string) (mailbox.ProcessCard, error) {
	var pc *osci.ProcessCardBundle
	err := t.call(ctx, func() (err error) { pc, err = t.client.FetchProcessCard(ctx, id); return err })
	if err != nil {
		return mailbox.ProcessCard{}, peerError(err)
	}
	return processCard(pc), nil
}

// FetchProcessCards returns the cards of several sent messages from one
// dialog (mailbox.CardBatcher); the ones the intermediary has none of are
// missing from the map.
func (t *osciTransport) FetchProcessCards(ctx context.Context, ids []string) (map[string]mailbox.ProcessCard, error) {
	var pcs []osci.ProcessCardBundle
	err := t.call(ctx, func() (err error) { pcs, err = t.processCards(ctx, ids); return err })
	out := map[string]mailbox.ProcessCard{}
	if err != nil {
		if errors.Is(err, osci.ErrFeedbackNoProcessCard) && !errors.Is(err, osci.ErrUnverified) {
			return out, nil
		}
		return nil, peerError(err)
	}
	for i := range pcs {
		out[pcs[i].MessageID] = processCard(&pcs[i])
	}
	return out, nil
}

// processCards asks for the cards of ids: towards our own intermediary,
// with KeepIdleDialogs, in a dialog the mailbox keeps open (taken from
// the kept ones, else opened, and kept again while idle), else in a short
// dialog of its own. A kept dialog that failed the query is replaced by a
// fresh one, as for a listing: the query changes nothing at the
// intermediary.
func (t *osciTransport) processCards(ctx context.Context, ids []string) ([]osci.ProcessCardBundle, error) {
	m := t.m
	if t.client != m.client || !m.cfg.KeepIdleDialogs {
		return t.client.FetchProcessCards(ctx, ids)
	}
	s := m.takeKept()
	if s == nil {
		d, err := m.client.OpenSession(ctx)
		if err != nil {
			return nil, err
		}
		s = &osciSession{m: m, s: d}
	}
	cards, err := s.s.CardsOf(ctx, ids)
	if err != nil && s.reused && !s.s.Idle() {
		s.s.Abandon()
		d, oerr := m.client.OpenSession(ctx)
		if oerr != nil {
			return nil, errors.Join(err, oerr)
		}
		s.s = d
		cards, err = s.s.CardsOf(ctx, ids)
	}
	s.reused = false
	if s.s.Idle() {
		if kerr := m.keep(ctx, s); kerr != nil {
			m.log.Warn("closing a surplus idle dialog failed; the intermediary ends it by its timeout", zap.Error(kerr))
		}
	}
	return cards, err
}

// sendMeta is the outgoing metadata (OutgoingMeta) plus the optional free text.
type sendMeta struct {
	submit.OutgoingMeta
	FreeText string `json:"freeText,omitempty"`
}

func (t *osciTransport) StoreDelivery(ctx context.Context, d *mailbox.OutgoingDelivery) (mailbox.ProcessCard, error) {
	m := t.m
	var meta sendMeta
	if len(d.Meta) > 0 {
		if err := json.Unmarshal(d.Meta, &meta); err != nil {
			return mailbox.ProcessCard{}, permanent("meta", fmt.Errorf("%w: %w", ErrOutgoingMeta, err))
		}
	}
	cert, err := m.recipientCert(ctx, d.Recipient, meta)
	if err != nil {
		return mailbox.ProcessCard{}, err
	}
	b := &egvp.Builder{SignatureAlgorithm: m.cfg.SignatureAlgorithm, Manufacturer: m.cfg.Manufacturer, Rand: m.cfg.Rand,
		SpoolDir: m.cfg.SpoolDir, Now: m.now, Limits: m.cfg.Limits}
	if !m.cfg.UnsignedContent {
		b.Signature = m.cfg.Identity.Signature
	}
	out := egvp.Outgoing{SenderID: m.cfg.SafeID, Card: m.cfg.Card, RecipientID: d.Recipient, MessageType: meta.MessageType,
		Subject: d.Subject, CaseNumberSender: meta.CaseNumberSender, CaseNumberRecipient: meta.CaseNumberRecipient,
		FreeText: meta.FreeText, EEBRequested: meta.EEBRequested}
	for _, doc := range d.Documents {
		name := doc.OriginalName
		if name == "" {
			name = doc.FileName
		}
		out.Documents = append(out.Documents, egvp.Document{Name: name, Open: doc.Open, SHA256: doc.SHA256})
	}
	pkg, err := b.Build(out, cert)
	if err != nil {
		if errors.Is(err, egvp.ErrInvalid) || errors.Is(err, egvp.ErrTooLarge) {
			return mailbox.ProcessCard{}, permanent("content", err)
		}
		return mailbox.ProcessCard{}, &mailbox.PeerError{Class: mailbox.Temporary, FeedbackCode: "spool", Err: err}
	}
	defer pkg.Close()
	for _, w := range pkg.Warnings {
		m.log.Warn("outgoing message", zap.String("osci_message_id", d.MessageID), zap.String("warning", w))
	}
	pkg.Delivery.MessageID = d.MessageID
	var pc *osci.ProcessCardBundle
	err = t.call(ctx, func() (err error) { pc, err = t.client.StoreDelivery(ctx, pkg.Delivery); return err })
	if err != nil {
		return mailbox.ProcessCard{}, peerError(err)
	}
	return processCard(pc), nil
}

// recipientCert resolves the addressee's cipher certificate: from the
// message's metadata (validated and pinned at submission), else from the
// address book. Which intermediary the message goes to is the
// transport's (Route), decided before its MessageId was asked for.
func (m *Mailbox) recipientCert(ctx context.Context, safeID string, meta sendMeta) (*x509.Certificate, error) {
	pemText := meta.RecipientCert
	if pemText == "" {
		if m.cfg.Recipients == nil {
			return nil, permanent("recipient", fmt.Errorf("%w: %s (no address book)", ErrRecipientUnusable, safeID))
		}
		r, err := m.cfg.Recipients(ctx, safeID)
		if err != nil {
			return nil, permanent("recipient", fmt.Errorf("osciendpoint: recipient %s: %w", safeID, err))
		}
		pemText = r.CipherCert
	}
	cs, err := certs.ParseCertificates([]byte(pemText))
	if err != nil || len(cs) != 1 {
		return nil, permanent("recipient", fmt.Errorf("%w: %s: certificate unreadable", ErrRecipientUnusable, safeID))
	}
	if meta.RecipientFingerprint != "" && !strings.EqualFold(meta.RecipientFingerprint, certs.Fingerprint(cs[0])) {
		return nil, permanent("recipient", fmt.Errorf("%w: %s: certificate does not match its fingerprint", ErrRecipientUnusable, safeID))
	}
	// The address book pins the certificate; what is checked again here is
	// what may have changed since: validity, algorithm, key, usage.
	ts := certs.NewTrustStore()
	ts.Pin(cs[0])
	v := &certs.Validator{Trust: ts, Use: certs.UseRecipientCipher, Now: m.now, Policy: m.cfg.Trust.ContentSigner.Policy,
		Revocation: m.cfg.Trust.ContentSigner.Revocation}
	if _, err := v.Validate(ctx, cs[0], nil, certs.PurposeCipher); err != nil {
		class := mailbox.Permanent
		if certs.Temporary(err) {
			class = mailbox.Temporary
		}
		return nil, &mailbox.PeerError{Class: class, FeedbackCode: "recipient", Err: fmt.Errorf("%w: %s: %w", ErrRecipientUnusable, safeID, err)}
	}
	return cs[0], nil
}

func permanent(code string, err error) error {
	return &mailbox.PeerError{Class: mailbox.Permanent, FeedbackCode: code, Err: err}
}

// peerError classifies an osci error for the engines: ambiguous (the
// order may have been executed), temporary, or permanent, with the
// intermediary's feedback or fault code. Only a verified feedback refuses
// an order or says that nothing exists (9804); an unverified answer (any
// SOAP fault, a response whose signature does not verify) is ambiguous
// whatever its code, so the engine asks the Laufzettel instead of parking
// or resending.
func peerError(err error) error {
	if err == nil {
		return nil
	}
	var pe *mailbox.PeerError
	if errors.As(err, &pe) {
		return err
	}
	e := &mailbox.PeerError{Class: mailbox.Permanent, Err: err}
	unverified := errors.Is(err, osci.ErrUnverified)
	var fe *osci.FeedbackError
	var fault *osci.FaultError
	switch {
	case errors.As(err, &fe):
		e.FeedbackCode = fe.Code.String()
		e.Missing = fe.Code == osci.CodeNoProcessCard && !unverified
	case errors.As(err, &fault):
		e.FeedbackCode = fault.Code.String()
	}
	switch {
	case unverified, osci.IsAmbiguous(err), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		e.Class = mailbox.Ambiguous
	case osci.Temporary(err):
		e.Class = mailbox.Temporary
	case e.FeedbackCode == "":
		// Not an answer of the intermediary (local I/O, verification of
		// our own request): nothing proves the order did not go out.
		e.Class = mailbox.Ambiguous
	}
	return e
}

// processCard maps an OSCI Laufzettel.
func processCard(b *osci.ProcessCardBundle) mailbox.ProcessCard {
	if b == nil {
		return mailbox.ProcessCard{}
	}
	pc := mailbox.ProcessCard{OSCIMessageID: b.MessageID, RecentModification: b.ProcessCard.RecentModification, Subject: b.ProcessCard.Subject}
	if t := b.ProcessCard.Creation; t != nil {
		pc.Creation = t.Time
	}
	if t := b.ProcessCard.Forwarding; t != nil {
		pc.Forwarding = t.Time
	}
	if t := b.ProcessCard.Reception; t != nil {
		pc.Reception = t.Time
	}
	for _, in := range b.Inspections {
		pc.Inspections = append(pc.Inspections, mailbox.Inspection{Time: in.Timestamp.Time, Subject: in.SubjectName,
			Issuer: in.IssuerName, Serial: in.SerialNumber, CertType: in.CertType, MathResult: in.MathResult,
			OfflineResult: in.OfflineResult, OnlineResult: in.OnlineResult})
	}
	return pc
}

// captureTransport writes the raw HTTP body of a response to the file a
// request's context names (see withCapture): the fetched OSCI message
// exactly as received, kept as evidence. The file is written beside the
// reading of the response, on the other core. Other requests pass
// unchanged.
type captureTransport struct{ base http.RoundTripper }

type captureKey struct{}

// capture is the file the responses of one fetch are copied to and the
// copy of the latest response.
type capture struct {
	f   *os.File
	cur *captureBody
	err error // the file could not be started again
}

// withCapture makes the responses of requests made with ctx be copied to
// f; a repeated request (connection retry) starts the file again. The
// returned function waits until the copy is written and returns the
// SHA-256 (hex) of what f holds, taken while it was written, or the
// copy's first error: only after it returned nil does f hold the response.
func withCapture(ctx context.Context, f *os.File) (context.Context, func() (string, error)) {
	c := &capture{f: f}
	return context.WithValue(ctx, captureKey{}, c), func() (string, error) {
		if c.err != nil {
			return "", c.err
		}
		if c.cur == nil {
			return hex.EncodeToString(emptySHA256[:]), nil
		}
		if err := c.cur.finish(); err != nil {
			return "", err
		}
		return hex.EncodeToString(c.cur.h.Sum(nil)), nil
	}
}

var emptySHA256 = sha256.Sum256(nil)

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	c, ok := req.Context().Value(captureKey{}).(*capture)
	if err != nil || !ok {
		return resp, err
	}
	if c.cur != nil {
		_ = c.cur.finish() // the earlier response's copy ends before the file starts again
		c.cur = nil
	}
	if err := c.f.Truncate(0); err != nil {
		resp.Body.Close()
		c.err = err
		return nil, err
	}
	if _, err := c.f.Seek(0, io.SeekStart); err != nil {
		resp.Body.Close()
		c.err = err
		return nil, err
	}
	// The capture is fsync'd when it becomes a blob: its write back
	// starts while it is written.
	h := sha256.New()
	c.cur = &captureBody{r: resp.Body, w: behind.New(io.MultiWriter(writeback.New(c.f), h)), h: h}
	resp.Body = c.cur
	return resp, nil
}

// captureBody is a response body whose octets are copied to a file as
// they are read. A failed write fails the read; the end of the body is
// reported only once the copy is written.
type captureBody struct {
	r    io.ReadCloser
	w    *behind.Writer
	h    hash.Hash // of what w wrote, once finished
	done bool
	err  error
}

func (b *captureBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		if _, werr := b.w.Write(p[:n]); werr != nil {
			return n, werr
		}
	}
	if err == io.EOF {
		if werr := b.finish(); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// finish waits for the copy and returns its first error.
func (b *captureBody) finish() error {
	if !b.done {
		b.done = true
		b.err = b.w.Close()
	}
	return b.err
}

func (b *captureBody) Close() error {
	werr := b.finish()
	if err := b.r.Close(); werr == nil {
		return err
	}
	return werr
}

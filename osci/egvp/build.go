package egvp

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Limits are the ERVB limits for one message (2. ERVB 2022 Nr. 3).
type Limits struct {
	MaxFiles int   // documents per message; default 1000
	MaxBytes int64 // sum of document sizes; default 200 MB (200,000,000 bytes)
}

func (l Limits) withDefaults() Limits {
	return limit.Fill(l, Limits{MaxFiles: 1000, MaxBytes: 200_000_000})
}

// Document is one file of an outgoing message.
type Document struct {
	// Name is the file name the submission validated (the ERVB rule of
	// package mailbox); it becomes the Content Id and MIME Content-ID
	// unchanged. Build refuses one that cannot serve as such (ErrInvalid).
	Name string
	// Open is called twice: to encrypt the document, and for the content
	// signature, whose reference digests the plaintext of an encrypted
	// attachment as the reference library does.
	Open func() (io.ReadCloser, error)
	// SHA256 is the hex SHA-256 of what Open returns when the caller
	// knows it from having stored the octets (a content-addressed blob):
	// the content signature then takes it instead of reading the
	// document a second time. Empty: the signature reads the document.
	SHA256 string
}

// Outgoing is an EGVP message to build.
type Outgoing struct {
	SenderID            string       // our SAFE-ID (additional_infos user_id)
	Card                BusinessCard // our visitenkarte; UserID defaults to SenderID, RoleID to egvp_bebpo
	RecipientID         string       // the addressee's SAFE-ID (Empfaengerkennung)
	MessageType         string       // OSCI Subject and Nachrichtentyp; default "Allgemeine Nachricht"
	Subject             string       // Betreff
	CaseNumberSender    string       // Aktenzeichen_Absender
	CaseNumberRecipient string       // Aktenzeichen_Empfaenger
	FreeText            string       // Freitext
	// EEBRequested asks the recipient for an elektronisches
	// Empfangsbekenntnis. EGVP carries that request only in the XJustiz
	// record (ruecksendungEEB.erforderlich per dokument), which the
	// submitter attaches as xjustiz_nachricht.xml; nachricht.xml has no
	// field for it. The builder does not rewrite the record: without one,
	// Package.Warnings says the request cannot travel.
	EEBRequested bool
	Documents    []Document
}

// Builder builds the ContentPackage of outgoing EGVP messages.
type Builder struct {
	// Signature, when set, signs both containers as originator (content
	// signature). It must be the key pair the osci.Client signs orders
	// with: the signature names its certificate in NonIntermediaryCertificates.
	Signature *certs.KeyPair
	// SignatureAlgorithm is the method of the content signature; the zero
	// value is rsa-sha256, what the current EGVP clients send.
	SignatureAlgorithm xmlsec.SignatureAlgorithm
	Manufacturer       Manufacturer // default DefaultManufacturer()
	Rand               io.Reader    // required
	SpoolDir           string       // encrypted attachments ("" = system temp dir)
	Now                func() time.Time
	Limits             Limits
}

// Product and Version name this software in herstellerinformation.xml.
const Product = "bebpo-gateway"

// Version is set by the build (-ldflags -X); "dev" otherwise.
var Version = "dev"

// DefaultManufacturer is our herstellerinformation.xml.
func DefaultManufacturer() Manufacturer {
	return Manufacturer{Product: Product + " " + Version, Vendor: "bebpo-gateway contributors"}
}

// Package is a built message. Its attachments are ciphertext in spool
// files until Close.
type Package struct {
	// Delivery is ready for osci.Client.StoreDelivery once MessageID is set.
	Delivery osci.OutgoingDelivery
	// Names are the Content Ids (transmitted file names) of the documents,
	// in order.
	Names    []string
	Sizes    []int64 // plaintext sizes
	Warnings []string
	spool    []string
}

// Close removes the spool files.
func (p *Package) Close() error {
	var errs []error
	for _, f := range p.spool {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	p.spool = nil
	return errors.Join(errs...)
}

// Build encrypts the documents to spool files (streamed, never whole in
// memory) and builds project_coco and govello_coco, both encrypted to
// addressee, which is also named as further reader, as EGVP clients do.
func (b *Builder) Build(o Outgoing, addressee *x509.Certificate) (_ *Package, err error) {
	if b.Rand == nil {
		return nil, fmt.Errorf("%w: builder without randomness", ErrInvalid)
	}
	if addressee == nil {
		return nil, fmt.Errorf("%w: no addressee certificate", ErrInvalid)
	}
	if o.SenderID == "" || o.RecipientID == "" {
		return nil, fmt.Errorf("%w: sender and recipient SAFE-ID required", ErrInvalid)
	}
	lim := b.Limits.withDefaults()
	if len(o.Documents) > lim.MaxFiles {
		return nil, fmt.Errorf("%w: %d documents, at most %d", ErrTooLarge, len(o.Documents), lim.MaxFiles)
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	if o.MessageType == "" {
		o.MessageType = TypeGeneral
	}
	card := o.Card
	if card.UserID == "" {
		card.UserID = o.SenderID
	}
	if card.RoleID == "" {
		card.RoleID = RoleBeBPo
	}
	man := b.Manufacturer
	if man == (Manufacturer{}) {
		man = DefaultManufacturer()
	}
	p := &Package{}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if p.Names, err = contentIDs(o.Documents); err != nil {
		return nil, err
	}
	if o.EEBRequested && !hasXJustiz(p.Names) {
		p.Warnings = append(p.Warnings, "eEB requested, but EGVP carries the request only in xjustiz_nachricht.xml, which the message lacks")
	}

	var keys []osci.AttachmentKey
	var total int64
	for i, d := range o.Documents {
		key, n, sp, err := b.encrypt(d, p.Names[i], lim.MaxBytes-total)
		if sp.path != "" {
			p.spool = append(p.spool, sp.path)
		}
		if err != nil {
			return nil, err
		}
		total += n
		keys = append(keys, key)
		p.Sizes = append(p.Sizes, n)
		// The transport signature digests the attachment as transmitted:
		// the spool file, whose SHA-256 was taken while it was written.
		p.Delivery.Attachments = append(p.Delivery.Attachments, osci.OutgoingAttachment{ContentID: p.Names[i], Size: sp.size,
			Open: func() (io.ReadCloser, error) {
				f, err := os.Open(sp.path)
				if err != nil {
					return nil, err
				}
				return xmlsec.WithKnownDigest(f, crypto.SHA256, sp.sum), nil
			}})
	}

	inline, err := forms(o, card, man)
	if err != nil {
		return nil, err
	}
	project := &osci.Container{ID: ContainerProject}
	for _, f := range inline {
		project.Contents = append(project.Contents, osci.Content{ID: f.id, Data: f.data})
	}
	for _, name := range p.Names {
		project.Contents = append(project.Contents, osci.Content{ID: name, Href: name})
	}
	infos := AdditionalInfos{"user_id": o.SenderID, "signature_level": SignatureLevelNone, "subject": o.Subject}
	govello := &osci.Container{ID: ContainerGovello, Contents: []osci.Content{{ID: FileAdditionalInfos,
		Data: infos.Bytes([]string{"user_id", "signature_level", "subject"}, now())}}}

	pb := &osci.PackageBuilder{Rand: b.Rand}
	if b.Signature != nil {
		pb.Signer = &osci.Signer{Key: b.Signature.Key, Certificate: b.Signature.Cert, Algorithm: b.SignatureAlgorithm, Rand: b.Rand}
		pb.SignerID = osci.NewCertEntry(osci.SignatureOriginator, 0, b.Signature.Cert).ID
		// The reference library digests an encrypted attachment's
		// plaintext for the content signature (its ciphertext only for the
		// transport signature), and so verifies ours.
		plain := map[string]Document{}
		for i, d := range o.Documents {
			plain[p.Names[i]] = d
		}
		pb.Attachments = func(cid string) (io.ReadCloser, error) {
			d, ok := plain[cid]
			if !ok {
				return nil, fmt.Errorf("%w: no attachment %q", ErrInvalid, cid)
			}
			r, err := d.Open()
			if err != nil {
				return nil, err
			}
			if sum, err := hex.DecodeString(d.SHA256); err == nil && len(sum) == sha256.Size {
				return xmlsec.WithKnownDigest(r, crypto.SHA256, sum), nil
			}
			return r, nil
		}
	}
	readers := []*x509.Certificate{addressee}
	if err := pb.AddEncrypted(project, osci.ReaderIDs(readers), keys...); err != nil {
		return nil, fmt.Errorf("egvp: %s: %w", ContainerProject, err)
	}
	if err := pb.AddEncrypted(govello, osci.ReaderIDs(readers)); err != nil {
		return nil, fmt.Errorf("egvp: %s: %w", ContainerGovello, err)
	}
	p.Delivery.Subject = o.MessageType
	p.Delivery.Addressee = addressee
	p.Delivery.Readers = readers
	p.Delivery.Content = pb.Bytes()
	return p, nil
}

type form struct {
	id   string
	data []byte
}

// forms returns the inline contents of project_coco in the order EGVP
// clients write them.
func forms(o Outgoing, card BusinessCard, man Manufacturer) ([]form, error) {
	her, err := man.XML()
	if err != nil {
		return nil, err
	}
	msg, err := Nachricht{MessageType: o.MessageType, SignatureLevel: SignatureLevelNone, RecipientID: o.RecipientID,
		Subject: o.Subject, CaseNumberRecipient: o.CaseNumberRecipient, CaseNumberSender: o.CaseNumberSender, FreeText: o.FreeText}.XML()
	if err != nil {
		return nil, err
	}
	vk, err := card.XML()
	if err != nil {
		return nil, err
	}
	return []form{{FileHersteller, her}, {FileNachricht, msg}, {FileVisitenkarte, vk}}, nil
}

// encrypt streams one document through AES-256-GCM into a spool file.
// spooled is an encrypted attachment's spool file: its path, size and
// SHA-256, taken while it was written.
type spooled struct {
	path string
	size int64
	sum  []byte
}

// encrypt encrypts document d into a spool file; the file and its hash are
// written beside the encryption, on the other core. n is the plaintext's
// size.
func (b *Builder) encrypt(d Document, cid string, room int64) (key osci.AttachmentKey, n int64, sp spooled, err error) {
	if d.Open == nil {
		return key, 0, sp, fmt.Errorf("%w: document %q cannot be opened", ErrInvalid, d.Name)
	}
	src, err := d.Open()
	if err != nil {
		return key, 0, sp, fmt.Errorf("egvp: document %q: %w", d.Name, err)
	}
	defer src.Close()
	f, err := os.CreateTemp(b.SpoolDir, "egvp-att-*")
	if err != nil {
		return key, 0, sp, fmt.Errorf("egvp: spool: %w", err)
	}
	sp.path = f.Name()
	h := sha256.New()
	bw := behind.New(io.MultiWriter(f, h))
	lr := &limitedReader{r: src, left: room}
	key, n, err = osci.EncryptAttachment(bw, lr, cid, b.Rand)
	if berr := bw.Close(); err == nil && berr != nil {
		err = fmt.Errorf("egvp: spool: %w", berr)
	}
	if st, serr := f.Stat(); err == nil && serr != nil {
		err = fmt.Errorf("egvp: spool: %w", serr)
	} else if serr == nil {
		sp.size = st.Size()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("egvp: spool: %w", cerr)
	}
	if lr.over {
		err = fmt.Errorf("%w: documents exceed %d bytes", ErrTooLarge, room)
	}
	sp.sum = h.Sum(nil)
	return key, n, sp, err
}

// limitedReader fails once more than left bytes were read.
type limitedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		l.over = true
		return n, ErrTooLarge
	}
	return n, err
}

// contentIDs takes the documents' names as their Content Ids, as the
// submission validated them: each must be a name XML-DSig can reference
// and a MIME Content-ID can carry (xmlsec.ReferenceableID, which every
// name of the ERVB rule is unless it starts with '-'), none may be one of
// the package's reserved Ids, and no two may be equal without regard to
// case (the addressee's folder may not tell them apart). A name is never
// changed here: what would need changing is refused.
func contentIDs(docs []Document) ([]string, error) {
	taken := map[string]string{}
	for _, r := range reservedNames {
		taken[strings.ToLower(r)] = r
	}
	names := make([]string, len(docs))
	for i, d := range docs {
		key := strings.ToLower(d.Name)
		switch prev, dup := taken[key]; {
		case !xmlsec.ReferenceableID(d.Name):
			return nil, fmt.Errorf("%w: document %d: %q cannot serve as a Content Id", ErrInvalid, i, d.Name)
		case dup:
			return nil, fmt.Errorf("%w: document %d: %q is taken (%q)", ErrInvalid, i, d.Name, prev)
		}
		taken[key] = d.Name
		names[i] = d.Name
	}
	return names, nil
}

func hasXJustiz(names []string) bool {
	for _, n := range names {
		if IsXJustizName(n) {
			return true
		}
	}
	return false
}

// IsXJustizName reports whether name is an XJustiz record by the ERVB
// naming rule: xjustiz_nachricht.xml or xjustiz_nachricht_<UUID>.xml.
func IsXJustizName(name string) bool {
	l := strings.ToLower(name)
	return l == FileXJustiz || strings.HasPrefix(l, "xjustiz_nachricht_") && strings.HasSuffix(l, ".xml")
}

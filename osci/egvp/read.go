package egvp

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/behind"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/writeback"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

// Reader turns fetched deliveries into received EGVP messages.
type Reader struct {
	Cipher *certs.KeyPair // our cipher key pair (content is encrypted to it)
	// Trust are the mailbox's validators per use (certs.TrustSets.Validators).
	// The reader uses two: VHN decides whether the sender's transport
	// signature certificate is a VHN certificate (nil: no message gets
	// the VHN mark), ContentSigner checks content signatures and a
	// transport signature that is not a VHN. Neither set vouches for what
	// the other does.
	Trust certs.Validators
	// Directory, when set, is asked about the SAFE-ID a message claims;
	// a contradiction quarantines the message (ReasonSenderMismatch).
	Directory SenderDirectory
	SpoolDir  string // ciphertext spools while decrypting ("" = system temp dir)
	Now       func() time.Time
	XML       xmlsec.Limits // for nachricht.xml, visitenkarte.xml, … and XJustiz records
	// Limits guard our disk, not the ERVB rules: what a sender sent is
	// read even if it breaks them. Zero fields: 10000 files, 2 GiB. A
	// delivery beyond them is not read (ErrTooLarge).
	Limits Limits
	// RequireEndToEnd is the mailbox's policy that every content container
	// be end-to-end encrypted. Without it a container that is only
	// transport-encrypted is read and noted; with it, it is a policy
	// violation (ReasonPolicyEndToEnd).
	RequireEndToEnd bool
}

// check reports a reader that cannot keep its guarantees.
func (r *Reader) check() error {
	switch {
	case r.Cipher == nil:
		return fmt.Errorf("%w: reader without cipher key", ErrInvalid)
	case r.Trust.ContentSigner == nil || r.Trust.ContentSigner.Use != certs.UseContentSigner:
		return fmt.Errorf("%w: reader needs a validator of use %s for signatures", ErrInvalid, certs.UseContentSigner)
	case r.Trust.VHN != nil && r.Trust.VHN.Use != certs.UseVHN:
		return fmt.Errorf("%w: reader's VHN validator is for use %s", ErrInvalid, r.Trust.VHN.Use)
	}
	return nil
}

// Received is a delivery as EGVP content: metadata, the decrypted
// documents as files, and the verification report.
type Received struct {
	MessageID   string
	OSCISubject string // EGVP message type (process card Subject)
	// EGVP: the delivery has the EGVP structure (project_coco). Without
	// it every container was read as plain OSCI content and the report
	// notes "keine EGVP-Nachricht".
	EGVP bool
	// Forms of project_coco; the Has* flags say whether they were present and parsed.
	Nachricht       Nachricht
	Card            BusinessCard
	Manufacturer    Manufacturer
	HasNachricht    bool
	HasCard         bool
	HasManufacturer bool
	Infos           AdditionalInfos // govello_coco additional_infos (nil when absent)
	// SenderID is the SAFE-ID the message claims (visitenkarte Nutzer_ID,
	// else additional_infos user_id); Report.Sender says what of it a
	// verified certificate confirms.
	SenderID string
	// Subject is the user's subject: Betreff, else additional_infos
	// subject; for a message without the EGVP structure the OSCI Subject.
	Subject      string
	Documents    []ReceivedDocument
	XJustiz      *XJustiz // the first XJustiz record, nil when none parsed
	EEBRequested bool     // the XJustiz record asks for an eEB
	Report       Report
	ProcessCard  *osci.ProcessCardBundle // Creation, Forwarding and the intermediary's inspections
	SenderCerts  osci.Certificates
}

// ReceivedDocument is one decrypted attachment or inline content.
type ReceivedDocument struct {
	// Name is the document's name as the sender gave it, unchanged: an
	// attachment's Content-ID, an inline content's Id (".txt" added to
	// a text without extension, ".bin" to other data). Making it a file
	// name for the intake is the intake's business.
	Name        string
	ContentType string // guessed from the extension
	Size        int64
	SHA256      string // hex, of the decrypted octets
	Path        string // the decrypted file in the caller's directory, under a neutral name
	Structured  bool   // an XJustiz record
	// Signed: a verified signature covers the document; Coverage says
	// which (CoverContent, CoverTransport) and SignedBy names its
	// certificates' subjects.
	Signed   bool
	Coverage string
	SignedBy []string
}

// Notes the report gives (German, for the Prüfprotokoll and metadata.json).
const (
	// NoteNotEndToEnd: a content container travelled only
	// transport-encrypted, as OSCI-Transport allows.
	NoteNotEndToEnd = "Inhalt nicht Ende-zu-Ende verschlüsselt"
	// NoteNotEGVP: the delivery has no EGVP structure; its containers were
	// read as plain OSCI content.
	NoteNotEGVP = "keine EGVP-Nachricht"
)

// Read decrypts and verifies d. Attachments are read from parts (as
// received); decrypted documents are written into dir under neutral
// names. Every failure of decryption or verification goes into the Report
// and the delivery is still returned. An error means that the delivery
// was not read: dir could not be written, the Reader lacks its cipher key
// or content-signer validator, or the delivery exceeds Limits
// (ErrTooLarge; it can be read again with higher limits).
func (r *Reader) Read(ctx context.Context, d *osci.Delivery, parts osci.AttachmentStore, dir string) (*Received, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	lim := limit.Fill(r.Limits, Limits{MaxFiles: 10000, MaxBytes: 2 << 30})
	out := &Received{MessageID: d.MessageID, ProcessCard: d.Card, SenderCerts: d.Sender, Report: Report{CheckedAt: t}}
	rep := &out.Report
	if d.Card != nil {
		out.OSCISubject = d.Card.ProcessCard.Subject
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	if d.Response != nil {
		rep.Signatures = append(rep.Signatures, supplierCheck(d.Response, t))
		rep.addCert("intermediary", d.Response.Signer)
	}
	rep.Inspections = inspectionFindings(d.Card)
	sender := r.transportCheck(ctx, d, t)
	key, ok := r.Cipher.Key.(crypto.Decrypter)
	if !ok || d.Response == nil {
		rep.problem("content: no cipher key to decrypt with, or no response")
		r.checkSender(ctx, d, out, sender)
		return out, nil
	}
	cs, err := osci.OpenContentPackage(d.Response.Message, &xmlenc.Decrypter{Key: key, SpoolDir: r.SpoolDir})
	if err != nil {
		rep.problem("content could not be decrypted or read: " + err.Error())
		r.checkSender(ctx, d, out, sender)
		return out, nil
	}
	// The sender's transport signature covers the whole storeDelivery;
	// it covers a container that carries no content signature once the
	// intermediary found it intact on a response whose signature we
	// verified (osci returns no other).
	transport := ""
	if sender.cert != nil && sender.check.Integrity == checkresult.OK && d.Response.Signature != nil {
		transport = certs.DN(sender.cert.Subject)
	}
	// The first project_coco makes an EGVP message, whose govello_coco is
	// read as EGVP too; every other container is read as plain content.
	project, govello := -1, -1
	for i, c := range cs {
		if c.ID == ContainerProject && project < 0 {
			project = i
		}
	}
	for i, c := range cs {
		if c.ID == ContainerGovello && govello < 0 && project >= 0 {
			govello = i
		}
	}
	out.EGVP = project >= 0
	if !out.EGVP {
		rep.note(NoteNotEGVP + ": die Nachricht hat keinen Container " + ContainerProject +
			"; ihre Inhalte wurden als OSCI-Inhalte gelesen (Texte als .txt, Anlagen unter ihren Namen).")
	}
	ex := &extractor{r: r, parts: parts, dir: dir, lim: lim}
	var reads []containerRead
	for _, c := range cs {
		if !c.Encrypted {
			rep.note(NoteNotEndToEnd + ": Container " + c.ID + " wurde nur transportverschlüsselt übermittelt.")
			if r.RequireEndToEnd {
				rep.Policy = append(rep.Policy, "Container "+c.ID+" ist nicht Ende-zu-Ende verschlüsselt; das Postfach verlangt Ende-zu-Ende-Verschlüsselung.")
			}
		}
		files, err := ex.extract(c)
		if err != nil {
			return nil, err
		}
		cov := coverage{transport: transport}
		if c.Signed() {
			checks, signers, refs := containerChecks(ctx, c, r.Trust.ContentSigner, files.open, t)
			rep.Signatures = append(rep.Signatures, checks...)
			for _, s := range signers {
				rep.addCert("author", s)
			}
			cov = coverage{signed: true, refs: refs}
		}
		reads = append(reads, containerRead{c: c, cov: cov, files: files})
	}
	for i := range reads {
		cr := &reads[i]
		var err error
		switch {
		case i == project:
			err = r.readProject(cr, ex, out)
		case i == govello:
			r.readGovello(cr, out)
		default:
			err = r.readPlain(cr, ex, out)
		}
		if err != nil {
			return nil, err
		}
	}
	r.readXJustiz(out)
	out.SenderID = out.Card.UserID
	if out.SenderID == "" {
		out.SenderID = out.Infos["user_id"]
	}
	out.Subject = out.Nachricht.Subject
	if out.Subject == "" {
		out.Subject = out.Infos["subject"]
	}
	if out.Subject == "" && !out.EGVP {
		out.Subject = out.OSCISubject
	}
	r.checkSender(ctx, d, out, sender)
	return out, nil
}

// containerRead is one container with what covers its contents and its
// attachments as files.
type containerRead struct {
	c     *osci.ReadContainer
	cov   coverage
	files *extracted
}

func (r *Reader) readGovello(cr *containerRead, out *Received) {
	for _, ct := range cr.c.Contents {
		read := ct.ID == FileAdditionalInfos && ct.Data != nil
		kind := ContentForm
		if !read {
			kind = ContentNotRead
		}
		out.Report.contentCheck(cr.c.ID, ct, kind, read, cr.cov, "")
		if read {
			infos, err := ParseAdditionalInfos(ct.Data)
			if err != nil {
				out.Report.problem(err.Error())
				continue
			}
			out.Infos = infos
		}
	}
}

// readProject reads project_coco as EGVP clients write it: the forms
// into the metadata, everything else as documents.
func (r *Reader) readProject(cr *containerRead, ex *extractor, out *Received) error {
	rep := &out.Report
	c := cr.c
	for _, ct := range c.Contents {
		var err error
		switch {
		case ct.Data != nil && ct.ID == FileNachricht:
			rep.contentCheck(c.ID, ct, ContentForm, true, cr.cov, "")
			out.Nachricht, err = ParseNachricht(ct.Data, r.XML)
			out.HasNachricht = err == nil
		case ct.Data != nil && ct.ID == FileVisitenkarte:
			rep.contentCheck(c.ID, ct, ContentForm, true, cr.cov, "")
			out.Card, err = ParseBusinessCard(ct.Data, r.XML)
			out.HasCard = err == nil
		case ct.Data != nil && ct.ID == FileHersteller:
			rep.contentCheck(c.ID, ct, ContentForm, true, cr.cov, "")
			out.Manufacturer, err = ParseManufacturer(ct.Data, r.XML)
			out.HasManufacturer = err == nil
		case ct.Data != nil && (ct.ID == FileNachrichtXSL || ct.ID == FileVisitenkarteXSL):
			rep.contentCheck(c.ID, ct, ContentStylesheet, false, cr.cov, "") // presentation only
		default:
			if err := r.readDocument(cr, ct, ex, out); err != nil {
				return err
			}
		}
		if err != nil {
			rep.problem(err.Error())
		}
	}
	return nil
}

// readPlain reads a container without the EGVP structure: every content
// is a document.
func (r *Reader) readPlain(cr *containerRead, ex *extractor, out *Received) error {
	for _, ct := range cr.c.Contents {
		if err := r.readDocument(cr, ct, ex, out); err != nil {
			return err
		}
	}
	return nil
}

// readDocument hands on one content as a document: an attachment from its
// extracted file, inline data written out now. A nested container is not
// read. An error is ours (the disk) or ErrTooLarge.
func (r *Reader) readDocument(cr *containerRead, ct osci.Content, ex *extractor, out *Received) error {
	rep := &out.Report
	c := cr.c
	if ct.Container != nil {
		rep.contentCheck(c.ID, ct, ContentNotRead, false, cr.cov, "")
		rep.problem("nested container in " + c.ID + " (" + ct.ID + ") is not read")
		return nil
	}
	name := documentName(ct)
	var doc ReceivedDocument
	if ct.Href != "" {
		f, ok := cr.files.docs[ct.Href]
		if !ok {
			rep.contentCheck(c.ID, ct, ContentDocument, false, cr.cov, name)
			rep.problem("document " + name + ": " + cr.files.failed[ct.Href].Error())
			return nil
		}
		doc = f
	} else {
		var err error
		if doc, err = ex.write(func(w io.Writer) error { _, err := w.Write(ct.Data); return err }); err != nil {
			return err
		}
	}
	doc.Name, doc.ContentType = name, ContentType(name)
	cc := rep.contentCheck(c.ID, ct, ContentDocument, true, cr.cov, name)
	doc.Signed, doc.Coverage, doc.SignedBy = cc.Signed, cc.Coverage, cc.SignedBy
	out.Documents = append(out.Documents, doc)
	return nil
}

// documentName is the name a content is handed on under, the sender's
// own: an attachment's Content-ID, an inline content's Id, with ".txt"
// for a text without extension (".bin" for other data); "inhalt.txt" for
// inline content without Id.
func documentName(ct osci.Content) string {
	if ct.Href != "" {
		return ct.Href
	}
	name := ct.ID
	if strings.Contains(name, ".") {
		return name
	}
	if name == "" {
		name = "inhalt"
	}
	if utf8.Valid(ct.Data) && !strings.ContainsRune(string(ct.Data), 0) {
		return name + ".txt"
	}
	return name + ".bin"
}

// extractor writes the documents of a delivery to files under neutral
// names, within the Reader's limits.
type extractor struct {
	r     *Reader
	parts osci.AttachmentStore
	dir   string
	lim   Limits
	n     int
	total int64
}

// extracted are the attachments of one container as files, by
// Content-ID (plaintext: decrypted when the container holds their key),
// and those that could not be extracted, with why.
type extracted struct {
	docs   map[string]ReceivedDocument
	failed map[string]error
}

// open gives an attachment's plaintext for content signature references:
// the reference library digests what an attachment carries, so for one
// encrypted under a key in the container the decrypted octets (see
// ContentContainer.sign and Attachment.getDigestValue in the library),
// for any other the octets as received.
func (x *extracted) open(cid string) (io.ReadCloser, error) {
	if err, ok := x.failed[cid]; ok {
		return nil, err
	}
	if d, ok := x.docs[cid]; ok {
		f, err := os.Open(d.Path)
		if err != nil {
			return nil, err
		}
		// The digest of what write put into the file, taken while it wrote.
		if sum, err := hex.DecodeString(d.SHA256); err == nil && len(sum) == sha256.Size {
			return xmlsec.WithKnownDigest(f, crypto.SHA256, sum), nil
		}
		return f, nil
	}
	return nil, fmt.Errorf("%w: attachment %q is not referenced by a content of the container", ErrInvalid, cid)
}

// extract writes each attachment c references to a file, once,
// decrypted when c holds its key; nothing is kept that did not
// authenticate. An error is ours (the disk) or ErrTooLarge.
func (x *extractor) extract(c *osci.ReadContainer) (*extracted, error) {
	out := &extracted{docs: map[string]ReceivedDocument{}, failed: map[string]error{}}
	for _, ct := range c.Contents {
		if ct.Href == "" {
			continue
		}
		if _, done := out.docs[ct.Href]; done || out.failed[ct.Href] != nil {
			continue
		}
		doc, err := x.write(func(w io.Writer) error {
			if c.AttachmentEncrypted(ct.Href) {
				_, err := c.DecryptAttachment(w, ct.Href, partOpener{x.parts}, x.r.SpoolDir)
				return err
			}
			src, err := x.parts.Open(ct.Href)
			if err != nil {
				return err
			}
			defer src.Close()
			_, err = io.Copy(w, src)
			return err
		})
		switch {
		case isIOError(err) || errors.Is(err, ErrTooLarge):
			return nil, err
		case err != nil:
			out.failed[ct.Href] = err
		default:
			out.docs[ct.Href] = doc
		}
	}
	return out, nil
}

// write writes one document to a new file under a neutral name.
func (x *extractor) write(fill func(io.Writer) error) (ReceivedDocument, error) {
	if x.n >= x.lim.MaxFiles {
		return ReceivedDocument{}, fmt.Errorf("%w: more than %d documents", ErrTooLarge, x.lim.MaxFiles)
	}
	x.n++
	doc := ReceivedDocument{Path: filepath.Join(x.dir, fmt.Sprintf("doc-%05d", x.n))}
	f, err := os.OpenFile(doc.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return doc, &ioError{fmt.Errorf("egvp: document file: %w", err)}
	}
	// The file write and the hash run beside the decryption, on the
	// other core. The file is fsync'd when it becomes a blob: its write
	// back starts while it is written.
	h := sha256.New()
	bw := behind.New(io.MultiWriter(writeback.New(f), h))
	w := &capWriter{w: bw, left: x.lim.MaxBytes - x.total}
	err = fill(w)
	if berr := bw.Close(); err == nil && berr != nil {
		err = &ioError{berr}
	}
	sum := h.Sum(nil)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = &ioError{cerr}
	}
	if w.over {
		err = fmt.Errorf("%w: documents exceed %d bytes", ErrTooLarge, x.lim.MaxBytes)
	}
	if err != nil {
		os.Remove(doc.Path)
		return doc, err
	}
	x.total += w.n
	doc.Size, doc.SHA256 = w.n, hex.EncodeToString(sum)
	return doc, nil
}

// ioError marks failures of our own disk, which are errors, not findings.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

func isIOError(err error) bool {
	var e *ioError
	return errors.As(err, &e)
}

// partOpener lets an AttachmentStore serve as xmlenc.PartOpener.
type partOpener struct{ s osci.AttachmentStore }

func (p partOpener) OpenPart(cid string) (io.ReadCloser, error) {
	if o, ok := p.s.(xmlenc.PartOpener); ok {
		return o.OpenPart(cid) // in place, where the store can
	}
	return p.s.Open(cid)
}

type capWriter struct {
	w    io.Writer
	left int64
	n    int64
	over bool
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left-c.n {
		c.over = true
		return 0, ErrTooLarge
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		err = &ioError{err}
	}
	return n, err
}

// readXJustiz parses the XJustiz records among the documents; the first
// (xjustiz_nachricht.xml by the ERVB rule) gives the message id.
func (r *Reader) readXJustiz(out *Received) {
	for i := range out.Documents {
		doc := &out.Documents[i]
		if !IsXJustizName(doc.Name) {
			continue
		}
		doc.Structured = true
		f, err := os.Open(doc.Path)
		if err != nil {
			out.Report.problem("xjustiz: " + err.Error())
			continue
		}
		x, err := ParseXJustiz(f, r.XML)
		f.Close()
		if err != nil {
			out.Report.problem(err.Error())
			continue
		}
		if x.EEBRequested {
			out.EEBRequested = true
		}
		if out.XJustiz == nil || strings.EqualFold(doc.Name, FileXJustiz) {
			xc := x
			out.XJustiz = &xc
		}
	}
}

// ContentType guesses a media type from a file name's extension.
func ContentType(name string) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ext = strings.ToLower(name[i+1:])
	}
	switch ext {
	case "pdf":
		return "application/pdf"
	case "xml":
		return "application/xml"
	case "tif", "tiff":
		return "image/tiff"
	case "p7s", "pkcs7", "p7m":
		return "application/pkcs7-signature"
	case "txt":
		return "text/plain"
	case "html", "htm":
		return "text/html"
	case "xsl":
		return "application/xslt+xml"
	}
	return "application/octet-stream"
}

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

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
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
	// read even if it breaks them. Zero fields: 10000 files, 2 GiB.
	Limits Limits
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
	SenderID     string
	Subject      string // the user's subject: Betreff, else additional_infos subject
	Documents    []ReceivedDocument
	XJustiz      *XJustiz // the first XJustiz record, nil when none parsed
	EEBRequested bool     // the XJustiz record asks for an eEB
	Report       Report
	ProcessCard  *osci.ProcessCardBundle // Creation, Forwarding and the intermediary's inspections
	SenderCerts  osci.Certificates
}

// ReceivedDocument is one decrypted attachment or inline content.
type ReceivedDocument struct {
	Name        string // the Content Id as the sender wrote it
	ContentType string // guessed from the extension
	Size        int64
	SHA256      string // hex, of the decrypted octets
	Path        string // the decrypted file in the caller's directory
	Structured  bool   // an XJustiz record
	// Signed: verified content signatures cover the document (its Id and
	// octets); SignedBy names their certificates' subjects.
	Signed   bool
	SignedBy []string
}

// Read decrypts and verifies d. Attachments are read from parts (as
// received); decrypted documents are written into dir. Every failure of
// decryption or verification goes into the Report and the delivery is
// still returned; an error means only that dir could not be written or
// that the Reader lacks its cipher key or content-signer validator.
func (r *Reader) Read(ctx context.Context, d *osci.Delivery, parts osci.AttachmentStore, dir string) (*Received, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	lim := r.Limits
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = 10000
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = 2 << 30
	}
	out := &Received{MessageID: d.MessageID, ProcessCard: d.Card, SenderCerts: d.Sender, Report: Report{CheckedAt: t}}
	rep := &out.Report
	if d.Card != nil {
		out.OSCISubject = d.Card.ProcessCard.Subject
	}
	if d.Response != nil {
		rep.Signatures = append(rep.Signatures, supplierCheck(d.Response, t))
		rep.addCert("intermediary", d.Response.Signer)
	}
	rep.Problems = append(rep.Problems, inspectionProblems(d.Card)...)
	if err := r.check(); err != nil {
		return nil, err
	}
	key, ok := r.Cipher.Key.(crypto.Decrypter)
	if !ok || d.Response == nil {
		rep.problem("content: no cipher key to decrypt with, or no response")
		return out, nil
	}
	cs, err := osci.OpenContentPackage(d.Response.Message, &xmlenc.Decrypter{Key: key, SpoolDir: r.SpoolDir})
	if err != nil {
		rep.problem("content could not be decrypted or read: " + err.Error())
		return out, nil
	}
	var project, govello *osci.ReadContainer
	var projectCov, govelloCov coverage
	for _, c := range cs {
		if !c.Encrypted {
			rep.problem("container " + c.ID + " was not end-to-end encrypted")
		}
		var cov coverage
		if c.Signed() {
			checks, signers, cv := containerChecks(ctx, c, r.Trust.ContentSigner, parts.Open, t)
			rep.Signatures = append(rep.Signatures, checks...)
			for _, s := range signers {
				rep.addCert("author", s)
			}
			cov = cv
		}
		switch {
		case c.ID == ContainerProject && project == nil:
			project, projectCov = c, cov
		case c.ID == ContainerGovello && govello == nil:
			govello, govelloCov = c, cov
		default:
			// Not read, so not handed on; listed so that nothing is
			// dropped unseen.
			for _, ct := range c.Contents {
				rep.contentCheck(c.ID, ct, ContentNotRead, false, cov)
			}
		}
	}
	if govello != nil {
		r.readGovello(govello, govelloCov, out)
	}
	if project == nil {
		rep.problem(ErrNoContent.Error() + ": no " + ContainerProject)
	} else if err := r.readProject(project, projectCov, parts, dir, lim, out); err != nil {
		return nil, err
	}
	out.SenderID = out.Card.UserID
	if out.SenderID == "" {
		out.SenderID = out.Infos["user_id"]
	}
	out.Subject = out.Nachricht.Subject
	if out.Subject == "" {
		out.Subject = out.Infos["subject"]
	}
	r.checkSender(ctx, d, out, t)
	return out, nil
}

func (r *Reader) readGovello(c *osci.ReadContainer, cov coverage, out *Received) {
	for _, ct := range c.Contents {
		read := ct.ID == FileAdditionalInfos && ct.Data != nil
		kind := ContentForm
		if !read {
			kind = ContentNotRead
		}
		out.Report.contentCheck(c.ID, ct, kind, read, cov)
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

func (r *Reader) readProject(c *osci.ReadContainer, cov coverage, parts osci.AttachmentStore, dir string, lim Limits, out *Received) error {
	rep := &out.Report
	var names []string
	for _, ct := range c.Contents {
		names = append(names, ct.ID)
	}
	files := UniqueNames(names)
	var total int64
	for i, ct := range c.Contents {
		var err error
		switch {
		case ct.Data != nil && ct.ID == FileNachricht:
			rep.contentCheck(c.ID, ct, ContentForm, true, cov)
			out.Nachricht, err = ParseNachricht(ct.Data, r.XML)
			out.HasNachricht = err == nil
		case ct.Data != nil && ct.ID == FileVisitenkarte:
			rep.contentCheck(c.ID, ct, ContentForm, true, cov)
			out.Card, err = ParseBusinessCard(ct.Data, r.XML)
			out.HasCard = err == nil
		case ct.Data != nil && ct.ID == FileHersteller:
			rep.contentCheck(c.ID, ct, ContentForm, true, cov)
			out.Manufacturer, err = ParseManufacturer(ct.Data, r.XML)
			out.HasManufacturer = err == nil
		case ct.Data != nil && (ct.ID == FileNachrichtXSL || ct.ID == FileVisitenkarteXSL):
			rep.contentCheck(c.ID, ct, ContentStylesheet, false, cov) // presentation only
		case ct.Container != nil:
			rep.contentCheck(c.ID, ct, ContentNotRead, false, cov)
			rep.problem("nested container in " + c.ID + " (" + ct.ID + ") is not read")
		default:
			if len(out.Documents) >= lim.MaxFiles {
				rep.contentCheck(c.ID, ct, ContentNotRead, false, cov)
				rep.problem(fmt.Sprintf("more than %d documents; %s not read", lim.MaxFiles, ct.ID))
				continue
			}
			doc, ferr := r.document(c, ct, parts, dir, files[i], lim.MaxBytes-total)
			if ferr != nil {
				if isIOError(ferr) {
					return ferr
				}
				rep.contentCheck(c.ID, ct, ContentDocument, false, cov)
				rep.problem("document " + ct.ID + ": " + ferr.Error())
				continue
			}
			cc := rep.contentCheck(c.ID, ct, ContentDocument, true, cov)
			doc.Signed, doc.SignedBy = cc.Signed, cc.SignedBy
			total += doc.Size
			out.Documents = append(out.Documents, doc)
		}
		if err != nil {
			rep.problem(err.Error())
		}
	}
	r.readXJustiz(out)
	return nil
}

// ioError marks failures of our own disk, which are errors, not findings.
type ioError struct{ err error }

func (e *ioError) Error() string { return e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

func isIOError(err error) bool {
	var e *ioError
	return errors.As(err, &e)
}

// document writes one content to dir/file: decrypted attachment, plain
// attachment, or inline data. Nothing is kept unless it authenticated.
func (r *Reader) document(c *osci.ReadContainer, ct osci.Content, parts osci.AttachmentStore, dir, file string, room int64) (ReceivedDocument, error) {
	doc := ReceivedDocument{Name: ct.ID, ContentType: ContentType(ct.ID), Path: filepath.Join(dir, file)}
	f, err := os.OpenFile(doc.Path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return doc, &ioError{fmt.Errorf("egvp: document file: %w", err)}
	}
	h := sha256.New()
	w := &capWriter{w: io.MultiWriter(f, h), left: room}
	switch {
	case ct.Data != nil:
		_, err = w.Write(ct.Data)
	case ct.Href != "" && c.AttachmentEncrypted(ct.Href):
		_, err = c.DecryptAttachment(w, ct.Href, partOpener{parts}, r.SpoolDir)
	case ct.Href != "":
		var src io.ReadCloser
		if src, err = parts.Open(ct.Href); err == nil {
			_, err = io.Copy(w, src)
			src.Close()
		}
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = &ioError{cerr}
	}
	if w.over {
		err = fmt.Errorf("%w: documents exceed the limit", ErrTooLarge)
	}
	if err != nil {
		os.Remove(doc.Path)
		return doc, err
	}
	doc.Size, doc.SHA256 = w.n, hex.EncodeToString(h.Sum(nil))
	return doc, nil
}

// partOpener lets an AttachmentStore serve as xmlenc.PartOpener.
type partOpener struct{ s osci.AttachmentStore }

func (p partOpener) OpenPart(cid string) (io.ReadCloser, error) { return p.s.Open(cid) }

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

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
	Cipher    *certs.KeyPair   // our cipher key pair (content is encrypted to it)
	Validator *certs.Validator // checks content signers and the sender's certificates
	SpoolDir  string           // ciphertext spools while decrypting ("" = system temp dir)
	Now       func() time.Time
	XML       xmlsec.Limits // for nachricht.xml, visitenkarte.xml, … and XJustiz records
	// Limits guard our disk, not the ERVB rules: what a sender sent is
	// read even if it breaks them. Zero fields: 10000 files, 2 GiB.
	Limits Limits
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
	SenderID        string          // SAFE-ID: visitenkarte Nutzer_ID, else additional_infos user_id
	Subject         string          // the user's subject: Betreff, else additional_infos subject
	Documents       []ReceivedDocument
	XJustiz         *XJustiz // the first XJustiz record, nil when none parsed
	EEBRequested    bool     // the XJustiz record asks for an eEB
	Report          Report
	ProcessCard     *osci.ProcessCardBundle // Creation, Forwarding and the intermediary's inspections
	SenderCerts     osci.Certificates
}

// ReceivedDocument is one decrypted attachment or inline content.
type ReceivedDocument struct {
	Name        string // the Content Id as the sender wrote it
	ContentType string // guessed from the extension
	Size        int64
	SHA256      string // hex, of the decrypted octets
	Path        string // the decrypted file in the caller's directory
	Structured  bool   // an XJustiz record
}

// Read decrypts and verifies d. Attachments are read from parts (as
// received); decrypted documents are written into dir. Every failure of
// decryption or verification goes into the Report and the delivery is
// still returned; an error means only that dir could not be written.
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
	if r.Cipher == nil || r.Validator == nil {
		return nil, fmt.Errorf("%w: reader without cipher key or validator", ErrInvalid)
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
	for _, c := range cs {
		if !c.Encrypted {
			rep.problem("container " + c.ID + " was not end-to-end encrypted")
		}
		if c.Signed() {
			checks, signers := containerChecks(ctx, c, r.Validator, parts.Open, t)
			rep.Signatures = append(rep.Signatures, checks...)
			for _, s := range signers {
				rep.addCert("author", s)
			}
		}
		switch c.ID {
		case ContainerProject:
			project = c
		case ContainerGovello:
			govello = c
		}
	}
	if govello != nil {
		r.readGovello(govello, out)
	}
	if project == nil {
		rep.problem(ErrNoContent.Error() + ": no " + ContainerProject)
	} else if err := r.readProject(project, parts, dir, lim, out); err != nil {
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
	bebpo := out.Card.RoleID == RoleBeBPo
	sc, vhn := senderCheck(ctx, d.Sender, d.Card, r.Validator, bebpo, t)
	// A VHN certificate names its mailbox (subject UID): a message whose
	// forms claim another sender is not covered by it.
	if uid := certSafeID(d.Sender.Get(osci.SignatureOriginator)); uid != "" && uid != out.Card.UserID && uid != out.Infos["user_id"] {
		rep.problem("the sender's signature certificate belongs to " + uid + ", the message claims " + out.SenderID)
		vhn = false
		sc.Detail = joinDetail(sc.Detail, "certificate UID does not match the sender")
	}
	rep.Signatures = append(rep.Signatures, sc)
	rep.addCert("originator", d.Sender.Get(osci.CipherOriginator))
	if bebpo {
		rep.addCert("vhn", d.Sender.Get(osci.SignatureOriginator))
	} else {
		rep.addCert("originator_signature", d.Sender.Get(osci.SignatureOriginator))
	}
	rep.addCert("addressee", d.Sender.Get(osci.CipherAddressee))
	if vhn {
		rep.VHNPresent, rep.VHNText = true, VHNText
	}
	return out, nil
}

func (r *Reader) readGovello(c *osci.ReadContainer, out *Received) {
	for _, ct := range c.Contents {
		if ct.ID == FileAdditionalInfos && ct.Data != nil {
			infos, err := ParseAdditionalInfos(ct.Data)
			if err != nil {
				out.Report.problem(err.Error())
				continue
			}
			out.Infos = infos
		}
	}
}

func (r *Reader) readProject(c *osci.ReadContainer, parts osci.AttachmentStore, dir string, lim Limits, out *Received) error {
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
			out.Nachricht, err = ParseNachricht(ct.Data, r.XML)
			out.HasNachricht = err == nil
		case ct.Data != nil && ct.ID == FileVisitenkarte:
			out.Card, err = ParseBusinessCard(ct.Data, r.XML)
			out.HasCard = err == nil
		case ct.Data != nil && ct.ID == FileHersteller:
			out.Manufacturer, err = ParseManufacturer(ct.Data, r.XML)
			out.HasManufacturer = err == nil
		case ct.Data != nil && (ct.ID == FileNachrichtXSL || ct.ID == FileVisitenkarteXSL):
			// presentation only
		case ct.Container != nil:
			rep.problem("nested container in " + c.ID + " (" + ct.ID + ") is not read")
		default:
			if len(out.Documents) >= lim.MaxFiles {
				rep.problem(fmt.Sprintf("more than %d documents; %s not read", lim.MaxFiles, ct.ID))
				continue
			}
			doc, ferr := r.document(c, ct, parts, dir, files[i], lim.MaxBytes-total)
			if ferr != nil {
				if isIOError(ferr) {
					return ferr
				}
				rep.problem("document " + ct.ID + ": " + ferr.Error())
				continue
			}
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

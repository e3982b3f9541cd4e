package ervb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/pdf"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// ErrRefused is what Findings.Err wraps when a finding is an error: the
// message must not be queued.
var ErrRefused = errors.New("ervb: message refused")

// Severity says whether a finding refuses the message.
type Severity string

const (
	SeverityError   Severity = "error"   // the message must not be sent
	SeverityWarning Severity = "warning" // sent, but the clerk should look
)

// Rule is a stable machine code of one ERVB rule; callers and scripts
// match on it, the German message may change.
type Rule string

// The rules. Each finding names exactly one.
const (
	RuleTooManyFiles     Rule = "too-many-files"        // more than Limits.MaxFiles files
	RuleMessageTooLarge  Rule = "message-too-large"     // more than Limits.MaxBytes bytes together
	RuleFileName         Rule = "file-name"             // the ERVB file name rule (mailbox.ValidFileName)
	RuleDuplicateName    Rule = "file-name-duplicate"   // two names equal without regard to case
	RuleFileType         Rule = "file-type"             // an extension ERVB does not allow (Word, ZIP, programs, ...)
	RuleContentMismatch  Rule = "content-mismatch"      // the content is not what the extension says
	RuleFileUnreadable   Rule = "file-unreadable"       // the file could not be read
	RulePDFUnreadable    Rule = "pdf-unreadable"        // header, cross-reference or objects do not parse
	RulePDFEncrypted     Rule = "pdf-encrypted"         // /Encrypt in the trailer
	RulePDFJavaScript    Rule = "pdf-javascript"        // /JS, /JavaScript actions or name trees, XFA forms
	RulePDFEmbeddedFile  Rule = "pdf-embedded-file"     // /EmbeddedFile(s), /EF, file attachment or rich media annotations
	RulePDFExternalCall  Rule = "pdf-external-action"   // /Launch, /GoToR, /GoToE, /SubmitForm, /ImportData
	RulePDFExternalRef   Rule = "pdf-external-ref"      // content loaded from outside: external streams (/F), reference XObjects, URL file specifications
	RulePDFLink          Rule = "pdf-link"              // /URI actions: links the reader may follow (warning)
	RulePDFFontMissing   Rule = "pdf-font-not-embedded" // a font without its font program (warning)
	RuleCheckLimit       Rule = "check-limit"           // the file exceeds what the check reads; it cannot be vouched for
	RuleTIFFUnreadable   Rule = "tiff-unreadable"       // header or first IFD do not parse
	RuleSignatureOrphan  Rule = "signature-orphan"      // a .p7s without the document it signs
	RuleSignatureInvalid Rule = "signature-unreadable"  // a .p7s that is not a CMS signature
	// Rules of CheckSignatures, which needs the trust settings.
	RuleSignatureBroken      Rule = "signature-broken"      // a signature on a document does not verify: altered after signing, forged, invalid certificate
	RuleSignatureUnconfirmed Rule = "signature-unconfirmed" // a signature without a result here: an issuer outside our trust set, an unsupported format (warning)
	RuleSignatureIncomplete  Rule = "signature-incomplete"  // a PDF signature over an earlier version only (warning)
	RuleRecordName           Rule = "xml-not-record"        // an XML file other than the XJustiz record
)

// Finding is one result of the pre-flight.
type Finding struct {
	Severity Severity `json:"severity"`
	File     string   `json:"file,omitempty"` // "" for the message as a whole
	Rule     Rule     `json:"rule"`
	Message  string   `json:"message"` // German, for the clerk
}

func (f Finding) String() string {
	file := f.File
	if file == "" {
		file = "(Nachricht)"
	}
	return fmt.Sprintf("%s %s %s: %s", f.Severity, file, f.Rule, f.Message)
}

// Findings are all findings of one message, in file order.
type Findings []Finding

// Errors returns the findings that refuse the message.
func (fs Findings) Errors() Findings {
	var out Findings
	for _, f := range fs {
		if f.Severity == SeverityError {
			out = append(out, f)
		}
	}
	return out
}

// Err is nil when no finding is an error, else an error wrapping
// ErrRefused that names the count and the first.
func (fs Findings) Err() error {
	errs := fs.Errors()
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d errors, first: %s", ErrRefused, len(errs), errs[0])
}

// File is one file of a message to check. Open is called once; when what
// it returns is an io.ReaderAt with Stat (an *os.File) it is read in
// place, otherwise its content is spooled to a temporary file first.
type File struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// OSFile is a File for a path on disk, under the given name.
func OSFile(name, path string) File {
	return File{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// Limits are the ERVB limits and the bounds of the content checks. Zero
// fields take the defaults.
type Limits struct {
	MaxFiles int   // files per message; default 1000 (ERVB since 2023)
	MaxBytes int64 // all files together; default 200 MB (200,000,000 bytes)
	// PDF bounds what one PDF may cost the check; a PDF beyond them is
	// refused with RuleCheckLimit, since it cannot be vouched for.
	PDF pdf.Limits
	// MaxTIFFEntries bounds the entries of a TIFF's first IFD; default 4096.
	MaxTIFFEntries int
	// MaxSignatureBytes bounds a .p7s; default 1 MiB.
	MaxSignatureBytes int64
}

// WithDefaults fills zero fields.
func (l Limits) WithDefaults() Limits {
	l.PDF = l.PDF.WithDefaults()
	return limit.Fill(l, Limits{MaxFiles: 1000, MaxBytes: 200_000_000, MaxTIFFEntries: 4096, MaxSignatureBytes: 1 << 20})
}

// Checker runs the pre-flight. The zero value is ready to use.
type Checker struct {
	Limits Limits
	// TempDir receives content that is not a file already (spooled,
	// removed after the check); "" is os.TempDir().
	TempDir string
}

// RecordName is the XJustiz record a message to a court carries; its
// content is checked by the XJustiz validator, not here.
const RecordName = "xjustiz_nachricht.xml"

// SignatureExt is the extension of a detached signature, appended to the
// name of the document it signs (Klage_<uuid>.pdf.p7s), as the justice
// sample data name them; the rule is mailbox's.
const SignatureExt = mailbox.SignatureExt

// Check checks one message: its file count and size, every name, and
// every file's content. It returns every finding; the error is not nil
// only when the check itself could not run (ctx cancelled, the temporary
// directory unusable) and then the findings are incomplete.
func (c *Checker) Check(ctx context.Context, files []File) (Findings, error) {
	lim := c.Limits.WithDefaults()
	var out Findings
	add := func(sev Severity, file string, rule Rule, format string, a ...any) {
		out = append(out, Finding{Severity: sev, File: file, Rule: rule, Message: fmt.Sprintf(format, a...)})
	}
	if len(files) > lim.MaxFiles {
		add(SeverityError, "", RuleTooManyFiles, "Die Nachricht enthält %d Dateien; erlaubt sind höchstens %d.", len(files), lim.MaxFiles)
	}
	names := map[string]bool{}
	keys := map[string]string{}
	for _, f := range files {
		names[f.Name] = true
	}
	var total int64
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if msg := nameProblem(f.Name); msg != "" {
			add(SeverityError, f.Name, RuleFileName, "%s", msg)
		}
		key := mailbox.FileNameKey(f.Name)
		if first, dup := keys[key]; dup {
			add(SeverityError, f.Name, RuleDuplicateName, "Der Dateiname gleicht %q, wenn man Groß- und Kleinschreibung nicht unterscheidet.", first)
		} else {
			keys[key] = f.Name
		}
		size, fs, err := c.checkFile(ctx, lim, f, names)
		if err != nil {
			return out, err
		}
		total += size
		out = append(out, fs...)
	}
	if total > lim.MaxBytes {
		add(SeverityError, "", RuleMessageTooLarge, "Die Dateien sind zusammen %s groß; erlaubt sind höchstens %s.", mb(total), mb(lim.MaxBytes))
	}
	return out, nil
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// nameProblem is the German finding for a name that breaks the ERVB rule
// of package mailbox (a detached signature's name included), or "".
func nameProblem(name string) string {
	if err := mailbox.ValidFileName(name); err != nil {
		return "Der Dateiname verstößt gegen die ERVB (Buchstaben, Ziffern, _ und -, ein Punkt vor der Endung, bei einer Signatur " +
			"der Name des Dokuments mit .p7s, höchstens 90 Zeichen): " + strings.TrimPrefix(err.Error(), mailbox.ErrFileName.Error()+": ")
	}
	return ""
}

func fileExt(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return ""
	}
	return strings.ToLower(name[i+1:])
}

// content is an opened file with random access.
type content struct {
	r    io.ReaderAt
	size int64
}

// checkFile opens f and checks its content by its extension.
func (c *Checker) checkFile(ctx context.Context, lim Limits, f File, names map[string]bool) (int64, Findings, error) {
	one := func(sev Severity, rule Rule, format string, a ...any) Findings {
		return Findings{{Severity: sev, File: f.Name, Rule: rule, Message: fmt.Sprintf(format, a...)}}
	}
	src, closeFn, err := c.open(f, lim)
	if err != nil {
		if errors.Is(err, errSpool) {
			return 0, nil, err
		}
		return 0, one(SeverityError, RuleFileUnreadable, "Die Datei kann nicht gelesen werden: %v", err), nil
	}
	defer closeFn()
	ext := fileExt(f.Name)
	kind := sniff(src)
	switch ext {
	case "pdf":
		if kind != kindPDF {
			return src.size, one(SeverityError, RuleContentMismatch, "Die Datei heißt .pdf, ist aber %s.", kind.German()), nil
		}
		return src.size, checkPDF(ctx, f.Name, src, lim), nil
	case "tif", "tiff":
		if kind != kindTIFF {
			return src.size, one(SeverityError, RuleContentMismatch, "Die Datei heißt .%s, ist aber %s.", ext, kind.German()), nil
		}
		return src.size, checkTIFF(f.Name, src, lim), nil
	case "p7s":
		return src.size, checkSignatureFile(f.Name, src, lim, names), nil
	case "xml":
		if !strings.EqualFold(f.Name, RecordName) {
			return src.size, one(SeverityError, RuleRecordName, "XML-Dateien sind nur als strukturierter Datensatz %s zulässig.", RecordName), nil
		}
		if kind != kindXML {
			return src.size, one(SeverityError, RuleContentMismatch, "Die Datei heißt .xml, ist aber %s.", kind.German()), nil
		}
		return src.size, nil, nil
	}
	what := ""
	if kind != kindUnknown {
		what = " (der Inhalt ist " + kind.German() + ")"
	}
	return src.size, one(SeverityError, RuleFileType, "Dateien mit der Endung %q sind im elektronischen Rechtsverkehr nicht zulässig%s; erlaubt sind PDF und TIFF.", ext, what), nil
}

var errSpool = errors.New("ervb: cannot spool content to a temporary file")

type statReaderAt interface {
	io.ReaderAt
	Stat() (fs.FileInfo, error)
}

// open gives random access to f's content: in place for a file, else
// spooled (at most MaxBytes+1 bytes: beyond that the size is all that
// matters).
func (c *Checker) open(f File, lim Limits) (content, func(), error) {
	if f.Open == nil {
		return content{}, nil, errors.New("no content")
	}
	rc, err := f.Open()
	if err != nil {
		return content{}, nil, err
	}
	if s, ok := rc.(statReaderAt); ok {
		if fi, err := s.Stat(); err == nil && fi.Mode().IsRegular() {
			return content{r: s, size: fi.Size()}, func() { rc.Close() }, nil
		}
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(c.TempDir, "ervb-*")
	if err != nil {
		return content{}, nil, fmt.Errorf("%w: %w", errSpool, err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, io.LimitReader(rc, lim.MaxBytes+1))
	if err != nil {
		cleanup()
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == tmp.Name() {
			return content{}, nil, fmt.Errorf("%w: %w", errSpool, err)
		}
		return content{}, nil, err
	}
	return content{r: tmp, size: n}, cleanup, nil
}

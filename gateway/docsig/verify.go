package docsig

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/checkresult"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/limit"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Sentinel errors. Every Result.Err wraps exactly one of them (a
// certificate failure wraps ErrCertificate and the certs sentinel).
var (
	ErrMalformed        = errors.New("docsig: malformed signature")
	ErrUnsupported      = errors.New("docsig: unsupported signature")
	ErrWeakAlgorithm    = errors.New("docsig: weak algorithm")
	ErrNoSigner         = errors.New("docsig: signer certificate not in the signature")
	ErrSignatureInvalid = errors.New("docsig: signature value does not verify")
	ErrDigestMismatch   = errors.New("docsig: signed content altered")
	ErrByteRange        = errors.New("docsig: byte range does not cover the document")
	ErrSigningTime      = errors.New("docsig: signing time implausible")
	ErrCertificate      = errors.New("docsig: signer certificate not valid")
	ErrTooLarge         = errors.New("docsig: signature too large")
	ErrConfig           = errors.New("docsig: verifier misconfigured")
	ErrNoDocument       = errors.New("docsig: signed document not in the message")
)

// Kinds of signature.
const (
	KindDetached = "p7s" // a detached CMS signature file beside the document
	KindPDF      = "pdf" // a signature inside the PDF (/Sig with /ByteRange)
)

// Result is the check of one signature of one document, for the
// Prüfprotokoll beside the transport signatures (SignatureCheck).
type Result struct {
	Document      string `json:"document"`                // the signed document's name
	Kind          string `json:"kind"`                    // KindDetached or KindPDF
	SignatureFile string `json:"signatureFile,omitempty"` // the .p7s (KindDetached)
	Field         string `json:"field,omitempty"`         // the signature field's name (KindPDF)
	Signer        string `json:"signer,omitempty"`
	Issuer        string `json:"issuer,omitempty"`
	Serial        string `json:"serial,omitempty"` // hexadecimal
	// SigningTime is the time the signer claims (signed attribute
	// signingTime, else the PDF's /M); zero when there is none. It is
	// not a timestamp: nothing but the signer vouches for it.
	SigningTime time.Time `json:"signingTime,omitzero"`
	Digest      string    `json:"digest,omitempty"` // e.g. "SHA-256"
	// Integrity is checkresult.OK (the signed bytes are unchanged and
	// the signature value verifies), checkresult.Corrupted, or
	// checkresult.Indeterminate (the signature could not be evaluated).
	Integrity   string        `json:"integrity"`
	Certificate *certs.Result `json:"certificate,omitempty"`
	// Qualification is what the valid certificate says of itself.
	Qualification Qualification `json:"qualification"`
	// WholeFile (KindPDF): the signature covers the file to its end; false
	// when the file was extended after signing (further signatures,
	// annotations, or changes the signature does not cover).
	WholeFile bool      `json:"wholeFile,omitempty"`
	CheckedAt time.Time `json:"checkedAt"`
	Err       error     `json:"-"`
	Error     string    `json:"error,omitempty"`
}

// Valid reports an intact signature by a valid certificate.
func (r Result) Valid() bool { return r.Err == nil }

// Status is the signature's result for the Prüfprotokoll:
// checkresult.Valid, checkresult.Invalid (the content was altered, the value
// is forged, or the certificate is not valid) or checkresult.Indeterminate (it
// could not be decided, e.g. an issuer outside the trust set).
func (r Result) Status() string {
	switch {
	case r.Err == nil:
		return checkresult.Valid
	case r.Integrity == checkresult.Corrupted || r.CertValidity() == checkresult.Invalid:
		return checkresult.Invalid
	}
	return checkresult.Indeterminate
}

// CertValidity is checkresult.Valid, checkresult.Invalid or
// checkresult.Indeterminate (not reached, untrusted issuer, revocation unknown).
func (r Result) CertValidity() string {
	switch {
	case r.Certificate != nil && r.Certificate.Valid && !errors.Is(r.Err, ErrSigningTime):
		return checkresult.Valid
	case errors.Is(r.Err, certs.ErrNotTrusted), errors.Is(r.Err, certs.ErrRevocationUnavailable):
		return checkresult.Indeterminate
	case errors.Is(r.Err, ErrCertificate), errors.Is(r.Err, ErrSigningTime):
		return checkresult.Invalid
	}
	return checkresult.Indeterminate
}

// SignatureCheck is the entry for the Prüfprotokoll (Kind "document").
func (r Result) SignatureCheck() mailbox.SignatureCheck {
	obj := r.Document
	if r.SignatureFile != "" {
		obj += " (" + r.SignatureFile + ")"
	} else if r.Field != "" {
		obj += " (Signaturfeld " + r.Field + ")"
	}
	sc := mailbox.SignatureCheck{Object: obj, Kind: mailbox.SignatureKindDocument, Integrity: r.Integrity, CertValidity: r.CertValidity(),
		Signer: r.Signer, Issuer: r.Issuer, Serial: r.Serial, SigningTime: r.SigningTime, CheckedAt: r.CheckedAt, Detail: r.detail(),
		Document: r.Document, Result: r.Status()}
	if sc.CertValidity == checkresult.Valid {
		sc.CertType = "advanced"
		if r.Qualification.Qualified {
			sc.CertType = "qualified"
		}
	}
	return sc
}

// detail is the German note of the report.
func (r Result) detail() string {
	var d string
	switch {
	case r.Err == nil && r.Qualification.Qualified && r.Qualification.QSCD:
		d = "Qualifizierte elektronische Signatur gültig."
		if r.Qualification.Type == "eseal" {
			d = "Qualifiziertes elektronisches Siegel gültig."
		}
	case r.Err == nil && r.Qualification.Qualified:
		d = "Signatur mit qualifiziertem Zertifikat gültig."
	case r.Err == nil:
		d = "Signatur gültig (kein qualifiziertes Zertifikat)."
	case errors.Is(r.Err, ErrDigestMismatch), errors.Is(r.Err, ErrSignatureInvalid), errors.Is(r.Err, ErrByteRange):
		d = "Das Dokument wurde nach der Signatur verändert oder die Signatur ist gefälscht."
	case errors.Is(r.Err, ErrNoDocument):
		d = "Das signierte Dokument ist nicht in der Nachricht; die Signatur kann nicht geprüft werden."
	case errors.Is(r.Err, ErrCertificate):
		d = "Das Zertifikat des Unterzeichners ist nicht gültig: " + r.Error
	default:
		d = "Die Signatur konnte nicht geprüft werden: " + r.Error
	}
	if r.Kind == KindPDF && r.Integrity == checkresult.OK && !r.WholeFile {
		d += " Die Signatur deckt nur eine frühere Fassung des PDF ab; spätere Änderungen sind nicht signiert."
	}
	return d
}

// Limits bound a verification. Zero fields take the defaults.
type Limits struct {
	MaxSignatureBytes int64 // one CMS structure; default 1 MiB
	MaxSignatures     int   // signatures in one PDF; default 100
}

func (l Limits) withDefaults() Limits {
	return limit.Fill(l, Limits{MaxSignatureBytes: 1 << 20, MaxSignatures: 100})
}

// Verifier checks document signatures against the content-signer trust
// set.
type Verifier struct {
	validator *certs.Validator
	lim       Limits
	now       func() time.Time
	skew      time.Duration
}

// Config wires a Verifier.
type Config struct {
	// Validator is the content-signer validator of the mailbox
	// (certs.TrustSets.Validators(base).ContentSigner), or an ad-hoc one
	// (Use 0) whose caller filled its trust store for document signers.
	Validator *certs.Validator
	Limits    Limits
	// Now is the clock for CheckedAt and the future-signing-time check;
	// nil is the validator's clock.
	Now func() time.Time
	// Skew is how far a signing time may lie in the future; default 5
	// minutes.
	Skew time.Duration
}

// New builds a Verifier; a validator for another use is ErrConfig.
func New(c Config) (*Verifier, error) {
	if c.Validator == nil {
		return nil, fmt.Errorf("%w: no validator", ErrConfig)
	}
	if u := c.Validator.Use; u != 0 && u != certs.UseContentSigner {
		return nil, fmt.Errorf("%w: document signatures are checked against the %s set, not %s", ErrConfig, certs.UseContentSigner, u)
	}
	v := &Verifier{validator: c.Validator, lim: c.Limits.withDefaults(), now: c.Now, skew: c.Skew}
	if v.now == nil {
		v.now = c.Validator.Now
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.skew <= 0 {
		v.skew = 5 * time.Minute
	}
	return v, nil
}

// VerifyDetached checks the detached signature sig (the content of the
// .p7s named sigName) over the document read from doc (streamed once,
// never held in memory). It returns one Result per signer; a signature
// that does not parse gives one Result with the error.
func (v *Verifier) VerifyDetached(ctx context.Context, document, sigName string, sig []byte, doc io.Reader) []Result {
	base := Result{Document: document, Kind: KindDetached, SignatureFile: sigName}
	if int64(len(sig)) > v.lim.MaxSignatureBytes {
		return []Result{v.finish(base, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(sig)))}
	}
	s, err := Parse(sig)
	if err != nil {
		return []Result{v.finish(base, err)}
	}
	digests, err := digestAll(s, doc)
	if err != nil {
		return []Result{v.finish(base, err)}
	}
	var out []Result
	for i := range s.Signers {
		out = append(out, v.verifySigner(ctx, base, s, &s.Signers[i], digests, time.Time{}))
	}
	return out
}

// VerifyDetachedReader is VerifyDetached with the signature read from sig,
// at most Limits.MaxSignatureBytes of it (a longer one is ErrTooLarge,
// never read whole).
func (v *Verifier) VerifyDetachedReader(ctx context.Context, document, sigName string, sig, doc io.Reader) []Result {
	b, err := io.ReadAll(io.LimitReader(sig, v.lim.MaxSignatureBytes+1))
	if err != nil {
		return []Result{v.finish(Result{Document: document, Kind: KindDetached, SignatureFile: sigName},
			fmt.Errorf("%w: reading the signature: %w", ErrMalformed, err))}
	}
	return v.VerifyDetached(ctx, document, sigName, b, doc)
}

// Summary is the result over the signatures on a message's documents and
// its German wording for the Prüfprotokoll: invalid when one is invalid,
// else indeterminate when one is, else valid; "" for none.
func Summary(results []Result) (status, text string) {
	var bad, open []string
	for _, r := range results {
		switch r.Status() {
		case checkresult.Invalid:
			bad = append(bad, r.Document)
		case checkresult.Indeterminate:
			open = append(open, r.Document)
		}
	}
	n := len(results)
	switch {
	case n == 0:
		return "", ""
	case len(bad) > 0:
		return checkresult.Invalid, fmt.Sprintf("%d von %d Signaturen der Dokumente %s ungültig: %s.", len(bad), n, verb(len(bad)), strings.Join(unique(bad), ", "))
	case len(open) > 0:
		return checkresult.Indeterminate, fmt.Sprintf("%d von %d Signaturen der Dokumente %s nicht abschließend prüfbar: %s.",
			len(open), n, verb(len(open)), strings.Join(unique(open), ", "))
	case n == 1:
		return checkresult.Valid, "Die Signatur des Dokuments ist gültig."
	}
	return checkresult.Valid, fmt.Sprintf("Alle %d Signaturen der Dokumente sind gültig.", n)
}

func verb(n int) string {
	if n == 1 {
		return "ist"
	}
	return "sind"
}

func unique(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// MissingDocument is the Result of a detached signature sigName whose
// document is not there to check it against (ErrNoDocument,
// indeterminate).
func (v *Verifier) MissingDocument(document, sigName string) Result {
	return v.finish(Result{Document: document, Kind: KindDetached, SignatureFile: sigName}, fmt.Errorf("%w: %q", ErrNoDocument, document))
}

// digestAll reads r once, hashing it with every digest the signers name.
func digestAll(s *Signature, r io.Reader) (map[crypto.Hash][]byte, error) {
	hs := map[crypto.Hash]hash.Hash{}
	var ws []io.Writer
	for _, sg := range s.Signers {
		if sg.hashErr == nil && hs[sg.hash] == nil {
			hs[sg.hash] = sg.hash.New()
			ws = append(ws, hs[sg.hash])
		}
	}
	if _, err := io.Copy(io.MultiWriter(ws...), r); err != nil {
		return nil, fmt.Errorf("docsig: reading the document: %w", err)
	}
	out := map[crypto.Hash][]byte{}
	for h, w := range hs {
		out[h] = w.Sum(nil)
	}
	return out, nil
}

// verifySigner runs the checks of one signer in order: algorithm, signer
// certificate present, signature value and content digest, signing time,
// certificate validation (content-signer trust, signature purpose).
func (v *Verifier) verifySigner(ctx context.Context, r Result, s *Signature, sg *Signer, digests map[crypto.Hash][]byte, claimed time.Time) Result {
	if sg.hashErr != nil {
		return v.finish(r, sg.hashErr)
	}
	r.Digest = sg.hash.String()
	cert, err := sg.findCert(s.Certificates)
	if err != nil {
		return v.finish(r, err)
	}
	r.Signer, r.Issuer, r.Serial = certs.DN(cert.Subject), certs.DN(cert.Issuer), fmt.Sprintf("%x", cert.SerialNumber)
	if r.SigningTime, err = sg.signingTime(); err != nil {
		return v.finish(r, err)
	}
	if r.SigningTime.IsZero() {
		r.SigningTime = claimed
	}
	if err := sg.verify(cert, digests[sg.hash]); err != nil {
		r.Integrity = checkresult.Corrupted
		if errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrWeakAlgorithm) {
			r.Integrity = checkresult.Indeterminate
		}
		return v.finish(r, err)
	}
	r.Integrity = checkresult.OK
	others := make([]*x509.Certificate, 0, len(s.Certificates))
	for _, c := range s.Certificates {
		if !c.Equal(cert) {
			others = append(others, c)
		}
	}
	res, err := v.validator.Validate(ctx, cert, others, certs.PurposeSignature)
	r.Certificate = res
	if err != nil {
		return v.finish(r, fmt.Errorf("%w: %w", ErrCertificate, err))
	}
	if t := r.SigningTime; !t.IsZero() {
		switch {
		case t.Before(cert.NotBefore) || t.After(cert.NotAfter):
			return v.finish(r, fmt.Errorf("%w: %s is outside the certificate's validity %s .. %s", ErrSigningTime,
				t.UTC().Format(time.RFC3339), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339)))
		case t.After(v.now().Add(v.skew)):
			return v.finish(r, fmt.Errorf("%w: %s lies in the future", ErrSigningTime, t.UTC().Format(time.RFC3339)))
		}
	}
	r.Qualification = qualification(cert)
	return v.finish(r, nil)
}

func (v *Verifier) finish(r Result, err error) Result {
	r.CheckedAt = v.now().UTC()
	if r.Integrity == "" {
		r.Integrity = checkresult.Indeterminate
	}
	r.Err = err
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

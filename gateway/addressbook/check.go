package addressbook

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/courts"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/safeid"
)

// Intermediaries is what the book knows of the configured intermediaries;
// a validated *config.Config is one.
type Intermediaries interface {
	IntermediaryNames() []string
	Intermediary(name string) (config.IntermediaryConfig, bool)
}

// Check validates an entry and fills in the court name and the
// certificate details; it does not store it.
func (ab *Book) Check(ctx context.Context, r Recipient) (Recipient, error) {
	r.SafeID = strings.TrimSpace(r.SafeID)
	r.Name = strings.TrimSpace(r.Name)
	r.Organisation = strings.TrimSpace(r.Organisation)
	r.CourtCode = strings.ToUpper(strings.TrimSpace(r.CourtCode))
	r.Intermediary = strings.TrimSpace(r.Intermediary)
	r.IntermediaryURL = strings.TrimSpace(r.IntermediaryURL)
	if !safeid.Valid(r.SafeID) {
		return Recipient{}, field.Errorf(nil, "safeId", "%q is not a SAFE-ID (e.g. "+safeid.Example+")", r.SafeID)
	}
	if err := field.Text("name", r.Name, 200, true); err != nil {
		return Recipient{}, err
	}
	if err := field.Text("organisation", r.Organisation, 200, false); err != nil {
		return Recipient{}, err
	}
	r.CourtName = ""
	if r.CourtCode != "" {
		c, err := CheckCourt("courtCode", r.CourtCode)
		if err != nil {
			return Recipient{}, err
		}
		r.CourtName = c.Name
	}
	if err := ab.checkIntermediary(ctx, &r); err != nil {
		return Recipient{}, err
	}
	r.CipherCert = certPEM(r.CipherCert)
	c, res, err := ValidateCipherCert(ctx, r.CipherCert, ab.now)
	if err != nil {
		return Recipient{}, badCert("cipherCert", err)
	}
	r.Fingerprint, r.CertSubject, r.CertExpires = res.Fingerprint, res.Subject, c.NotAfter.UTC()
	r.UpdatedAt = ab.now().UTC()
	return r, nil
}

func badCert(name string, err error) *field.Error {
	fe := field.Errorf(ErrBadCertificate, name, "%v", err)
	fe.Cause = err
	return fe
}

// CheckCourt returns the court with code, refusing (on the field name) a
// code GDS.Gerichte does not hold and a court the list marks dissolved.
func CheckCourt(name, code string) (courts.Court, error) {
	c, ok := courts.Lookup(code)
	switch {
	case !ok:
		return c, field.Errorf(ErrUnknownCourt, name, "%q is not a code of GDS.Gerichte %s", code, courts.Default().Version)
	case c.Dissolved:
		return c, field.Errorf(ErrUnknownCourt, name, "%s (%s) is dissolved and receives nothing", c.Code, c.Name)
	}
	return c, nil
}

// checkIntermediary checks where r lives and brings it into its stored
// form: a configured name (a bare URL of a configured intermediary
// becomes its name), an inline URL with certificates, or neither (the
// sending mailbox's own).
func (ab *Book) checkIntermediary(ctx context.Context, r *Recipient) error {
	inters := ab.intermediaries()
	inline := strings.TrimSpace(r.IntermediaryCipherCert) != "" || len(r.IntermediarySignatureCerts) > 0
	switch {
	case r.Intermediary != "":
		if inline {
			return field.Errorf(nil, "intermediaryCipherCert", "only with intermediaryUrl: the certificates of a configured intermediary come from the configuration")
		}
		ic, err := namedIntermediary(inters, r.Intermediary)
		if err != nil {
			return err
		}
		if r.IntermediaryURL != "" && !sameURL(r.IntermediaryURL, ic.URL) {
			return field.Errorf(nil, "intermediaryUrl", "%s is not the URL of intermediary %q (%s); give one of the two", r.IntermediaryURL, ic.Name, ic.URL)
		}
		r.IntermediaryURL = ""
		return nil
	case r.IntermediaryURL != "":
		u, err := url.Parse(r.IntermediaryURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return field.Errorf(nil, "intermediaryUrl", "must be an http(s) URL, not %q", r.IntermediaryURL)
		}
		if inline {
			return ab.checkInlineIntermediary(ctx, r)
		}
		if inters == nil {
			return nil // no configuration to resolve against: kept as earlier versions did
		}
		name, ok := intermediaryAt(inters, r.IntermediaryURL)
		if !ok {
			return field.Errorf(ErrUnknownIntermediary, "intermediaryUrl", "no configured intermediary is at %s (configured: %s); name one with intermediary, or give intermediaryCipherCert and intermediarySignatureCerts",
				r.IntermediaryURL, strings.Join(inters.IntermediaryNames(), ", "))
		}
		r.Intermediary, r.IntermediaryURL = name, ""
		return nil
	case inline:
		return field.Errorf(nil, "intermediaryUrl", "is required with intermediaryCipherCert and intermediarySignatureCerts")
	}
	return nil
}

// checkInlineIntermediary checks an intermediary given with its
// certificates as a configured one is: a cipher certificate usable for
// encryption, at least one signature certificate, each parsable.
func (ab *Book) checkInlineIntermediary(ctx context.Context, r *Recipient) error {
	r.IntermediaryCipherCert = certPEM(r.IntermediaryCipherCert)
	if _, _, err := ValidateCipherCert(ctx, r.IntermediaryCipherCert, ab.now); err != nil {
		return badCert("intermediaryCipherCert", err)
	}
	if len(r.IntermediarySignatureCerts) == 0 {
		return field.Errorf(ErrBadCertificate, "intermediarySignatureCerts", "at least one certificate is required: the intermediary's signatures are checked against them")
	}
	sigs := make([]string, len(r.IntermediarySignatureCerts))
	for i, s := range r.IntermediarySignatureCerts {
		sigs[i] = certPEM(s)
		cs, err := certs.ParseCertificates([]byte(sigs[i]))
		if err == nil && len(cs) != 1 {
			err = fmt.Errorf("holds %d certificates, want exactly one", len(cs))
		}
		if err != nil {
			return badCert(fmt.Sprintf("intermediarySignatureCerts[%d]", i), err)
		}
	}
	r.IntermediarySignatureCerts = sigs
	return nil
}

// namedIntermediary returns the configured intermediary name, refusing
// an unknown one with its name and the configured ones.
func namedIntermediary(inters Intermediaries, name string) (config.IntermediaryConfig, error) {
	if inters == nil {
		return config.IntermediaryConfig{}, field.Errorf(ErrUnknownIntermediary, "intermediary", "%q is not configured (no intermediaries are known here)", name)
	}
	ic, ok := inters.Intermediary(name)
	if !ok {
		return ic, field.Errorf(ErrUnknownIntermediary, "intermediary", "%q is not configured (configured: %s)", name, strings.Join(inters.IntermediaryNames(), ", "))
	}
	return ic, nil
}

// intermediaryAt returns the name of the first configured intermediary
// at u.
func intermediaryAt(inters Intermediaries, u string) (string, bool) {
	for _, n := range inters.IntermediaryNames() {
		if ic, ok := inters.Intermediary(n); ok && sameURL(ic.URL, u) {
			return n, true
		}
	}
	return "", false
}

func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// Resolve says where r lives now, against the configured intermediaries:
// r with Intermediary set to a configured name (an entry of an earlier
// version giving only intermediaryUrl gets the name of the intermediary
// at that URL), or with an inline intermediary, or with neither (the
// sending mailbox's own). An intermediary that is no longer configured is
// ErrUnknownIntermediary; a book without configured intermediaries
// returns r as it is.
func (ab *Book) Resolve(r Recipient) (Recipient, error) {
	inters := ab.intermediaries()
	switch {
	case inters == nil:
		return r, nil
	case r.Intermediary != "":
		_, err := namedIntermediary(inters, r.Intermediary)
		return r, err
	case r.IntermediaryURL == "", r.IntermediaryCipherCert != "":
		return r, nil
	}
	name, ok := intermediaryAt(inters, r.IntermediaryURL)
	if !ok {
		return r, field.Errorf(ErrUnknownIntermediary, "intermediaryUrl", "no configured intermediary is at %s (configured: %s)",
			r.IntermediaryURL, strings.Join(inters.IntermediaryNames(), ", "))
	}
	r.Intermediary, r.IntermediaryURL = name, ""
	return r, nil
}

// IntermediaryOf is how people are shown where r lives: the configured
// name (resolved by Resolve when r gives only a URL), an inline or
// unresolvable URL, or OwnIntermediary.
func (ab *Book) IntermediaryOf(r Recipient) string {
	res, _ := ab.Resolve(r) // unresolvable: shown as given
	switch {
	case res.Intermediary != "":
		return res.Intermediary
	case res.IntermediaryURL != "":
		return res.IntermediaryURL
	}
	return OwnIntermediary
}

// ValidateCipherCert parses one PEM certificate and checks it with the
// certs validator for purpose cipher, trusting it by pin: SAFE-published
// cipher certificates are often self-signed, so what is checked is the
// algorithm, key size, validity and key usage.
func ValidateCipherCert(ctx context.Context, pemText string, now func() time.Time) (*x509.Certificate, *certs.Result, error) {
	if strings.TrimSpace(pemText) == "" {
		return nil, nil, errors.New("is required (PEM)")
	}
	cs, err := certs.ParseCertificates([]byte(pemText))
	if err != nil {
		return nil, nil, err
	}
	if len(cs) != 1 {
		return nil, nil, fmt.Errorf("holds %d certificates, want exactly one", len(cs))
	}
	ts := certs.NewTrustStore()
	ts.Pin(cs[0])
	v := &certs.Validator{Trust: ts, Now: now}
	res, err := v.Validate(ctx, cs[0], nil, certs.PurposeCipher)
	if err != nil {
		return nil, nil, err
	}
	return cs[0], res, nil
}

// certPEM turns a certificate given as base64 DER (as directory exports
// often carry it) into PEM; PEM and anything unreadable pass unchanged,
// for the check to name what is wrong.
func certPEM(text string) string {
	if t := strings.TrimSpace(text); t == "" || strings.Contains(t, "-----BEGIN") {
		return text
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		return text
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return text
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

package certs

import (
	"crypto/x509"
	"fmt"
	"time"
)

// Outcome is the result of one check.
type Outcome string

const (
	OutcomePassed  Outcome = "passed"
	OutcomeFailed  Outcome = "failed"
	OutcomeWarning Outcome = "warning" // passed with a reservation the report must show
	OutcomeSkipped Outcome = "skipped" // not applicable or switched off by policy
)

// Step names of a Result's checks, in the order the Validator runs them.
const (
	StepAlgorithm  = "algorithm"
	StepKey        = "key"
	StepValidity   = "validity"
	StepKeyUsage   = "key-usage"
	StepTrust      = "trust"
	StepRevocation = "revocation"
)

// Check is one step of a validation with its outcome.
type Check struct {
	Name    string  `json:"name"`
	Outcome Outcome `json:"outcome"`
	Detail  string  `json:"detail,omitempty"`
}

// Result describes one certificate validation for a verification report
// (Prüfvermerk). It is filled as far as validation got, also on failure.
type Result struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"` // hexadecimal
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	Fingerprint string    `json:"sha256"`
	Key         string    `json:"key"`
	Purpose     Purpose   `json:"purpose"`
	Use         Use       `json:"use,omitempty"` // the trust set that decided, when the validator has one
	Pinned      bool      `json:"pinned"`
	// Chain lists the subjects from the leaf to the trust anchor.
	Chain     []string  `json:"chain,omitempty"`
	Checks    []Check   `json:"checks"`
	Warnings  []string  `json:"warnings,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	Valid     bool      `json:"valid"`
	Error     string    `json:"error,omitempty"`
}

func newResult(c *x509.Certificate, p Purpose, at time.Time) *Result {
	return &Result{
		Subject:     DN(c.Subject),
		Issuer:      DN(c.Issuer),
		Serial:      fmt.Sprintf("%x", c.SerialNumber),
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
		Fingerprint: Fingerprint(c),
		Key:         KeyDescription(c),
		Purpose:     p,
		CheckedAt:   at.UTC(),
	}
}

func (r *Result) add(name string, o Outcome, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Outcome: o, Detail: detail})
	if o == OutcomeWarning {
		r.Warnings = append(r.Warnings, name+": "+detail)
	}
}

// fail records a failed check and returns err for the caller to return.
func (r *Result) fail(name string, err error) error {
	r.add(name, OutcomeFailed, err.Error())
	r.Valid = false
	r.Error = err.Error()
	return err
}

// Step returns the named check, or false.
func (r *Result) Step(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

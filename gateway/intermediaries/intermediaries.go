// Package intermediaries knows the OSCI intermediaries the gateway speaks
// to: each one's address, the cipher certificate requests to it are
// encrypted to, the certificates trusted to sign its answers (for that and
// nothing else), and its health.
//
// Guarantees: an Intermediary is only built from a complete configuration
// (URL, one cipher certificate, at least one signature pin); a name or URL
// not in the Set is reported as unknown, never mapped to another
// intermediary. Health is a circuit per intermediary: after
// CircuitFailures requests in a row that did not reach it (no answer, a
// refused connection, HTTP 5xx without an OSCI answer) it opens for
// CircuitOpen, during which Allow fails at once with a *CircuitOpenError
// (temporary, code circuit_open) instead of waiting for another timeout;
// then one request at a time tries again, and every failed try doubles
// the wait up to config.MaxCircuitOpen. An answer of the intermediary,
// even a refusal, closes it. Health outlives a reload (Registry).
package intermediaries

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

// ErrUnknown is a name or URL that no configured intermediary has.
var ErrUnknown = errors.New("intermediaries: unknown intermediary")

// Intermediary is one configured intermediary, loaded.
type Intermediary struct {
	Name              string
	URL               string
	Cipher            *x509.Certificate // pinned; requests are encrypted to it
	Signers           *certs.TrustStore // pins: the only certificates trusted to sign its answers
	AllowInsecureHTTP bool
	Health            *Health
}

// Set is the intermediaries of one configuration generation.
type Set struct {
	byName map[string]*Intermediary
	names  []string
}

// Load loads every intermediary of a validated configuration; health
// comes from reg, so that it survives a reload. Errors name the
// configuration key and match config.ErrKeyMaterial.
func Load(cfg *config.Config, reg *Registry) (*Set, error) {
	s := &Set{byName: map[string]*Intermediary{}}
	for i, ic := range cfg.Intermediaries {
		key := ic.Key
		if key == "" {
			key = fmt.Sprintf("intermediaries[%d]", i)
		}
		cipher, err := config.LoadCertificate(key+".cipher_cert", ic.CipherCert)
		if err != nil {
			return nil, err
		}
		pins := certs.NewTrustStore()
		for j, p := range ic.SignCerts {
			if err := pins.LoadPins(p); err != nil {
				return nil, fmt.Errorf("%w: %s.signature_certs[%d]: %w", config.ErrKeyMaterial, key, j, err)
			}
		}
		s.byName[ic.Name] = &Intermediary{Name: ic.Name, URL: ic.URL, Cipher: cipher, Signers: pins,
			AllowInsecureHTTP: ic.AllowInsecureHTTP, Health: reg.health(ic)}
		s.names = append(s.names, ic.Name)
	}
	return s, nil
}

// Get returns the intermediary named name.
func (s *Set) Get(name string) (*Intermediary, error) {
	if im, ok := s.byName[name]; ok {
		return im, nil
	}
	return nil, fmt.Errorf("%w: %q (configured: %s)", ErrUnknown, name, strings.Join(s.names, ", "))
}

// ByURL returns the intermediary at url (a trailing slash aside).
func (s *Set) ByURL(url string) (*Intermediary, error) {
	for _, n := range s.names {
		if im := s.byName[n]; sameURL(im.URL, url) {
			return im, nil
		}
	}
	return nil, fmt.Errorf("%w: no configured intermediary at %s", ErrUnknown, url)
}

// Names returns the names in configuration order.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// Views returns every intermediary's health, in configuration order.
func (s *Set) Views() []View {
	out := make([]View, 0, len(s.names))
	for _, n := range s.names {
		im := s.byName[n]
		v := im.Health.View()
		v.URL = im.URL
		out = append(out, v)
	}
	return out
}

func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// Reached reports whether a request's outcome shows the intermediary
// answering: no error, or any error other than a transport failure (a
// refusal, a fault, an answer that did not verify all came from
// somewhere). HTTP 429 is an answer too: the intermediary is busy, not down.
func Reached(err error) bool {
	var te *osci.TransportError
	if !errors.As(err, &te) {
		return true
	}
	return te.StatusCode == 429
}

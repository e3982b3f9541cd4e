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
	"sort"
	"strings"
	"sync"

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

// Set is the intermediaries of one configuration generation, and the
// ones address-book entries give inline (Inline).
type Set struct {
	byName map[string]*Intermediary
	names  []string
	reg    *Registry

	mu     sync.Mutex
	inline map[string]*Intermediary // by InlineName(url), built when first used
}

// InlinePrefix starts the name of an intermediary an address-book entry
// gives inline (URL and certificates) rather than by configured name.
const InlinePrefix = "inline "

// InlineName is the name of the inline intermediary at url: its lane,
// its health and its metric label.
func InlineName(url string) string { return InlinePrefix + strings.TrimRight(url, "/") }

// Inline returns the intermediary an address-book entry gives inline:
// its URL, the cipher certificate requests are encrypted to and the
// certificates whose signatures are accepted from it, for that purpose
// only (PEM, as the address book checked and stored them). The same URL
// with other certificates is refused: an intermediary has one set of keys
// at a time, and a second would share the first's health and lane.
func (s *Set) Inline(url, cipherPEM string, signerPEMs []string, allowInsecureHTTP bool) (*Intermediary, error) {
	name := InlineName(url)
	cipher, err := onePEM(cipherPEM)
	if err != nil {
		return nil, fmt.Errorf("intermediaries: %s: cipher certificate: %w", name, err)
	}
	pins := certs.NewTrustStore()
	if len(signerPEMs) == 0 {
		return nil, fmt.Errorf("intermediaries: %s: no signature certificate", name)
	}
	for i, p := range signerPEMs {
		c, err := onePEM(p)
		if err != nil {
			return nil, fmt.Errorf("intermediaries: %s: signature certificate %d: %w", name, i, err)
		}
		pins.Pin(c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if im, ok := s.inline[name]; ok {
		if !im.Cipher.Equal(cipher) || !sameSigners(im.Signers, signerPEMs) {
			return nil, fmt.Errorf("%w: %s is already known with other certificates", ErrUnknown, name)
		}
		return im, nil
	}
	reg := s.reg
	if reg == nil {
		reg = NewRegistry(nil, nil)
	}
	im := &Intermediary{Name: name, URL: url, Cipher: cipher, Signers: pins, AllowInsecureHTTP: allowInsecureHTTP,
		Health: reg.health(config.IntermediaryConfig{Name: name})}
	if s.inline == nil {
		s.inline = map[string]*Intermediary{}
	}
	s.inline[name] = im
	return im, nil
}

func onePEM(p string) (*x509.Certificate, error) {
	cs, err := certs.ParseCertificates([]byte(p))
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("%d certificates, want one", len(cs))
	}
	return cs[0], nil
}

func sameSigners(pins *certs.TrustStore, signerPEMs []string) bool {
	for _, p := range signerPEMs {
		c, err := onePEM(p)
		if err != nil || !pins.IsPinned(c) {
			return false
		}
	}
	_, _, n := pins.Counts()
	return n == len(signerPEMs)
}

// Load loads every intermediary of a validated configuration; health
// comes from reg, so that it survives a reload. Errors name the
// configuration key and match config.ErrKeyMaterial.
func Load(cfg *config.Config, reg *Registry) (*Set, error) {
	s := &Set{byName: map[string]*Intermediary{}, reg: reg}
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

// Views returns every intermediary's health, in configuration order,
// then the inline ones in use.
func (s *Set) Views() []View {
	list := make([]*Intermediary, 0, len(s.names))
	for _, n := range s.names {
		list = append(list, s.byName[n])
	}
	s.mu.Lock()
	inline := make([]string, 0, len(s.inline))
	for n := range s.inline {
		inline = append(inline, n)
	}
	sort.Strings(inline)
	for _, n := range inline {
		list = append(list, s.inline[n])
	}
	s.mu.Unlock()
	out := make([]View, 0, len(list))
	for _, im := range list {
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

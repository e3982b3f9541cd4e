package certs

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// TrustStore holds what the operator trusts: CA certificates (roots and
// intermediates) and pinned peer certificates. It is safe for concurrent
// use. Nothing a peer sends is ever added to it.
type TrustStore struct {
	mu            sync.RWMutex
	roots         []*x509.Certificate
	intermediates []*x509.Certificate
	pins          map[[32]byte]*x509.Certificate
	seen          map[[32]byte]bool
}

// NewTrustStore returns an empty store.
func NewTrustStore() *TrustStore {
	return &TrustStore{pins: map[[32]byte]*x509.Certificate{}, seen: map[[32]byte]bool{}}
}

// AddCA adds a CA certificate. A self-signed one becomes a root (trust
// anchor); any other is a configured intermediate, which helps build
// paths but is trusted only through a root.
func (t *TrustStore) AddCA(c *x509.Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return fmt.Errorf("%w: %q is not a CA certificate (pin it instead)", ErrNotTrusted, c.Subject.String())
	}
	if err := CheckAlgorithm(c); err != nil && !isSelfSigned(c) {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := sha256.Sum256(c.Raw)
	if t.seen[h] {
		return nil
	}
	t.seen[h] = true
	if isSelfSigned(c) {
		t.roots = append(t.roots, c)
	} else {
		t.intermediates = append(t.intermediates, c)
	}
	return nil
}

// Pin trusts exactly this certificate (byte for byte) as a peer
// certificate, e.g. a cipher certificate published in SAFE or the
// intermediary's certificates. A different certificate with the same
// subject or key identifier is not pinned.
func (t *TrustStore) Pin(c *x509.Certificate) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pins[sha256.Sum256(c.Raw)] = c
}

// IsPinned reports whether exactly c is pinned.
func (t *TrustStore) IsPinned(c *x509.Certificate) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p, ok := t.pins[sha256.Sum256(c.Raw)]
	return ok && bytes.Equal(p.Raw, c.Raw)
}

// LoadCAs adds every certificate in a PEM/DER file, or in every
// *.pem, *.crt, *.cer and *.der file of a directory (not recursive).
func (t *TrustStore) LoadCAs(path string) error {
	return t.load(path, t.AddCA)
}

// LoadPins pins every certificate in a file or directory, as LoadCAs.
func (t *TrustStore) LoadPins(path string) error {
	return t.load(path, func(c *x509.Certificate) error { t.Pin(c); return nil })
}

func (t *TrustStore) load(path string, add func(*x509.Certificate) error) error {
	files, err := certFiles(path)
	if err != nil {
		return err
	}
	for _, f := range files {
		cs, err := LoadCertificates(f)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := add(c); err != nil {
				return fmt.Errorf("%w (%s)", err, f)
			}
		}
	}
	return nil
}

func certFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	var out []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".pem", ".crt", ".cer", ".der":
			if e.Type().IsRegular() {
				out = append(out, filepath.Join(path, e.Name()))
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no certificate files in %s", ErrNoCertificate, path)
	}
	return out, nil
}

// pools returns fresh pools of the roots and configured intermediates.
func (t *TrustStore) pools() (roots, inter *x509.CertPool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	roots, inter = x509.NewCertPool(), x509.NewCertPool()
	for _, c := range t.roots {
		roots.AddCert(c)
	}
	for _, c := range t.intermediates {
		inter.AddCert(c)
	}
	return roots, inter
}

// rootsAndPins returns a fresh pool of the roots and pinned certificates.
func (t *TrustStore) rootsAndPins() *x509.CertPool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	p := x509.NewCertPool()
	for _, c := range t.roots {
		p.AddCert(c)
	}
	for _, c := range t.pins {
		p.AddCert(c)
	}
	return p
}

// Counts reports how many roots, intermediates and pins the store holds.
func (t *TrustStore) Counts() (roots, intermediates, pins int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.roots), len(t.intermediates), len(t.pins)
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// Package addressbook is the gateway's directory of recipients: beBPo/EGVP
// mailboxes by SAFE-ID with the cipher certificate messages to them are
// encrypted to. Guarantee: an entry is stored only after its SAFE-ID,
// texts and certificate (algorithm, key size, validity, key usage for
// encryption) were checked; every change is one durable file write (a
// crash leaves the old book or the new one, never a mix); an import
// changes the book only when every entry is valid. Refusals are
// field.Errors naming the field, matching ErrNotFound, ErrExists or
// ErrBadCertificate. A certificate held here is a recipient's encryption
// key and nothing else: it never makes a signature trusted.
package addressbook

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/durable"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/safeid"
)

// Refusals of the address book, wrapped in a field.Error naming the field.
var (
	ErrNotFound       = errors.New("addressbook: entry not found")
	ErrExists         = errors.New("addressbook: entry exists")
	ErrBadCertificate = errors.New("addressbook: certificate not usable")
)

// Recipient is one address book entry: a beBPo/EGVP recipient by its
// SAFE-ID with the cipher certificate messages to it are encrypted to.
type Recipient struct {
	SafeID       string `json:"safeId"`
	Name         string `json:"name"`
	Organisation string `json:"organisation,omitempty"`
	// CipherCert is the recipient's cipher certificate (PEM). SAFE
	// publishes these, often self-signed; the address book pins it.
	CipherCert string `json:"cipherCert"`
	// Intermediary is the configured name of the intermediary the
	// recipient lives at; empty: the sending mailbox's own.
	// IntermediaryURL is the form earlier versions stored.
	Intermediary    string `json:"intermediary,omitempty"`
	IntermediaryURL string `json:"intermediaryUrl,omitempty"`

	// Filled in by the address book from the certificate.
	Fingerprint string    `json:"fingerprint,omitempty"`
	CertSubject string    `json:"certSubject,omitempty"`
	CertExpires time.Time `json:"certNotAfter,omitzero"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
}

// Book is the durable list of recipients: a JSON file in the data
// directory, rewritten whole on every change (temporary file, fsync,
// rename, directory fsync), so a crash leaves the old or the new book,
// never a mix. A single mutex serialises changes; reads see a snapshot.
// The book is small (hundreds of entries), so a file is simpler and as
// safe as a table, and it can be reviewed and backed up on its own.
type Book struct {
	path string
	now  func() time.Time

	mu      sync.RWMutex
	entries map[string]Recipient
}

// AddressBookFile is the address book's file name in the data directory.
const AddressBookFile = "addressbook.json"

// addressBookFile is the on-disk format.
type addressBookFile struct {
	Version int         `json:"version"`
	Entries []Recipient `json:"entries"`
}

// Open loads the book at path; a missing file is an empty book.
// now is the clock certificates are checked against (nil: time.Now).
func Open(path string, now func() time.Time) (*Book, error) {
	if now == nil {
		now = time.Now
	}
	ab := &Book{path: path, now: now}
	entries, err := readAddressBook(path)
	if err != nil {
		return nil, err
	}
	ab.entries = entries
	return ab, nil
}

func readAddressBook(path string) (map[string]Recipient, error) {
	entries := map[string]Recipient{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return entries, nil
	}
	if err != nil {
		return nil, fmt.Errorf("addressbook: %w", err)
	}
	var f addressBookFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("addressbook: %s: %w", path, err)
	}
	for i, e := range f.Entries {
		if !safeid.Valid(e.SafeID) {
			return nil, fmt.Errorf("addressbook: %s: entries[%d]: %q is not a SAFE-ID", path, i, e.SafeID)
		}
		if _, dup := entries[e.SafeID]; dup {
			return nil, fmt.Errorf("addressbook: %s: entries[%d]: %s is listed twice", path, i, e.SafeID)
		}
		entries[e.SafeID] = e
	}
	return entries, nil
}

// List returns all entries sorted by SAFE-ID.
func (ab *Book) List() []Recipient {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	out := make([]Recipient, 0, len(ab.entries))
	for _, e := range ab.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SafeID < out[j].SafeID })
	return out
}

// Get returns one entry or ErrAddressNotFound.
func (ab *Book) Get(safeID string) (Recipient, error) {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	e, ok := ab.entries[safeID]
	if !ok {
		return Recipient{}, field.Errorf(ErrNotFound, "safeId", "no entry for %q", safeID)
	}
	return e, nil
}

// Add stores a new entry; ErrAddressExists if the SAFE-ID is taken.
func (ab *Book) Add(ctx context.Context, r Recipient) (Recipient, error) {
	return ab.change(ctx, r, func(exists bool) error {
		if exists {
			return field.Errorf(ErrExists, "safeId", "%q is already in the address book", r.SafeID)
		}
		return nil
	})
}

// Update replaces an existing entry; ErrAddressNotFound if there is none.
func (ab *Book) Update(ctx context.Context, r Recipient) (Recipient, error) {
	return ab.change(ctx, r, func(exists bool) error {
		if !exists {
			return field.Errorf(ErrNotFound, "safeId", "no entry for %q", r.SafeID)
		}
		return nil
	})
}

func (ab *Book) change(ctx context.Context, r Recipient, check func(exists bool) error) (Recipient, error) {
	r, err := ab.Check(ctx, r)
	if err != nil {
		return Recipient{}, err
	}
	ab.mu.Lock()
	defer ab.mu.Unlock()
	_, exists := ab.entries[r.SafeID]
	if err := check(exists); err != nil {
		return Recipient{}, err
	}
	next := ab.copyLocked()
	next[r.SafeID] = r
	if err := ab.saveLocked(next); err != nil {
		return Recipient{}, err
	}
	return r, nil
}

// Delete removes an entry; ErrAddressNotFound if there is none.
func (ab *Book) Delete(safeID string) error {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if _, ok := ab.entries[safeID]; !ok {
		return field.Errorf(ErrNotFound, "safeId", "no entry for %q", safeID)
	}
	next := ab.copyLocked()
	delete(next, safeID)
	return ab.saveLocked(next)
}

// ImportResult counts what an import changed.
type ImportResult struct {
	Added   int `json:"added"`
	Updated int `json:"updated"`
}

// Import adds or replaces all entries at once: every entry is validated
// first, and the book changes only if all are valid (one durable write).
// A SAFE-ID given twice in one import is an error.
func (ab *Book) Import(ctx context.Context, rs []Recipient) (ImportResult, error) {
	if len(rs) == 0 {
		return ImportResult{}, field.Errorf(nil, "entries", "the file holds no entries")
	}
	seen := map[string]int{}
	valid := make([]Recipient, len(rs))
	for i, r := range rs {
		v, err := ab.Check(ctx, r)
		if err != nil {
			return ImportResult{}, field.Prefix(fmt.Sprintf("entries[%d].", i), err)
		}
		if j, dup := seen[v.SafeID]; dup {
			return ImportResult{}, field.Errorf(nil, fmt.Sprintf("entries[%d].safeId", i), "%q also in entries[%d]", v.SafeID, j)
		}
		seen[v.SafeID] = i
		valid[i] = v
	}
	ab.mu.Lock()
	defer ab.mu.Unlock()
	next := ab.copyLocked()
	var res ImportResult
	for _, v := range valid {
		if _, ok := next[v.SafeID]; ok {
			res.Updated++
		} else {
			res.Added++
		}
		next[v.SafeID] = v
	}
	if err := ab.saveLocked(next); err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

func (ab *Book) copyLocked() map[string]Recipient {
	next := make(map[string]Recipient, len(ab.entries)+1)
	for k, v := range ab.entries {
		next[k] = v
	}
	return next
}

// saveLocked writes next durably and only then makes it the live book.
func (ab *Book) saveLocked(next map[string]Recipient) error {
	f := addressBookFile{Version: 1, Entries: make([]Recipient, 0, len(next))}
	for _, e := range next {
		f.Entries = append(f.Entries, e)
	}
	sort.Slice(f.Entries, func(i, j int) bool { return f.Entries[i].SafeID < f.Entries[j].SafeID })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("addressbook: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(ab.path), 0o750); err != nil {
		return fmt.Errorf("addressbook: %w", err)
	}
	if err := durable.WriteFile(ab.path, append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("addressbook: %w", err)
	}
	ab.entries = next
	return nil
}

// Check validates an entry and fills in the certificate details; it does
// not store it.
func (ab *Book) Check(ctx context.Context, r Recipient) (Recipient, error) {
	r.SafeID = strings.TrimSpace(r.SafeID)
	r.Name = strings.TrimSpace(r.Name)
	r.Organisation = strings.TrimSpace(r.Organisation)
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
	if r.IntermediaryURL != "" {
		u, err := url.Parse(r.IntermediaryURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Recipient{}, field.Errorf(nil, "intermediaryUrl", "must be an http(s) URL, not %q", r.IntermediaryURL)
		}
	}
	c, res, err := ValidateCipherCert(ctx, r.CipherCert, ab.now)
	if err != nil {
		fe := field.Errorf(ErrBadCertificate, "cipherCert", "%v", err)
		fe.Cause = err
		return Recipient{}, fe
	}
	r.Fingerprint, r.CertSubject, r.CertExpires = res.Fingerprint, res.Subject, c.NotAfter.UTC()
	r.UpdatedAt = ab.now().UTC()
	return r, nil
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

// Certificate parses the entry's cipher certificate.
func (r Recipient) Certificate() (*x509.Certificate, error) {
	cs, err := certs.ParseCertificates([]byte(r.CipherCert))
	if err != nil {
		return nil, err
	}
	if len(cs) != 1 {
		return nil, fmt.Errorf("addressbook: entry %s holds %d certificates, want exactly one", r.SafeID, len(cs))
	}
	return cs[0], nil
}

// Replace makes next's entries this book's (a reload after everything
// else of the new configuration was validated); next is not used again.
func (ab *Book) Replace(next *Book) {
	next.mu.RLock()
	entries := next.entries
	next.mu.RUnlock()
	ab.mu.Lock()
	ab.entries = entries
	ab.mu.Unlock()
}

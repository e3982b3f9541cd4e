package addressbook

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/safeid"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
)

// Refusals of the address book, wrapped in a field.Error naming the field.
var (
	ErrNotFound            = errors.New("addressbook: entry not found")
	ErrExists              = errors.New("addressbook: entry exists")
	ErrBadCertificate      = errors.New("addressbook: certificate not usable")
	ErrUnknownIntermediary = errors.New("addressbook: unknown intermediary")
	ErrUnknownCourt        = errors.New("addressbook: not a court of GDS.Gerichte")
)

// Recipient is one address book entry: a beBPo/EGVP recipient by its
// SAFE-ID with the cipher certificate messages to it are encrypted to.
type Recipient struct {
	SafeID       string `json:"safeId"`
	Name         string `json:"name"`
	Organisation string `json:"organisation,omitempty"`
	// CourtCode is the recipient's code in GDS.Gerichte (e.g. F1100), for
	// courts, prosecutors and justice authorities.
	CourtCode string `json:"courtCode,omitempty"`
	// CipherCert is the recipient's cipher certificate (PEM; base64 DER
	// is accepted and stored as PEM). SAFE publishes these, often
	// self-signed; the address book pins it.
	CipherCert string `json:"cipherCert"`
	// Intermediary is the configured name of the intermediary the
	// recipient lives at. Empty, with no IntermediaryURL either: the
	// sending mailbox's own.
	Intermediary string `json:"intermediary,omitempty"`
	// IntermediaryURL with IntermediaryCipherCert and
	// IntermediarySignatureCerts (PEM) is an intermediary given inline,
	// not configured. IntermediaryURL alone is the form earlier versions
	// stored: it stands for the configured intermediary at that URL.
	IntermediaryURL            string   `json:"intermediaryUrl,omitempty"`
	IntermediaryCipherCert     string   `json:"intermediaryCipherCert,omitempty"`
	IntermediarySignatureCerts []string `json:"intermediarySignatureCerts,omitempty"`

	// Filled in by the address book from the code list and the certificate.
	CourtName   string    `json:"courtName,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	CertSubject string    `json:"certSubject,omitempty"`
	CertExpires time.Time `json:"certNotAfter,omitzero"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
}

// Book is the durable list of recipients: a JSON file in the data
// directory, rewritten whole on every change (temporary file, fsync,
// rename, directory fsync), so a crash leaves the old or the new book,
// never a mix. A single mutex serialises changes; reads see a snapshot.
// The book is small (thousands of entries at most), so a file is simpler
// and as safe as a table, and it can be reviewed and backed up on its own.
type Book struct {
	path string
	now  func() time.Time

	mu      sync.RWMutex
	entries map[string]Recipient
	inters  Intermediaries
}

// AddressBookFile is the address book's file name in the data directory.
const AddressBookFile = "addressbook.json"

// addressBookFile is the on-disk format.
type addressBookFile struct {
	Version int         `json:"version"`
	Entries []Recipient `json:"entries"`
}

// Option configures a Book at Open.
type Option func(*Book)

// WithIntermediaries tells the book which intermediaries are configured,
// so that an entry naming another is refused when it is added.
func WithIntermediaries(im Intermediaries) Option {
	return func(ab *Book) { ab.inters = im }
}

// Open loads the book at path; a missing file is an empty book.
// now is the clock certificates are checked against (nil: time.Now).
func Open(path string, now func() time.Time, opts ...Option) (*Book, error) {
	if now == nil {
		now = time.Now
	}
	ab := &Book{path: path, now: now}
	for _, o := range opts {
		o(ab)
	}
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
	sortBySafeID(out)
	return out
}

func sortBySafeID(rs []Recipient) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].SafeID < rs[j].SafeID })
}

// Get returns one entry or ErrNotFound.
func (ab *Book) Get(safeID string) (Recipient, error) {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	e, ok := ab.entries[safeID]
	if !ok {
		return Recipient{}, field.Errorf(ErrNotFound, "safeId", "no entry for %q", safeID)
	}
	return e, nil
}

// Add stores a new entry; ErrExists if the SAFE-ID is taken.
func (ab *Book) Add(ctx context.Context, r Recipient) (Recipient, error) {
	return ab.change(ctx, r, func(exists bool) error {
		if exists {
			return field.Errorf(ErrExists, "safeId", "%q is already in the address book", r.SafeID)
		}
		return nil
	})
}

// Update replaces an existing entry; ErrNotFound if there is none. An
// entry equal to the stored one is left as it is.
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
	old, exists := ab.entries[r.SafeID]
	if err := check(exists); err != nil {
		return Recipient{}, err
	}
	if exists && len(changedFields(old, r)) == 0 {
		return old, nil
	}
	next := maps.Clone(ab.entries)
	next[r.SafeID] = r
	if err := ab.saveLocked(next); err != nil {
		return Recipient{}, err
	}
	return r, nil
}

// Delete removes an entry; ErrNotFound if there is none.
func (ab *Book) Delete(safeID string) error {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if _, ok := ab.entries[safeID]; !ok {
		return field.Errorf(ErrNotFound, "safeId", "no entry for %q", safeID)
	}
	next := maps.Clone(ab.entries)
	delete(next, safeID)
	return ab.saveLocked(next)
}

// saveLocked writes next durably and only then makes it the live book.
func (ab *Book) saveLocked(next map[string]Recipient) error {
	f := addressBookFile{Version: 1, Entries: make([]Recipient, 0, len(next))}
	for _, e := range next {
		f.Entries = append(f.Entries, e)
	}
	sortBySafeID(f.Entries)
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

// Replace makes next's entries and configured intermediaries this book's
// (a reload after everything else of the new configuration was
// validated); next is not used again.
func (ab *Book) Replace(next *Book) {
	next.mu.RLock()
	entries, inters := next.entries, next.inters
	next.mu.RUnlock()
	ab.mu.Lock()
	ab.entries, ab.inters = entries, inters
	ab.mu.Unlock()
}

func (ab *Book) intermediaries() Intermediaries {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	return ab.inters
}

package gateway

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
	"unicode"
	"unicode/utf8"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// Recipient is one address book entry: a beBPo/EGVP recipient by its
// SAFE-ID with the cipher certificate messages to it are encrypted to.
type Recipient struct {
	SafeID       string `json:"safeId"`
	Name         string `json:"name"`
	Organisation string `json:"organisation,omitempty"`
	// CipherCert is the recipient's cipher certificate (PEM). SAFE
	// publishes these, often self-signed; the address book pins it.
	CipherCert   string `json:"cipherCert"`
	Intermediary string `json:"intermediaryUrl,omitempty"`

	// Filled in by the address book from the certificate.
	Fingerprint string    `json:"fingerprint,omitempty"`
	CertSubject string    `json:"certSubject,omitempty"`
	CertExpires time.Time `json:"certNotAfter,omitzero"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
}

// AddressBook is the durable list of recipients: a JSON file in the data
// directory, rewritten whole on every change (temporary file, fsync,
// rename, directory fsync), so a crash leaves the old or the new book,
// never a mix. A single mutex serialises changes; reads see a snapshot.
// The book is small (hundreds of entries), so a file is simpler and as
// safe as a table, and it can be reviewed and backed up on its own.
type AddressBook struct {
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

// OpenAddressBook loads the book at path; a missing file is an empty book.
// now is the clock certificates are checked against (nil: time.Now).
func OpenAddressBook(path string, now func() time.Time) (*AddressBook, error) {
	if now == nil {
		now = time.Now
	}
	ab := &AddressBook{path: path, now: now}
	entries, err := readAddressBook(path)
	if err != nil {
		return nil, err
	}
	ab.entries = entries
	return ab, nil
}

// Reload re-reads the file (after an operator edited it, on SIGHUP). On
// error the book in memory stays as it was.
func (ab *AddressBook) Reload() error {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	entries, err := readAddressBook(ab.path)
	if err != nil {
		return err
	}
	ab.entries = entries
	return nil
}

func readAddressBook(path string) (map[string]Recipient, error) {
	entries := map[string]Recipient{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return entries, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: address book: %w", err)
	}
	var f addressBookFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("gateway: address book %s: %w", path, err)
	}
	for i, e := range f.Entries {
		if !safeIDPattern.MatchString(e.SafeID) {
			return nil, fmt.Errorf("gateway: address book %s: entries[%d]: %q is not a SAFE-ID", path, i, e.SafeID)
		}
		if _, dup := entries[e.SafeID]; dup {
			return nil, fmt.Errorf("gateway: address book %s: entries[%d]: %s is listed twice", path, i, e.SafeID)
		}
		entries[e.SafeID] = e
	}
	return entries, nil
}

// List returns all entries sorted by SAFE-ID.
func (ab *AddressBook) List() []Recipient {
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
func (ab *AddressBook) Get(safeID string) (Recipient, error) {
	ab.mu.RLock()
	defer ab.mu.RUnlock()
	e, ok := ab.entries[safeID]
	if !ok {
		return Recipient{}, fieldErr(ErrAddressNotFound, "safeId", "no entry for %q", safeID)
	}
	return e, nil
}

// Add stores a new entry; ErrAddressExists if the SAFE-ID is taken.
func (ab *AddressBook) Add(ctx context.Context, r Recipient) (Recipient, error) {
	return ab.change(ctx, r, func(exists bool) error {
		if exists {
			return fieldErr(ErrAddressExists, "safeId", "%q is already in the address book", r.SafeID)
		}
		return nil
	})
}

// Update replaces an existing entry; ErrAddressNotFound if there is none.
func (ab *AddressBook) Update(ctx context.Context, r Recipient) (Recipient, error) {
	return ab.change(ctx, r, func(exists bool) error {
		if !exists {
			return fieldErr(ErrAddressNotFound, "safeId", "no entry for %q", r.SafeID)
		}
		return nil
	})
}

func (ab *AddressBook) change(ctx context.Context, r Recipient, check func(exists bool) error) (Recipient, error) {
	r, err := ab.validate(ctx, r)
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
func (ab *AddressBook) Delete(safeID string) error {
	ab.mu.Lock()
	defer ab.mu.Unlock()
	if _, ok := ab.entries[safeID]; !ok {
		return fieldErr(ErrAddressNotFound, "safeId", "no entry for %q", safeID)
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
func (ab *AddressBook) Import(ctx context.Context, rs []Recipient) (ImportResult, error) {
	if len(rs) == 0 {
		return ImportResult{}, fieldErr(nil, "entries", "the file holds no entries")
	}
	seen := map[string]int{}
	valid := make([]Recipient, len(rs))
	for i, r := range rs {
		v, err := ab.validate(ctx, r)
		if err != nil {
			return ImportResult{}, withFieldPrefix(fmt.Sprintf("entries[%d].", i), err)
		}
		if j, dup := seen[v.SafeID]; dup {
			return ImportResult{}, fieldErr(nil, fmt.Sprintf("entries[%d].safeId", i), "%q also in entries[%d]", v.SafeID, j)
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

func (ab *AddressBook) copyLocked() map[string]Recipient {
	next := make(map[string]Recipient, len(ab.entries)+1)
	for k, v := range ab.entries {
		next[k] = v
	}
	return next
}

// saveLocked writes next durably and only then makes it the live book.
func (ab *AddressBook) saveLocked(next map[string]Recipient) error {
	f := addressBookFile{Version: 1, Entries: make([]Recipient, 0, len(next))}
	for _, e := range next {
		f.Entries = append(f.Entries, e)
	}
	sort.Slice(f.Entries, func(i, j int) bool { return f.Entries[i].SafeID < f.Entries[j].SafeID })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("gateway: address book: %w", err)
	}
	if err := writeFileDurable(ab.path, append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("gateway: address book: %w", err)
	}
	ab.entries = next
	return nil
}

// validate checks an entry and fills in the certificate details.
func (ab *AddressBook) validate(ctx context.Context, r Recipient) (Recipient, error) {
	r.SafeID = strings.TrimSpace(r.SafeID)
	r.Name = strings.TrimSpace(r.Name)
	r.Organisation = strings.TrimSpace(r.Organisation)
	r.Intermediary = strings.TrimSpace(r.Intermediary)
	if !safeIDPattern.MatchString(r.SafeID) {
		return Recipient{}, fieldErr(nil, "safeId", "%q is not a SAFE-ID (e.g. DE.Justiz.<uuid>.<hex>)", r.SafeID)
	}
	if err := checkText("name", r.Name, 200, true); err != nil {
		return Recipient{}, err
	}
	if err := checkText("organisation", r.Organisation, 200, false); err != nil {
		return Recipient{}, err
	}
	if r.Intermediary != "" {
		u, err := url.Parse(r.Intermediary)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Recipient{}, fieldErr(nil, "intermediaryUrl", "must be an http(s) URL, not %q", r.Intermediary)
		}
	}
	c, res, err := validateCipherCert(ctx, r.CipherCert, ab.now)
	if err != nil {
		fe := fieldErr(ErrBadCertificate, "cipherCert", "%v", err)
		fe.Cause = err
		return Recipient{}, fe
	}
	r.Fingerprint, r.CertSubject, r.CertExpires = res.Fingerprint, res.Subject, c.NotAfter.UTC()
	r.UpdatedAt = ab.now().UTC()
	return r, nil
}

// validateCipherCert parses one PEM certificate and checks it with the
// certs validator for purpose cipher, trusting it by pin: SAFE-published
// cipher certificates are often self-signed, so what is checked is the
// algorithm, key size, validity and key usage.
func validateCipherCert(ctx context.Context, pemText string, now func() time.Time) (*x509.Certificate, *certs.Result, error) {
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

// checkText rejects control characters, invalid UTF-8 and overlong text.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return fieldErr(nil, field, "is required")
	case !utf8.ValidString(s):
		return fieldErr(nil, field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return fieldErr(nil, field, "is longer than %d characters", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fieldErr(nil, field, "contains control characters")
	}
	return nil
}

// writeFileDurable replaces path with data: a temporary file beside it is
// written, fsync'd and renamed over path, then the directory is fsync'd.
func writeFileDurable(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// AddressBookPath is where the address book lives: address_book from the
// configuration, else AddressBookFile in the data directory.
func (c *Config) AddressBookPath() string {
	if c.AddressBook != "" {
		return c.AddressBook
	}
	return filepath.Join(c.DataDir, AddressBookFile)
}

package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
)

// Argon2Params are the argon2id parameters of new password hashes; a
// stored hash carries its own, so raising them leaves old passwords valid.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's recommendation for argon2id (Password Storage
// Cheat Sheet): 19 MiB, 2 iterations, 1 degree of parallelism.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// FileUsers is the UserStore kept in one JSON file, written durably with
// mode 0600 on every change. The file is read again when it changed (the
// CLI changes it beside a running daemon); every change holds an
// exclusive lock on PATH.lock across read, change and write, so two
// processes never lose each other's change.
type FileUsers struct {
	path   string
	params Argon2Params
	rand   io.Reader
	mu     sync.Mutex
	users  map[string]userRecord
	loaded fileStamp
	dummy  string
}

// fileStamp tells whether the file changed since it was read.
type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

type userRecord struct {
	User
	// PasswordHash is "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
	// (base64 without padding); empty for OIDC users and local users
	// without a password yet.
	PasswordHash string `json:"password_hash,omitempty"`
}

type usersFile struct {
	Version int          `json:"version"`
	Users   []userRecord `json:"users"`
}

// OpenUsers opens the user file at path, creating its directory (0700);
// a missing file is an empty store. params zero: DefaultArgon2.
func OpenUsers(path string, params Argon2Params) (*FileUsers, error) {
	if params == (Argon2Params{}) {
		params = DefaultArgon2
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("web: users directory: %w", err)
	}
	fu := &FileUsers{path: path, params: params, rand: rand.Reader, users: map[string]userRecord{}}
	if err := fu.refreshLocked(); err != nil {
		return nil, err
	}
	var err error
	fu.dummy, err = fu.hash("not a password of anyone")
	if err != nil {
		return nil, err
	}
	return fu, nil
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = sys.Ino
	}
	return st
}

// refreshLocked reads the file again when it changed since it was read;
// fu.mu held. A broken file is an error and leaves the users as they were.
func (fu *FileUsers) refreshLocked() error {
	fi, err := os.Stat(fu.path)
	if errors.Is(err, fs.ErrNotExist) {
		fu.users, fu.loaded = map[string]userRecord{}, fileStamp{}
		return nil
	}
	if err != nil {
		return fmt.Errorf("web: users file: %w", err)
	}
	if st := stampOf(fi); st == fu.loaded {
		return nil
	}
	data, err := os.ReadFile(fu.path)
	if err != nil {
		return fmt.Errorf("web: users file: %w", err)
	}
	var f usersFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("web: users file %s: %w", fu.path, err)
	}
	users := map[string]userRecord{}
	for _, r := range f.Users {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("web: users file %s: %w", fu.path, err)
		}
		users[r.Name] = r
	}
	fu.users, fu.loaded = users, stampOf(fi)
	return nil
}

// change runs edit on a fresh copy of the users under the file lock and
// writes the result durably.
func (fu *FileUsers) change(edit func(next map[string]userRecord) error) error {
	lock, err := os.OpenFile(fu.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("web: users lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("web: users lock: %w", err)
	}
	fu.mu.Lock()
	defer fu.mu.Unlock()
	if err := fu.refreshLocked(); err != nil {
		return err
	}
	next := maps.Clone(fu.users)
	if err := edit(next); err != nil {
		return err
	}
	return fu.saveLocked(next)
}

// read returns the record of name after a refresh.
func (fu *FileUsers) read(name string) (userRecord, bool, error) {
	fu.mu.Lock()
	defer fu.mu.Unlock()
	if err := fu.refreshLocked(); err != nil {
		return userRecord{}, false, err
	}
	r, ok := fu.users[name]
	return r, ok, nil
}

// User implements UserStore.
func (fu *FileUsers) User(_ context.Context, name string) (User, error) {
	r, ok, err := fu.read(name)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	return cloneUser(r.User), nil
}

// Users implements UserStore.
func (fu *FileUsers) Users(context.Context) ([]User, error) {
	fu.mu.Lock()
	defer fu.mu.Unlock()
	if err := fu.refreshLocked(); err != nil {
		return nil, err
	}
	out := make([]User, 0, len(fu.users))
	for _, r := range fu.users {
		out = append(out, cloneUser(r.User))
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Put implements UserStore.
func (fu *FileUsers) Put(_ context.Context, u User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return fu.change(func(next map[string]userRecord) error {
		rec := userRecord{User: cloneUser(u)}
		if old, ok := next[u.Name]; ok && u.Source == SourceLocal && old.Source == SourceLocal {
			rec.PasswordHash = old.PasswordHash
		}
		next[u.Name] = rec
		return nil
	})
}

// Delete implements UserStore.
func (fu *FileUsers) Delete(_ context.Context, name string) error {
	return fu.change(func(next map[string]userRecord) error {
		if _, ok := next[name]; !ok {
			return fmt.Errorf("%w: %s", ErrNoUser, name)
		}
		delete(next, name)
		return nil
	})
}

// SetPassword implements UserStore.
func (fu *FileUsers) SetPassword(_ context.Context, name, password string) error {
	if len([]rune(password)) < MinPasswordLength {
		return fmt.Errorf("%w: password shorter than %d characters", ErrInvalidUser, MinPasswordLength)
	}
	if len(password) > 1024 {
		return fmt.Errorf("%w: password longer than 1024 bytes", ErrInvalidUser)
	}
	h, err := fu.hash(password)
	if err != nil {
		return err
	}
	return fu.change(func(next map[string]userRecord) error {
		r, ok := next[name]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoUser, name)
		}
		if r.Source != SourceLocal {
			return fmt.Errorf("%w: %s signs in at the directory, not with a password", ErrInvalidUser, name)
		}
		r.PasswordHash = h
		next[name] = r
		return nil
	})
}

// Authenticate implements UserStore. An unknown name is checked against
// a hash of the same parameters, so the answer takes as long.
func (fu *FileUsers) Authenticate(_ context.Context, name, password string) (User, error) {
	r, ok, err := fu.read(name)
	if err != nil {
		return User{}, err
	}
	stored := r.PasswordHash
	if !ok || r.Source != SourceLocal || stored == "" {
		stored, ok = fu.dummy, false
	}
	match, err := verifyArgon2id(stored, password)
	if err != nil || !match || !ok {
		return User{}, ErrBadLogin
	}
	return cloneUser(r.User), nil
}

// saveLocked writes next durably, then makes it the store's content.
func (fu *FileUsers) saveLocked(next map[string]userRecord) error {
	f := usersFile{Version: 1}
	for _, r := range next {
		f.Users = append(f.Users, r)
	}
	slices.SortFunc(f.Users, func(a, b userRecord) int { return strings.Compare(a.Name, b.Name) })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(fu.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("web: write users file: %w", err)
	}
	fu.users = next
	if fi, err := os.Stat(fu.path); err == nil {
		fu.loaded = stampOf(fi)
	}
	return nil
}

func cloneUser(u User) User {
	u.Roles = slices.Clone(u.Roles)
	u.Mailboxes = slices.Clone(u.Mailboxes)
	return u
}

var b64 = base64.RawStdEncoding

// hash returns the PHC string of password under fu's parameters.
func (fu *FileUsers) hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(fu.rand, salt); err != nil {
		return "", fmt.Errorf("web: randomness: %w", err)
	}
	p := fu.params
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// errBadHash is a stored hash this package cannot read.
var errBadHash = errors.New("web: unreadable password hash")

// verifyArgon2id checks password against a PHC argon2id string.
func verifyArgon2id(phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, errBadHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, errBadHash
	}
	if p.MemoryKiB > 1<<20 || p.Time > 20 || p.Threads == 0 || p.Time == 0 {
		return false, errBadHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// UsersPath is the user file of a data directory, when web.users_file
// does not name another.
func UsersPath(dataDir string) string { return filepath.Join(dataDir, "web", "users.json") }

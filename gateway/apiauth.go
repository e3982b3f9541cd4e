package gateway

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
)

// Problem is an RFC 9457 problem detail, the body of every API error.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the request field that is wrong, where there is one.
	Field string `json:"field,omitempty"`
}

// writeProblem answers with application/problem+json.
func writeProblem(w http.ResponseWriter, status int, detail, field string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Field:  field,
	})
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// TokenSet holds API bearer tokens as SHA-256 digests with an operator
// label each, so the tokens themselves are not kept in memory longer
// than loading takes and comparisons run in constant time.
type TokenSet struct {
	mu      sync.RWMutex
	entries []tokenEntry
}

// Replace swaps in the tokens of next (a reload on SIGHUP); requests
// already authenticated are not affected.
func (ts *TokenSet) Replace(next *TokenSet) {
	next.mu.RLock()
	entries := append([]tokenEntry(nil), next.entries...)
	next.mu.RUnlock()
	ts.mu.Lock()
	ts.entries = entries
	ts.mu.Unlock()
}

type tokenEntry struct {
	label  string
	digest [32]byte
}

// ErrNoTokens is returned for a tokens file that holds no token.
var ErrNoTokens = errors.New("gateway: tokens file holds no token")

// LoadTokens reads a tokens file: one token a line, optionally
// "label:token"; blank lines and lines starting with # are ignored. The
// file must not be readable by group or others.
func LoadTokens(path string) (*TokenSet, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: tokens file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("gateway: tokens file %s is readable by group or others (mode %04o); chmod 600 it", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: tokens file: %w", err)
	}
	defer f.Close()
	ts := &TokenSet{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label := fmt.Sprintf("token%d", n)
		if i := strings.IndexByte(line, ':'); i > 0 {
			label, line = line[:i], line[i+1:]
		}
		if len(line) < 16 {
			return nil, fmt.Errorf("gateway: tokens file %s line %d: token shorter than 16 characters", path, n)
		}
		ts.entries = append(ts.entries, tokenEntry{label: label, digest: sha256.Sum256([]byte(line))})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gateway: tokens file: %w", err)
	}
	if len(ts.entries) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoTokens, path)
	}
	return ts, nil
}

// Match returns the label of the token, comparing against every entry in
// constant time.
func (ts *TokenSet) Match(token string) (string, bool) {
	d := sha256.Sum256([]byte(token))
	label, ok := "", false
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	for _, e := range ts.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			label, ok = e.label, true
		}
	}
	return label, ok
}

// principal returns who made an authenticated request: a token label or
// a client certificate subject. Empty means not authenticated.
func (ts *TokenSet) principal(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return "cert:" + r.TLS.VerifiedChains[0][0].Subject.String()
	}
	if ts == nil {
		return ""
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return ""
	}
	if label, ok := ts.Match(strings.TrimSpace(tok)); ok {
		return "token:" + label
	}
	return ""
}

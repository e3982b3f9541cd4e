package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/ervb"
)

// Problem is an RFC 9457 problem detail, the body of every API error.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Field names the request field that is wrong, where there is one.
	Field string `json:"field,omitempty"`
	// Findings are the ERVB pre-flight's findings of a refused message to
	// a court: each with severity, file, rule and a German message.
	Findings ervb.Findings `json:"findings,omitempty"`
}

// writeProblem answers with application/problem+json.
func writeProblem(w http.ResponseWriter, status int, detail, field string) {
	writeProblemOf(w, Problem{Status: status, Detail: detail, Field: field})
}

// writeProblemOf answers p, its type and title filled in.
func writeProblemOf(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	_ = json.NewEncoder(w).Encode(p)
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
	roles  []string
}

// Roles a token may carry beyond the rights every token has. Register
// data (Wettbewerbsregister answers: personal data about offences) needs
// RoleProcurement; "legal" is reserved for the legal office.
const (
	RoleProcurement = "procurement"
	RoleLegal       = "legal"
)

// knownRoles are the role names a tokens file line may end in.
var knownRoles = map[string]bool{RoleProcurement: true, RoleLegal: true}

// ErrNoTokens is returned for a tokens file that holds no token.
var ErrNoTokens = errors.New("api: tokens file holds no token")

// tokenLine is one token of a tokens file with its label and roles.
type tokenLine struct {
	label, token string
	roles        []string
}

// readTokens reads a tokens file: one token a line, optionally
// "label:token", optionally followed by ":role,role" naming known roles
// ("vergabe:TOKEN:procurement"); a line whose last ":" part is not a list
// of known roles keeps that part in the token, as before roles existed.
// Blank lines and lines starting with # are ignored. The file is refused
// when others may read it, or its group unless allowGroup; a token
// shorter than 16 characters is refused.
func readTokens(path string, allowGroup bool) ([]tokenLine, error) {
	data, err := certs.ReadSecretFile(path, allowGroup)
	if err != nil {
		return nil, fmt.Errorf("api: tokens file: %w", err)
	}
	var out []tokenLine
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label := fmt.Sprintf("token%d", n+1)
		if i := strings.IndexByte(line, ':'); i > 0 {
			label, line = line[:i], line[i+1:]
		}
		var roles []string
		if i := strings.LastIndexByte(line, ':'); i > 0 {
			if rs, ok := parseRoles(line[i+1:]); ok {
				roles, line = rs, line[:i]
			}
		}
		if len(line) < 16 {
			return nil, fmt.Errorf("api: tokens file %s line %d: token shorter than 16 characters", path, n+1)
		}
		out = append(out, tokenLine{label, line, roles})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoTokens, path)
	}
	return out, nil
}

// LoadTokens reads a tokens file (see readTokens) into a TokenSet.
func LoadTokens(path string, allowGroup bool) (*TokenSet, error) {
	lines, err := readTokens(path, allowGroup)
	if err != nil {
		return nil, err
	}
	ts := &TokenSet{}
	for _, l := range lines {
		ts.entries = append(ts.entries, tokenEntry{label: l.label, digest: sha256.Sum256([]byte(l.token)), roles: l.roles})
	}
	return ts, nil
}

// FirstToken returns the first token of a tokens file, for a client on
// the gateway's own host.
func FirstToken(path string, allowGroup bool) (string, error) {
	lines, err := readTokens(path, allowGroup)
	if err != nil {
		return "", err
	}
	return lines[0].token, nil
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

// parseRoles reads "procurement,legal"; ok only when every name is a
// known role.
func parseRoles(s string) ([]string, bool) {
	rs := strings.Split(s, ",")
	for _, r := range rs {
		if !knownRoles[r] {
			return nil, false
		}
	}
	return rs, true
}

// hasRole reports whether r's bearer token carries role. A client
// certificate carries no role.
func (ts *TokenSet) hasRole(r *http.Request, role string) bool {
	if ts == nil {
		return false
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	has := false
	for _, e := range ts.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 && slices.Contains(e.roles, role) {
			has = true
		}
	}
	return has
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

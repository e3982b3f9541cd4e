package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
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

// answerOK answers v with 200 when err is nil; otherwise it returns err,
// which the route answers as problem+json.
func answerOK(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
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
	// mailboxes is the token's scope; nil: every mailbox.
	mailboxes []string
}

// Roles a token may carry beyond the rights every token has. Register
// data (Wettbewerbsregister answers: personal data about offences) needs
// RoleProcurement; "legal" is reserved for the legal office.
const (
	RoleProcurement = "procurement"
	RoleLegal       = "legal"
	RoleRecords     = "records"
	RoleAdmin       = "admin"
)

// knownRoles are the role names a tokens file line may end in (the web
// application's roles).
var knownRoles = map[string]bool{RoleProcurement: true, RoleLegal: true, RoleRecords: true, RoleAdmin: true}

// ErrNoTokens is returned for a tokens file that holds no token.
var ErrNoTokens = errors.New("api: tokens file holds no token")

// tokenLine is one token of a tokens file with its label and roles.
type tokenLine struct {
	label, token string
	roles        []string
	mailboxes    []string
}

// readTokens reads a tokens file: one token a line, optionally
// "label:token", optionally followed by ":role,role" naming known roles
// and "@mailbox" scopes ("vergabe:TOKEN:procurement",
// "rechtsamt:TOKEN:legal,@rechtsamt"); a token without an "@" entry
// reaches every mailbox. A line whose last ":" part is not such a list
// keeps that part in the token, as before roles existed.
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
		var roles, mailboxes []string
		if i := strings.LastIndexByte(line, ':'); i > 0 {
			if rs, mbs, ok := parseRoles(line[i+1:]); ok {
				roles, mailboxes, line = rs, mbs, line[:i]
			}
		}
		if len(line) < 16 {
			return nil, fmt.Errorf("api: tokens file %s line %d: token shorter than 16 characters", path, n+1)
		}
		out = append(out, tokenLine{label, line, roles, mailboxes})
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
		ts.entries = append(ts.entries, tokenEntry{label: l.label, digest: sha256.Sum256([]byte(l.token)), roles: l.roles, mailboxes: l.mailboxes})
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

// parseRoles reads "procurement,legal,@rechtsamt"; ok only when every
// entry is a known role or "@" and a mailbox name.
func parseRoles(s string) (roles, mailboxes []string, ok bool) {
	for _, r := range strings.Split(s, ",") {
		if name, isScope := strings.CutPrefix(r, "@"); isScope && mailboxName.MatchString(name) {
			mailboxes = append(mailboxes, name)
			continue
		}
		if !knownRoles[r] {
			return nil, nil, false
		}
		roles = append(roles, r)
	}
	return roles, mailboxes, true
}

// mailboxName is the form of a mailbox name in a scope (as configured).
var mailboxName = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)

// scope is the set of mailboxes a request may reach.
type scope struct {
	all   bool
	names []string
}

// has reports whether mailbox is in the scope.
func (sc scope) has(mailbox string) bool { return sc.all || slices.Contains(sc.names, mailbox) }

// scopeOf returns the mailboxes r's credentials reach: a token's
// "@mailbox" entries, or every mailbox for a token without them and for
// a client certificate.
func (ts *TokenSet) scopeOf(r *http.Request) scope {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 || ts == nil {
		return scope{all: true}
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return scope{}
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	ts.mu.RLock()
	defer ts.mu.RUnlock()
	var sc scope
	found := false
	for _, e := range ts.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 && !found {
			found = true
			sc = scope{all: e.mailboxes == nil, names: e.mailboxes}
		}
	}
	return sc
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

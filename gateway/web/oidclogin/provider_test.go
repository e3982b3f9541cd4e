package oidclogin

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testProvider is a small OpenID provider for the tests: discovery, a
// JWKS with one RSA key, an authorize endpoint that approves its one
// user at once, a token endpoint that checks the client, the redirect
// and the PKCE verifier and issues RS256-signed ID tokens, and Microsoft
// Graph's me/checkMemberGroups. Each test sets the user and, to play an
// attacker or a broken provider, how the next tokens are made.
type testProvider struct {
	t      *testing.T
	srv    *httptest.Server
	key    *rsa.PrivateKey
	now    func() time.Time
	client string
	secret string

	mu       sync.Mutex
	user     map[string]any // claims of the person who logs in
	codes    map[string]grant
	signWith *rsa.PrivateKey                  // default key
	mutate   func(claims map[string]any)      // applied to each ID token's claims
	down     bool                             // every endpoint answers 503
	graph    []string                         // the user's groups as Graph knows them
	exchange func(w http.ResponseWriter) bool // answers the token request itself if true
}

type grant struct {
	redirect, challenge, nonce string
}

var (
	testKeyOnce sync.Once
	testKeys    [2]*rsa.PrivateKey
)

// testKey returns one of two RSA keys made once per test binary.
func testKey(t *testing.T, i int) *rsa.PrivateKey {
	testKeyOnce.Do(func() {
		for j := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[j] = k
		}
	})
	return testKeys[i]
}

func newTestProvider(t *testing.T, now func() time.Time) *testProvider {
	p := &testProvider{
		t: t, key: testKey(t, 0), now: now, client: "gateway", secret: "s3cret-client",
		codes: map[string]grant{},
		user: map[string]any{
			"sub": "u-4711", "preferred_username": "M.Muster@stadt-erkelenz.de",
			"name": "Maria Muster", "groups": []string{"0b6a3c1d-1111-4222-8333-944455566677"},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tenant/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("POST /graph/v1.0/me/checkMemberGroups", p.checkMemberGroups)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) issuer() string { return p.srv.URL + "/tenant" }

func (p *testProvider) set(f func(p *testProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *testProvider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{
		"issuer":                                p.issuer(),
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"jwks_uri":                              p.srv.URL + "/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"response_types_supported":              []string{"code"},
	})
}

func (p *testProvider) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize approves at once and sends the browser back with a code.
func (p *testProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.client || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		!slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		http.Error(w, "bad authorization request", 400)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.codes[code] = grant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	p.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	v := url.Values{"code": {code}, "state": {q.Get("state")}}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code once, for the client with its secret and the
// verifier whose S256 is the code's challenge.
func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exchange != nil && p.exchange(w) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != p.client || secret != p.secret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	g, ok := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code"))
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if !ok || r.PostFormValue("grant_type") != "authorization_code" || r.PostFormValue("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	claims := map[string]any{
		"iss": p.issuer(), "aud": p.client, "iat": p.now().Unix(), "exp": p.now().Add(time.Hour).Unix(),
		"nonce": g.nonce,
	}
	for k, v := range p.user {
		claims[k] = v
	}
	if p.mutate != nil {
		p.mutate(claims)
	}
	key := p.key
	if p.signWith != nil {
		key = p.signWith
	}
	writeJSON(w, 200, map[string]any{
		"access_token": "at-" + r.PostFormValue("code"), "token_type": "Bearer", "expires_in": 3600,
		"id_token": signJWT(p.t, key, claims),
	})
}

func (p *testProvider) checkMemberGroups(w http.ResponseWriter, r *http.Request) {
	var in struct {
		GroupIDs []string `json:"groupIds"`
	}
	if r.Header.Get("Authorization") == "" || json.NewDecoder(r.Body).Decode(&in) != nil || len(in.GroupIDs) > 20 {
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []string{}
	for _, g := range in.GroupIDs {
		if slices.Contains(p.graph, g) {
			out = append(out, g)
		}
	}
	writeJSON(w, 200, map[string]any{"value": out})
}

// signJWT returns the compact RS256 JWS of claims with key id k1.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

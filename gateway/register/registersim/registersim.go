// Package registersim simulates the Wettbewerbsregister's official
// interface as register/iface assumes it (iface/wire.go), for tests and
// the demo: immediate answers, answers that arrive only after some polls,
// answers with and without entries, refusals, and outages (the register
// down, or a response lost after the query was made). It keeps every
// query it made, keyed by the idempotency key, so a test can count from
// the register's side that a retried query was made once. Only tests and
// the demo import it.
package registersim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/register/iface"
)

// Outcome is how the simulated register answers about a company.
type Outcome struct {
	Entries bool   // the answer lists entries
	Polls   int    // polls answered "in_bearbeitung" before the answer
	Refuse  string // refuse the query with this reason
}

// Server is the simulated register. The zero value answers every query at
// once without entries.
type Server struct {
	// RequireClientCert refuses requests without a TLS client certificate
	// (403), as the real interface would.
	RequireClientCert bool

	mu       sync.Mutex
	outcomes map[string]Outcome // by VAT id or register number
	queries  map[string]*query  // by reference
	byKey    map[string]string  // idempotency key → reference
	down     int                // requests to refuse with 503 unprocessed
	drop     int                // requests to process and then answer 503
	requests int
}

type query struct {
	ref     string
	wire    iface.QueryWire
	outcome Outcome
	polls   int
}

// SetOutcome says how queries about the company with this VAT id or
// register number are answered.
func (s *Server) SetOutcome(key string, o Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcomes == nil {
		s.outcomes = map[string]Outcome{}
	}
	s.outcomes[key] = o
}

// Down makes the next n requests fail with 503 before anything is done.
func (s *Server) Down(n int) { s.mu.Lock(); s.down = n; s.mu.Unlock() }

// DropResponses makes the next n requests take effect and then fail with
// 503, as if the answer was lost on the way back.
func (s *Server) DropResponses(n int) { s.mu.Lock(); s.drop = n; s.mu.Unlock() }

// Queries returns how many distinct queries the register made.
func (s *Server) Queries() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.queries) }

// Requests returns how many requests reached the register.
func (s *Server) Requests() int { s.mu.Lock(); defer s.mu.Unlock(); return s.requests }

// Query returns what the register received under a reference.
func (s *Server) Query(ref string) (iface.QueryWire, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, ok := s.queries[ref]
	if !ok {
		return iface.QueryWire{}, false
	}
	return q.wire, true
}

// ServeHTTP answers the interface's two requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.RequireClientCert && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
		writeJSON(w, http.StatusForbidden, iface.ErrorWire{Grund: "Zertifikat fehlt"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.down > 0 {
		s.down--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	status, body := s.handle(r)
	if s.drop > 0 {
		s.drop--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, status, body)
}

func (s *Server) handle(r *http.Request) (int, any) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == iface.PathQueries:
		return s.submit(r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, iface.PathQueries+"/"):
		return s.poll(strings.TrimPrefix(r.URL.Path, iface.PathQueries+"/"))
	}
	return http.StatusNotFound, iface.ErrorWire{Grund: "unbekannte Ressource"}
}

func (s *Server) submit(r *http.Request) (int, any) {
	key := r.Header.Get(iface.HeaderIdempotencyKey)
	if key == "" {
		return http.StatusUnprocessableEntity, iface.ErrorWire{Grund: "Idempotency-Key fehlt"}
	}
	if ref, ok := s.byKey[key]; ok {
		return http.StatusOK, iface.SubmitWire{Referenz: ref}
	}
	var qw iface.QueryWire
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&qw); err != nil {
		return http.StatusUnprocessableEntity, iface.ErrorWire{Grund: "Abfrage nicht lesbar"}
	}
	if qw.Bestaetigung.Text == "" || qw.Verfahren.Aktenzeichen == "" || qw.Unternehmen.Firma == "" {
		return http.StatusUnprocessableEntity, iface.ErrorWire{Grund: "Pflichtangaben nach § 5 Abs. 2 WRegV fehlen"}
	}
	o := s.outcomes[qw.Unternehmen.UStIdNr]
	if v, ok := s.outcomes[qw.Unternehmen.Registernummer]; ok {
		o = v
	}
	if o.Refuse != "" {
		return http.StatusUnprocessableEntity, iface.ErrorWire{Grund: o.Refuse}
	}
	h := sha256.Sum256([]byte(key))
	ref := "WR-" + hex.EncodeToString(h[:6])
	if s.queries == nil {
		s.queries, s.byKey = map[string]*query{}, map[string]string{}
	}
	s.queries[ref] = &query{ref: ref, wire: qw, outcome: o}
	s.byKey[key] = ref
	return http.StatusCreated, iface.SubmitWire{Referenz: ref}
}

func (s *Server) poll(ref string) (int, any) {
	q, ok := s.queries[ref]
	if !ok {
		return http.StatusNotFound, iface.ErrorWire{Grund: "unbekannte Referenz"}
	}
	if q.polls < q.outcome.Polls {
		q.polls++
		return http.StatusOK, iface.StatusWire{Status: iface.StatusPending}
	}
	return http.StatusOK, iface.StatusWire{Status: iface.StatusAnswered, Eintragungen: q.outcome.Entries,
		Auskunft: answerPDF(q), ContentType: "application/pdf"}
}

// answerPDF is the simulated answer (Auskunft) as a PDF.
func answerPDF(q *query) []byte {
	result := "Zu dem angefragten Unternehmen sind im Wettbewerbsregister keine Eintragungen gespeichert."
	if q.outcome.Entries {
		result = "Zu dem angefragten Unternehmen ist eine Eintragung gespeichert (Simulation, § 3 WRegG)."
	}
	return register.TextPDF("Auskunft aus dem Wettbewerbsregister (Simulation)", []string{
		"Referenz: " + q.ref,
		"Vergabeverfahren: " + q.wire.Verfahren.Aktenzeichen,
		"Unternehmen: " + q.wire.Unternehmen.Firma,
		"", result,
		fmt.Sprintf("Abfragen unter diesem Schlüssel: 1 (Referenz %s)", q.ref),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package intermediaries

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// unreachable is what osci returns when no answer came.
var unreachable = &osci.TransportError{Stage: osci.StageConnect, Err: errors.New("connection refused")}

type recorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *recorder) add(c Change) { r.mu.Lock(); r.changes = append(r.changes, c); r.mu.Unlock() }

func newHealth(clock *certstest.Clock, rec *recorder) *Health {
	reg := NewRegistry(clock.Now, rec.add)
	return reg.health(config.IntermediaryConfig{Name: "justiz-nrw", CircuitFailures: 3, CircuitOpen: time.Minute})
}

// TestOutageOpensTheCircuitAndAnAnswerClosesIt: three requests that do not
// reach the intermediary open the circuit; while open, nothing is tried;
// after the open period exactly one request tries; a failed try doubles
// the wait; an answer, even a refusal, closes the circuit and is reported
// as recovery once.
func TestOutageOpensTheCircuitAndAnAnswerClosesIt(t *testing.T) {
	clock := certstest.NewClock(t0, 0)
	rec := &recorder{}
	h := newHealth(clock, rec)
	for i := range 3 {
		if err := h.Allow(); err != nil {
			t.Fatalf("request %d refused before the circuit opened: %v", i+1, err)
		}
		h.Record(unreachable, false)
	}
	var open *CircuitOpenError
	if err := h.Allow(); !errors.As(err, &open) || !open.Temporary() || open.Code() != "circuit_open" || !open.Until.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Allow with the circuit open = %v", err)
	}
	if v := h.View(); v.State != "open" || v.ConsecutiveFailures != 3 || !strings.Contains(v.LastError, "connection refused") {
		t.Errorf("view %+v", v)
	}
	clock.Add(time.Minute)
	if err := h.Allow(); err != nil {
		t.Fatalf("no try after the open period: %v", err)
	}
	if err := h.Allow(); err == nil {
		t.Fatal("a second request tried while the first was trying")
	}
	h.Record(unreachable, false)
	if v := h.View(); !v.OpenUntil.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("after a failed try open until %s, want the wait doubled to 2m", v.OpenUntil)
	}
	clock.Add(2 * time.Minute)
	if err := h.Allow(); err != nil {
		t.Fatal(err)
	}
	h.Record(&osci.FeedbackError{Code: osci.CodeNoProcessCard}, false)
	if v := h.View(); v.State != "ok" || v.ConsecutiveFailures != 0 || !v.LastSuccess.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("after an answer: %+v", v)
	}
	if len(rec.changes) != 3 || !rec.changes[0].Opened || !rec.changes[1].Opened || !rec.changes[2].Recovered {
		t.Errorf("changes %+v, want opened, opened, recovered", rec.changes)
	}
}

func TestWaitStopsAtTheMaximum(t *testing.T) {
	clock := certstest.NewClock(t0, 0)
	h := newHealth(clock, &recorder{})
	for range 20 {
		if h.Allow() == nil {
			h.Record(unreachable, false)
		}
		clock.Add(config.MaxCircuitOpen)
	}
	v := h.View()
	if got := v.OpenUntil.Sub(v.LastFailure); got != config.MaxCircuitOpen {
		t.Errorf("open for %s after many failed tries, want %s", got, config.MaxCircuitOpen)
	}
}

func TestWhatCountsAsAnOutage(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		reached bool
	}{
		{"success", nil, true},
		{"refusal", &osci.FeedbackError{Code: osci.CodeNoProcessCard}, true},
		{"busy", &osci.TransportError{Stage: osci.StageRejected, StatusCode: 429, Err: errors.New("busy")}, true},
		{"unavailable", &osci.TransportError{Stage: osci.StageRejected, StatusCode: 503, Err: errors.New("down")}, false},
		{"timeout after sending", fmt.Errorf("store: %w", &osci.TransportError{Stage: osci.StageSent, Err: context.DeadlineExceeded}), false},
		{"refused connection", unreachable, false},
	}
	for _, tt := range tests {
		if got := Reached(tt.err); got != tt.reached {
			t.Errorf("%s: Reached = %v, want %v", tt.name, got, tt.reached)
		}
	}
	clock := certstest.NewClock(t0, 0)
	h := newHealth(clock, &recorder{})
	for range 5 {
		h.Record(context.Canceled, true)
	}
	if v := h.View(); v.State != "ok" {
		t.Errorf("our own cancellations counted as an outage: %+v", v)
	}
}

func TestHealthSurvivesAReload(t *testing.T) {
	reg := NewRegistry(certstest.NewClock(t0, 0).Now, nil)
	ic := config.IntermediaryConfig{Name: "bebpo", CircuitFailures: 1, CircuitOpen: time.Minute}
	reg.health(ic).Record(unreachable, false)
	ic.CircuitFailures = 2
	if v := reg.health(ic).View(); v.ConsecutiveFailures != 1 || v.State != "failing" {
		t.Errorf("after a reload that raised the threshold: %+v", v)
	}
}

func TestLoadPinsOnlyTheConfiguredCertificates(t *testing.T) {
	cfg := &config.Config{Intermediaries: []config.IntermediaryConfig{{Name: "bebpo", URL: "https://bebpo.example/osci/",
		CipherCert: certstest.PKIPath(t, "intermediary-cipher.pem"), SignCerts: []string{certstest.PKIPath(t, "intermediary-signature.pem")}}}}
	s, err := Load(cfg, NewRegistry(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	im, err := s.ByURL("https://bebpo.example/osci")
	if err != nil || im.Name != "bebpo" {
		t.Fatalf("ByURL = %v, %v", im, err)
	}
	if !im.Signers.IsPinned(certstest.PKICert(t, "intermediary-signature")) || im.Signers.IsPinned(certstest.PKICert(t, "intermediary-cipher")) {
		t.Error("signature pins are not exactly the configured signature certificates")
	}
	if _, err := s.Get("justiz-bw"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), `"justiz-bw" (configured: bebpo)`) {
		t.Errorf("Get(unknown) = %v", err)
	}
	cfg.Intermediaries[0].SignCerts = []string{certstest.PKIPath(t, "no-such.pem")}
	cfg.Intermediaries[0].Key = "mailboxes[0].intermediary"
	if _, err := Load(cfg, NewRegistry(nil, nil)); !errors.Is(err, config.ErrKeyMaterial) || !strings.Contains(err.Error(), "mailboxes[0].intermediary.signature_certs[0]") {
		t.Errorf("Load with a missing pin = %v", err)
	}
}

package intermediaries

import (
	"fmt"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
)

// CircuitOpenError is what Allow returns while an intermediary's circuit
// is open: the request was not made. It is temporary (mailbox.Classify
// asks Temporary) and carries the code circuit_open.
type CircuitOpenError struct {
	Name  string
	Until time.Time
}

func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("intermediaries: %s unreachable, circuit open until %s", e.Name, e.Until.UTC().Format(time.RFC3339))
}

// Temporary: the intermediary may come back.
func (e *CircuitOpenError) Temporary() bool { return true }

// RetryAt is when the circuit lets a request try again
// (mailbox.RetryAt): a message waiting for the outage is due then, not at
// its back-off.
func (e *CircuitOpenError) RetryAt() time.Time { return e.Until }

// Code names the failure for the message's last error and the metrics.
func (e *CircuitOpenError) Code() string { return "circuit_open" }

// View is one intermediary's health as status, metrics and API show it.
type View struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// State is "ok" (last request reached it, or none made yet), "failing"
	// (the last ones did not, the circuit is still closed) or "open".
	State               string    `json:"state"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	LastSuccess         time.Time `json:"lastSuccess,omitzero"`
	LastFailure         time.Time `json:"lastFailure,omitzero"`
	LastError           string    `json:"lastError,omitempty"`
	OpenUntil           time.Time `json:"openUntil,omitzero"`
}

// Change is a transition of the circuit, for the one log line each.
type Change struct {
	View
	Opened    bool // the circuit opened (or, after a failed try, stays open longer)
	Recovered bool // the first answer after the circuit had opened
}

// Health is one intermediary's circuit. Safe for concurrent use.
type Health struct {
	name     string
	now      func() time.Time
	onChange func(Change)

	mu          sync.Mutex
	threshold   int
	base        time.Duration
	wait        time.Duration // the current open period
	failures    int
	lastSuccess time.Time
	lastFailure time.Time
	lastError   string
	openUntil   time.Time
	trying      bool // one request is trying while the open period is over
	wasOpen     bool
}

// Allow says whether a request may be made now: nil, or a
// *CircuitOpenError while the circuit is open or another request is
// already trying it again. Every allowed request must be followed by
// exactly one Record.
func (h *Health) Allow() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures < h.threshold {
		return nil
	}
	if h.now().Before(h.openUntil) || h.trying {
		return &CircuitOpenError{Name: h.name, Until: h.openUntil}
	}
	h.trying = true
	return nil
}

// Record notes the outcome of an allowed request: err nil or an answer
// of the intermediary (Reached) closes the circuit; a transport failure
// counts towards opening it. A request cancelled by us says nothing about
// the intermediary (cancelled: pass true) and only ends a try.
func (h *Health) Record(err error, cancelled bool) {
	h.mu.Lock()
	now := h.now()
	var ch *Change
	switch {
	case cancelled:
		h.trying = false
	case Reached(err):
		if h.wasOpen {
			ch = &Change{Recovered: true}
		}
		h.failures, h.trying, h.wasOpen, h.openUntil, h.wait = 0, false, false, time.Time{}, h.base
		h.lastSuccess = now
	default:
		h.failures++
		h.lastFailure, h.lastError = now, err.Error()
		if h.failures >= h.threshold {
			if h.trying { // the try failed: wait longer
				h.wait = min(2*h.wait, config.MaxCircuitOpen)
			}
			h.openUntil, h.trying, h.wasOpen = now.Add(h.wait), false, true
			ch = &Change{Opened: true}
		}
	}
	var v View
	if ch != nil {
		v = h.viewLocked(now)
	}
	h.mu.Unlock()
	if ch != nil && h.onChange != nil {
		ch.View = v
		h.onChange(*ch)
	}
}

// View returns the current health.
func (h *Health) View() View {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.viewLocked(h.now())
}

func (h *Health) viewLocked(now time.Time) View {
	v := View{Name: h.name, ConsecutiveFailures: h.failures, LastSuccess: h.lastSuccess, LastFailure: h.lastFailure, LastError: h.lastError, State: "ok"}
	switch {
	case h.failures >= h.threshold:
		v.State, v.OpenUntil = "open", h.openUntil
	case h.failures > 0:
		v.State = "failing"
	}
	return v
}

// Registry keeps each intermediary's Health by name across
// configuration generations.
type Registry struct {
	now      func() time.Time
	onChange func(Change)

	mu      sync.Mutex
	byName  map[string]*Health
	clients []pooledClient // see HTTPClient
}

// NewRegistry returns an empty registry; now is the clock (nil:
// time.Now), onChange is called outside any lock on every opening and
// recovery (nil: nothing).
func NewRegistry(now func() time.Time, onChange func(Change)) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{now: now, onChange: onChange, byName: map[string]*Health{}}
}

// health returns the Health of ic's name with ic's circuit settings.
func (r *Registry) health(ic config.IntermediaryConfig) *Health {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.byName[ic.Name]
	if !ok {
		h = &Health{name: ic.Name, now: r.now, onChange: r.onChange}
		r.byName[ic.Name] = h
	}
	threshold, base := ic.CircuitFailures, ic.CircuitOpen
	if threshold < 1 {
		threshold = config.DefaultCircuitFailures
	}
	if base <= 0 {
		base = config.DefaultCircuitOpen
	}
	h.mu.Lock()
	if h.base != base {
		h.base, h.wait = base, base
	}
	h.threshold = threshold
	h.mu.Unlock()
	return h
}

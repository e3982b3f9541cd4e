package metrics

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Metric names; stable, documented in docs/api.md.
const (
	MetricMessages           = "bebpo_messages"
	MetricQueueDepth         = "bebpo_queue_depth"
	MetricIntakeBacklog      = "bebpo_intake_backlog"
	MetricPollDuration       = "bebpo_poll_duration_seconds"
	MetricPollLastSuccess    = "bebpo_poll_last_success_timestamp_seconds"
	MetricPolls              = "bebpo_polls_total"
	MetricIntermediaryErrors = "bebpo_intermediary_errors_total"
	MetricCertificateExpiry  = "bebpo_certificate_expiry_days"
	MetricAPIRequests        = "bebpo_api_requests_total"
	MetricFetchNotices       = "bebpo_fetch_notices_total"
	MetricIntermediaryUp     = "bebpo_intermediary_up"
	MetricIntermediaryFails  = "bebpo_intermediary_consecutive_failures"
	MetricIntermediaryOK     = "bebpo_intermediary_last_success_timestamp_seconds"
	MetricDirectoryExpiry    = "bebpo_directory_certificate_expiry_days"
	MetricDirectoryExpiring  = "bebpo_directory_certificates_expiring"
)

// Gateway wires the store into the metrics registry (message counts by
// direction and state, queue depth, intake backlog, read at scrape time)
// and offers the hooks the daemon reports polls, intermediary errors and
// certificate expiry through.
type Gateway struct {
	m   *Registry
	st  mailbox.Store
	now func() time.Time

	mu        sync.Mutex
	health    func() []intermediaries.View
	directory func() []addressbook.ExpirySummary
}

// WatchIntermediaries makes every scrape report the intermediaries'
// health as health tells it (the daemon's current generation).
func (a *Gateway) WatchIntermediaries(health func() []intermediaries.View) {
	a.mu.Lock()
	a.health = health
	a.mu.Unlock()
}

// WatchDirectory makes every scrape report the expiry of the address
// book's cipher certificates per intermediary as directory tells it.
func (a *Gateway) WatchDirectory(directory func() []addressbook.ExpirySummary) {
	a.mu.Lock()
	a.directory = directory
	a.mu.Unlock()
}

func NewGateway(m *Registry, st mailbox.Store, now func() time.Time) *Gateway {
	a := &Gateway{m: m, st: st, now: now}
	m.Describe(MetricMessages, "gauge", "Messages in the store by direction and state.")
	m.Describe(MetricQueueDepth, "gauge", "Messages a worker will pick up (outgoing: not yet sent or confirmed; incoming: not yet handed to the intake).")
	m.Describe(MetricIntakeBacklog, "gauge", "Incoming messages per mailbox not yet handed to the eAkte intake.")
	m.Describe(MetricPollDuration, "gauge", "Duration of the last poll of a mailbox.")
	m.Describe(MetricPollLastSuccess, "gauge", "Unix time of the last successful poll of a mailbox.")
	m.Describe(MetricPolls, "counter", "Polls of a mailbox by outcome (ok, error).")
	m.Describe(MetricIntermediaryErrors, "counter", "Errors reported by the intermediary, by mailbox and OSCI feedback code.")
	m.Describe(MetricCertificateExpiry, "gauge", "Days until each of our certificates expires (negative once expired).")
	m.Describe(MetricAPIRequests, "counter", "Admin API requests by route and status.")
	m.Describe(MetricIntermediaryUp, "gauge", "1 while requests reach the intermediary or its circuit is closed, 0 while its circuit is open (sends to it wait without a request).")
	m.Describe(MetricIntermediaryFails, "gauge", "Requests in a row that did not reach the intermediary.")
	m.Describe(MetricIntermediaryOK, "gauge", "Unix time of the last answer of the intermediary.")
	m.Describe(MetricDirectoryExpiry, "gauge", "Days until the earliest expiry of an address book entry's cipher certificate, per intermediary of the entries (negative once expired).")
	m.Describe(MetricDirectoryExpiring, "gauge", "Address book entries per intermediary whose cipher certificate expires within 30 days or has expired.")
	m.Describe(MetricFetchNotices, "counter", "Fetched deliveries an operator must hear of, by mailbox and kind: parked (unreadable, stored unread), skipped (reads kept stopping the process; left at the intermediary), same_content (the documents of an earlier message under a new MessageId).")
	m.Collect(a.collect)
	return a
}

// ObservePoll records one poll of a mailbox.
func (a *Gateway) ObservePoll(mailboxName string, d time.Duration, ok bool, at time.Time) {
	l := Labels{"mailbox": mailboxName}
	a.m.Set(MetricPollDuration, l, d.Seconds())
	outcome := "error"
	if ok {
		outcome = "ok"
		a.m.Set(MetricPollLastSuccess, l, float64(at.UnixNano())/1e9)
	}
	a.m.Add(MetricPolls, Labels{"mailbox": mailboxName, "outcome": outcome}, 1)
}

// IntermediaryError counts an error the intermediary reported (an OSCI
// feedback code such as "9802", or "transport" for no answer).
func (a *Gateway) IntermediaryError(mailboxName, code string) {
	a.m.Add(MetricIntermediaryErrors, Labels{"mailbox": mailboxName, "code": code}, 1)
}

// FetchNotice counts one delivery of a fetch round an operator must hear
// of (mailbox.FetchNotice.Kind: parked, skipped, same_content).
func (a *Gateway) FetchNotice(mailboxName, kind string) {
	a.m.Add(MetricFetchNotices, Labels{"mailbox": mailboxName, "kind": kind}, 1)
}

// SetCertificateExpiry records the days until one of our certificates
// expires (certs.DaysUntilExpiry); the daemon calls it at start, on reload
// and daily.
func (a *Gateway) SetCertificateExpiry(mailboxName, purpose string, days int) {
	a.m.Set(MetricCertificateExpiry, Labels{"mailbox": mailboxName, "purpose": purpose}, float64(days))
}

// MetricPurgedDocuments counts the documents retention removed.
const MetricPurgedDocuments = "bebpo_retention_purged_documents_total"

// Purged counts documents retention removed from finished messages of a
// mailbox and direction (mailbox.Retention).
func (a *Gateway) Purged(mailboxName, direction string, documents int) {
	a.m.Describe(MetricPurgedDocuments, "counter", "Documents whose content retention removed, by mailbox and direction (the rows and the journal stay).")
	a.m.Add(MetricPurgedDocuments, Labels{"mailbox": mailboxName, "direction": direction}, float64(documents))
}

// Request counts one admin API request by route pattern and status.
func (a *Gateway) Request(route string, status int) {
	if route == "" {
		route = "unmatched"
	}
	a.m.Add(MetricAPIRequests, Labels{"route": route, "status": strconv.Itoa(status)}, 1)
}

func (a *Gateway) collect(emit func(string, Labels, float64)) {
	a.mu.Lock()
	health, directory := a.health, a.directory
	a.mu.Unlock()
	if directory != nil {
		for _, s := range directory() {
			l := Labels{"intermediary": s.Intermediary}
			emit(MetricDirectoryExpiry, l, float64(s.EarliestDays))
			emit(MetricDirectoryExpiring, l, float64(s.ExpiringSoon))
		}
	}
	if health != nil {
		for _, v := range health() {
			l := Labels{"intermediary": v.Name}
			up := 1.0
			if v.State == "open" {
				up = 0
			}
			emit(MetricIntermediaryUp, l, up)
			emit(MetricIntermediaryFails, l, float64(v.ConsecutiveFailures))
			if !v.LastSuccess.IsZero() {
				emit(MetricIntermediaryOK, l, float64(v.LastSuccess.Unix()))
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.Counts(ctx)
	if err != nil {
		return // the scrape shows the registry without store values
	}
	for dir, states := range c.ByState {
		for st, n := range states {
			emit(MetricMessages, Labels{"direction": dir, "state": st}, float64(n))
		}
	}
	for dir, n := range c.QueueDepth {
		emit(MetricQueueDepth, Labels{"direction": dir}, float64(n))
	}
	for mb, n := range c.IntakeBacklog {
		emit(MetricIntakeBacklog, Labels{"mailbox": mb}, float64(n))
	}
}

// MessageCounts summarises the store.
type MessageCounts struct {
	ByState       map[string]map[string]int `json:"byState"`       // direction -> state -> n
	QueueDepth    map[string]int            `json:"queueDepth"`    // direction -> n
	IntakeBacklog map[string]int            `json:"intakeBacklog"` // mailbox -> n
}

// Counts summarises the store (one aggregate query).
func (a *Gateway) Counts(ctx context.Context) (*MessageCounts, error) {
	rows, err := a.st.CountByState(ctx)
	if err != nil {
		return nil, err
	}
	c := &MessageCounts{ByState: map[string]map[string]int{"in": {}, "out": {}}, QueueDepth: map[string]int{"in": 0, "out": 0}, IntakeBacklog: map[string]int{}}
	claimable := map[mailbox.Direction]map[mailbox.State]bool{}
	for _, d := range []mailbox.Direction{mailbox.In, mailbox.Out} {
		claimable[d] = map[mailbox.State]bool{}
		for _, s := range mailbox.ClaimableStates(d) {
			claimable[d][s] = true
		}
	}
	for _, r := range rows {
		d := string(r.Direction)
		if c.ByState[d] == nil {
			c.ByState[d] = map[string]int{}
		}
		c.ByState[d][string(r.State)] += r.N
		if claimable[r.Direction][r.State] {
			c.QueueDepth[d] += r.N
		}
		if r.Direction == mailbox.In && (r.State == mailbox.StateReceived || r.State == mailbox.StateIntakePending) {
			c.IntakeBacklog[r.Mailbox] += r.N
		}
	}
	return c, nil
}

package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 10 * time.Second

var (
	descMessages = prometheus.NewDesc(MetricMessages, "Messages in the store by direction and state.",
		[]string{"direction", "state"}, nil)
	descQueueDepth = prometheus.NewDesc(MetricQueueDepth,
		"Messages a worker will pick up (outgoing: not yet sent or confirmed; incoming: not yet handed to the intake).",
		[]string{"direction"}, nil)
	descIntakeBacklog = prometheus.NewDesc(MetricIntakeBacklog, "Incoming messages per mailbox not yet handed to the eAkte intake.",
		[]string{"mailbox"}, nil)
	descOldestWaiting = prometheus.NewDesc(MetricOldestWaiting,
		"Unix time at which the oldest waiting message of a mailbox was stored: outgoing not yet accepted by the intermediary (queued, id_assigned, sending), incoming not yet handed to the intake (received, intake_pending). Absent while none waits.",
		[]string{"direction", "mailbox"}, nil)
	descCertificateExpiry = prometheus.NewDesc(MetricCertificateExpiry, "Unix time at which each of our certificates expires (notAfter).",
		[]string{"mailbox", "purpose"}, nil)
	descIntermediaryUp = prometheus.NewDesc(MetricIntermediaryUp,
		"1 while requests reach the intermediary or its circuit is closed, 0 while its circuit is open (sends to it wait without a request).",
		[]string{"intermediary"}, nil)
	descIntermediaryFails = prometheus.NewDesc(MetricIntermediaryFails, "Requests in a row that did not reach the intermediary.",
		[]string{"intermediary"}, nil)
	descIntermediaryOK = prometheus.NewDesc(MetricIntermediaryOK, "Unix time of the last answer of the intermediary.",
		[]string{"intermediary"}, nil)
	descDirectoryExpiry = prometheus.NewDesc(MetricDirectoryExpiry,
		"Unix time of the earliest expiry (notAfter) of an address book entry's cipher certificate, per intermediary of the entries.",
		[]string{"intermediary"}, nil)
	descDirectoryExpiring = prometheus.NewDesc(MetricDirectoryExpiring,
		"Address book entries per intermediary whose cipher certificate expires within 30 days or has expired.",
		[]string{"intermediary"}, nil)
)

// waitingStates are the states counted by the oldest waiting message.
var waitingStates = map[mailbox.Direction][]mailbox.State{
	mailbox.Out: {mailbox.StateQueued, mailbox.StateIDAssigned, mailbox.StateSending},
	mailbox.In:  {mailbox.StateReceived, mailbox.StateIntakePending},
}

func newStoreCollector(st mailbox.Store) *storeCollector { return &storeCollector{st: st} }

// Describe sends every family the collector may emit.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMessages, descQueueDepth, descIntakeBacklog, descOldestWaiting,
		descCertificateExpiry, descIntermediaryUp, descIntermediaryFails, descIntermediaryOK, descDirectoryExpiry, descDirectoryExpiring} {
		ch <- d
	}
}

// Collect reads the store and the intermediaries' health now.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	health, certs, directory := c.health, c.certs, c.directory
	c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, e := range certs {
		gauge(descCertificateExpiry, float64(e.NotAfter.Unix()), e.Mailbox, e.Purpose)
	}
	if directory != nil {
		for _, s := range directory() {
			gauge(descDirectoryExpiry, float64(s.EarliestExpiry.Unix()), s.Intermediary)
			gauge(descDirectoryExpiring, float64(s.ExpiringSoon), s.Intermediary)
		}
	}
	if health != nil {
		for _, v := range health() {
			up := 1.0
			if v.State == "open" {
				up = 0
			}
			gauge(descIntermediaryUp, up, v.Name)
			gauge(descIntermediaryFails, float64(v.ConsecutiveFailures), v.Name)
			if !v.LastSuccess.IsZero() {
				gauge(descIntermediaryOK, float64(v.LastSuccess.Unix()), v.Name)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.counts(ctx)
	if err != nil {
		// The store values are left out; the handler logs and counts this.
		ch <- prometheus.NewInvalidMetric(descMessages, fmt.Errorf("metrics: message counts: %w", err))
		return
	}
	for dir, states := range counts.ByState {
		for st, n := range states {
			gauge(descMessages, float64(n), dir, st)
		}
	}
	for dir, n := range counts.QueueDepth {
		gauge(descQueueDepth, float64(n), dir)
	}
	for mb, n := range counts.IntakeBacklog {
		gauge(descIntakeBacklog, float64(n), mb)
	}
	for _, w := range counts.waiting {
		m, err := c.st.List(ctx, mailbox.Filter{Direction: w.dir, Mailbox: w.mailbox, States: waitingStates[w.dir], Limit: 1})
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descOldestWaiting, fmt.Errorf("metrics: oldest waiting message: %w", err))
			return
		}
		if len(m) == 1 { // ids grow with time: the first is the oldest
			gauge(descOldestWaiting, float64(m[0].CreatedAt.UnixNano())/1e9, string(w.dir), w.mailbox)
		}
	}
}

// MessageCounts summarises the store.
type MessageCounts struct {
	ByState       map[string]map[string]int `json:"byState"`       // direction -> state -> n
	QueueDepth    map[string]int            `json:"queueDepth"`    // direction -> n
	IntakeBacklog map[string]int            `json:"intakeBacklog"` // mailbox -> n

	waiting []waitingKey // mailboxes with a waiting message
}

type waitingKey struct {
	dir     mailbox.Direction
	mailbox string
}

// Counts summarises the store (one aggregate query).
func (g *Gateway) Counts(ctx context.Context) (*MessageCounts, error) { return g.sc.counts(ctx) }

func (c *storeCollector) counts(ctx context.Context) (*MessageCounts, error) {
	rows, err := c.st.CountByState(ctx)
	if err != nil {
		return nil, err
	}
	mc := &MessageCounts{ByState: map[string]map[string]int{"in": {}, "out": {}}, QueueDepth: map[string]int{"in": 0, "out": 0}, IntakeBacklog: map[string]int{}}
	claimable := map[mailbox.Direction]map[mailbox.State]bool{}
	waiting := map[mailbox.Direction]map[mailbox.State]bool{}
	for _, d := range []mailbox.Direction{mailbox.In, mailbox.Out} {
		claimable[d], waiting[d] = map[mailbox.State]bool{}, map[mailbox.State]bool{}
		for _, s := range mailbox.ClaimableStates(d) {
			claimable[d][s] = true
		}
		for _, s := range waitingStates[d] {
			waiting[d][s] = true
		}
	}
	seen := map[waitingKey]bool{}
	for _, r := range rows {
		d := string(r.Direction)
		if mc.ByState[d] == nil {
			mc.ByState[d] = map[string]int{}
		}
		mc.ByState[d][string(r.State)] += r.N
		if claimable[r.Direction][r.State] {
			mc.QueueDepth[d] += r.N
		}
		if r.Direction == mailbox.In && (r.State == mailbox.StateReceived || r.State == mailbox.StateIntakePending) {
			mc.IntakeBacklog[r.Mailbox] += r.N
		}
		if k := (waitingKey{r.Direction, r.Mailbox}); waiting[r.Direction][r.State] && r.N > 0 && !seen[k] {
			seen[k] = true
			mc.waiting = append(mc.waiting, k)
		}
	}
	return mc, nil
}

// Package metrics is the gateway's Prometheus registry (client_golang)
// with its own metric families, the process and Go runtime collectors and
// bebpo_build_info. Guarantees: every family has one type, help text and
// label set, checked by the registry when it is built; values read from
// the store (message counts, queue depth, intake backlog, the oldest
// waiting message) are computed at each scrape, never cached; a value
// the store cannot give at scrape time is left out rather than reported
// as zero, the rest of the scrape is served and the failure is logged and
// counted (promhttp_metric_handler_errors_total{cause="gathering"});
// label values come from configuration or fixed sets (route patterns,
// HTTP methods, status codes, states), so a caller cannot grow the
// number of series. At most MaxScrapesInFlight scrapes run at once.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/version"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// Metric names; stable, documented in docs/api.md and used by the
// dashboard and alert rules in docs/monitoring.
const (
	MetricBuildInfo          = "bebpo_build_info"
	MetricMessages           = "bebpo_messages"
	MetricQueueDepth         = "bebpo_queue_depth"
	MetricIntakeBacklog      = "bebpo_intake_backlog"
	MetricOldestWaiting      = "bebpo_oldest_waiting_message_timestamp_seconds"
	MetricPollDuration       = "bebpo_poll_duration_seconds"
	MetricPollLastSuccess    = "bebpo_poll_last_success_timestamp_seconds"
	MetricPolls              = "bebpo_polls_total"
	MetricIntermediaryErrors = "bebpo_intermediary_errors_total"
	MetricCertificateExpiry  = "bebpo_certificate_expiry_timestamp_seconds"
	MetricAPIRequests        = "bebpo_api_requests_total"
	MetricAPIDuration        = "bebpo_api_request_duration_seconds"
	MetricFetchNotices       = "bebpo_fetch_notices_total"
	MetricIntermediaryUp     = "bebpo_intermediary_up"
	MetricIntermediaryFails  = "bebpo_intermediary_consecutive_failures"
	MetricIntermediaryOK     = "bebpo_intermediary_last_success_timestamp_seconds"
	MetricDirectoryExpiry    = "bebpo_directory_certificate_expiry_timestamp_seconds"
	MetricDirectoryExpiring  = "bebpo_directory_certificates_expiring"
	MetricPurgedDocuments    = "bebpo_retention_purged_documents_total"
)

// MaxScrapesInFlight bounds concurrent scrapes of the unauthenticated
// /metrics route; more are answered 503. Each scrape reads the store.
const MaxScrapesInFlight = 4

// apiDurationBuckets span a health probe to a 200 MB upload over a slow
// link (the server allows 15 minutes).
var apiDurationBuckets = []float64{0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120, 600}

// Gateway is the gateway's registry: the hooks the daemon and the API
// report polls, intermediary errors, fetch notices, certificate expiry
// and requests through, and the store read at every scrape.
type Gateway struct {
	reg *prometheus.Registry
	sc  *storeCollector

	pollDuration    *prometheus.GaugeVec
	pollLastSuccess *prometheus.GaugeVec
	polls           *prometheus.CounterVec
	interErrors     *prometheus.CounterVec
	fetchNotices    *prometheus.CounterVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	purged          *prometheus.CounterVec
	eebOpen         prometheus.Gauge
	eebOverdue      prometheus.Gauge
}

// NewGateway builds the registry on its own (not the process-global
// default), so several servers in one process never share series.
func NewGateway(st mailbox.Store) *Gateway {
	g := &Gateway{reg: prometheus.NewRegistry(), sc: newStoreCollector(st)}
	g.pollDuration = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricPollDuration,
		Help: "Duration of the last poll of a mailbox."}, []string{"mailbox"})
	g.pollLastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricPollLastSuccess,
		Help: "Unix time of the last successful poll of a mailbox."}, []string{"mailbox"})
	g.polls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPolls,
		Help: "Polls of a mailbox by outcome (ok, error)."}, []string{"mailbox", "outcome"})
	g.interErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricIntermediaryErrors,
		Help: "Errors reported by the intermediary, by mailbox and OSCI feedback code (transport: no answer)."}, []string{"mailbox", "code"})
	g.fetchNotices = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricFetchNotices,
		Help: "Fetched deliveries an operator must hear of, by mailbox and kind: parked (unreadable, stored unread), skipped (reads kept stopping the process; left at the intermediary), same_content (the documents of an earlier message under a new MessageId)."},
		[]string{"mailbox", "kind"})
	g.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAPIRequests,
		Help: "Admin API requests by route pattern (unmatched: no route), method and status."}, []string{"route", "method", "status"})
	g.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricAPIDuration,
		Help: "Time from the request's headers to the end of the answer, by route pattern and method.", Buckets: apiDurationBuckets},
		[]string{"route", "method"})
	g.purged = prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricPurgedDocuments,
		Help: "Documents whose content retention removed, by mailbox and direction (the rows and the journal stay)."},
		[]string{"mailbox", "direction"})
	g.eebOpen, g.eebOverdue = newEEBGauges()
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricBuildInfo,
		Help:        "Always 1; the labels describe the running build.",
		ConstLabels: prometheus.Labels{"version": version.Version, "goversion": runtime.Version(), "revision": revision()}})
	build.Set(1)
	g.reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector(),
		build, g.pollDuration, g.pollLastSuccess, g.polls, g.interErrors, g.fetchNotices, g.requests, g.requestDuration, g.purged, g.eebOpen, g.eebOverdue, g.sc)
	return g
}

// revision is the VCS revision the binary was built from, if known.
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				return kv.Value
			}
		}
	}
	return ""
}

// Handler serves the registry in the Prometheus exposition format;
// errors collecting a value are logged to log and the rest is served.
func (g *Gateway) Handler(log *zap.Logger) http.Handler {
	return promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{
		ErrorLog:            zap.NewStdLog(log.Named("metrics")),
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            g.reg,
		MaxRequestsInFlight: MaxScrapesInFlight,
	})
}

// Gatherer is the registry, for tests that read it without HTTP.
func (g *Gateway) Gatherer() prometheus.Gatherer { return g.reg }

// WatchIntermediaries makes every scrape report the intermediaries'
// health as health tells it (the daemon's current generation).
func (g *Gateway) WatchIntermediaries(health func() []intermediaries.View) {
	g.sc.mu.Lock()
	g.sc.health = health
	g.sc.mu.Unlock()
}

// WatchDirectory makes every scrape report the expiry of the address
// book's cipher certificates per intermediary as directory tells it.
func (g *Gateway) WatchDirectory(directory func() []addressbook.ExpirySummary) {
	g.sc.mu.Lock()
	g.sc.directory = directory
	g.sc.mu.Unlock()
}

// Purged counts documents retention removed from finished messages of a
// mailbox and direction (mailbox.Retention).
func (g *Gateway) Purged(mailboxName, direction string, documents int) {
	g.purged.WithLabelValues(mailboxName, direction).Add(float64(documents))
}

// ObservePoll records one poll of a mailbox.
func (g *Gateway) ObservePoll(mailboxName string, d time.Duration, ok bool, at time.Time) {
	g.pollDuration.WithLabelValues(mailboxName).Set(d.Seconds())
	outcome := "error"
	if ok {
		outcome = "ok"
		g.pollLastSuccess.WithLabelValues(mailboxName).Set(float64(at.UnixNano()) / 1e9)
	}
	g.polls.WithLabelValues(mailboxName, outcome).Inc()
}

// IntermediaryError counts an error the intermediary reported (an OSCI
// feedback code such as "9802", or "transport" for no answer).
func (g *Gateway) IntermediaryError(mailboxName, code string) {
	g.interErrors.WithLabelValues(mailboxName, code).Inc()
}

// FetchNotice counts one delivery of a fetch round an operator must hear
// of (mailbox.FetchNotice.Kind: parked, skipped, same_content).
func (g *Gateway) FetchNotice(mailboxName, kind string) {
	g.fetchNotices.WithLabelValues(mailboxName, kind).Inc()
}

// CertificateExpiry is when one of our certificates expires.
type CertificateExpiry struct {
	Mailbox  string
	Purpose  string // signature, cipher
	NotAfter time.Time
}

// SetCertificateExpiries replaces the certificates whose expiry the
// scrapes report; the daemon calls it at start and on every reload, so a
// mailbox or certificate no longer configured disappears.
func (g *Gateway) SetCertificateExpiries(es []CertificateExpiry) {
	g.sc.mu.Lock()
	g.sc.certs = append([]CertificateExpiry(nil), es...)
	g.sc.mu.Unlock()
}

// Request counts one admin API request. route is the pattern it matched
// without the method ("/v1/messages/{id}"), "" for none; method is
// reported as itself only when it is a standard one.
func (g *Gateway) Request(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	method = knownMethod(method)
	g.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	g.requestDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// knownMethod maps the standard methods to themselves and any other
// token a client may send to "other", bounding the label's values.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// RoutePath is a ServeMux pattern without its method: "GET /v1/messages"
// gives "/v1/messages".
func RoutePath(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return strings.TrimLeft(pattern[i:], " \t")
	}
	return pattern
}

// storeCollector computes the store-backed families, the intermediaries'
// health and certificate expiry at every scrape.
type storeCollector struct {
	st mailbox.Store

	mu        sync.Mutex
	health    func() []intermediaries.View
	directory func() []addressbook.ExpirySummary
	certs     []CertificateExpiry
}

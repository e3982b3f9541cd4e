package metrics_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite/sqlitetest"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/metrics"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// fixture is a registry on a real store holding an unsent outgoing
// message, a received and a quarantined incoming one, with every hook
// reported once.
func fixture(t *testing.T) (*metrics.Gateway, *sqlite.Store, mailbox.Message) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, blobs := sqlitetest.Open(t, dir, nil)
	out, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag.1", Subject: "s", Now: t0},
		[]mailbox.Part{{Name: "Klage.pdf", Body: strings.NewReader("x")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailbox.Submit(ctx, st, blobs, mailbox.NewOutgoing{Mailbox: "stadt", Recipient: "DE.Justiz.ag.1", Subject: "s", Now: t0.Add(time.Hour)},
		[]mailbox.Part{{Name: "Klage.pdf", Body: strings.NewReader("y")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "amt", OSCIMessageID: "govapp_1", ContentSHA256: strings.Repeat("a", 64),
		Size: 1, Now: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertIncoming(ctx, mailbox.NewIncoming{Mailbox: "amt", OSCIMessageID: "govapp_2", ContentSHA256: strings.Repeat("b", 64),
		Size: 1, Now: t0, Unreadable: "decrypt: no recipient key", Attempts: 3}); err != nil {
		t.Fatal(err)
	}
	g := metrics.NewGateway(st)
	g.ObservePoll("stadt", 1500*time.Millisecond, true, t0)
	g.ObservePoll("stadt", time.Second, false, t0.Add(time.Minute))
	g.IntermediaryError("stadt", "9802")
	g.FetchNotice("stadt", mailbox.NoticeParked)
	g.SetCertificateExpiries([]metrics.CertificateExpiry{{Mailbox: "stadt", Purpose: "cipher", NotAfter: t0.Add(20 * 24 * time.Hour)}})
	g.WatchIntermediaries(func() []intermediaries.View {
		return []intermediaries.View{{Name: "egvp", State: "open", ConsecutiveFailures: 5, LastSuccess: t0}, {Name: "justiz", State: "ok"}}
	})
	g.WatchDirectory(func() []addressbook.ExpirySummary {
		return []addressbook.ExpirySummary{{Intermediary: "justiz", Entries: 3, EarliestExpiry: t0.Add(10 * 24 * time.Hour), ExpiringSoon: 1}}
	})
	g.Purged("stadt", "in", 2)
	g.Request("/v1/messages/{id}", http.MethodGet, 200, 30*time.Millisecond)
	g.Request("", "BREW", 404, time.Millisecond)
	return g, st, out
}

// scrape reads the registry over HTTP as Prometheus does.
func scrape(t *testing.T, g *metrics.Gateway) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	ts := httptest.NewServer(g.Handler(zap.NewNop()))
	defer ts.Close()
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v\n%s", resp.StatusCode, err, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	return fams, string(body)
}

// value returns the sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Errorf("%s not served", name)
		return math.NaN()
	}
next:
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Errorf("%s has no series with %v", name, want)
	return math.NaN()
}

func TestScrapeServesEveryFamily(t *testing.T) {
	g, _, out := fixture(t)
	fams, _ := scrape(t, g)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{metrics.MetricBuildInfo, nil, 1},
		{metrics.MetricMessages, map[string]string{"direction": "out", "state": "queued"}, 2},
		{metrics.MetricMessages, map[string]string{"direction": "in", "state": "quarantined"}, 1},
		{metrics.MetricQueueDepth, map[string]string{"direction": "out"}, 2},
		{metrics.MetricIntakeBacklog, map[string]string{"mailbox": "amt"}, 1},
		{metrics.MetricOldestWaiting, map[string]string{"direction": "out", "mailbox": "stadt"}, float64(out.CreatedAt.UnixNano()) / 1e9},
		{metrics.MetricOldestWaiting, map[string]string{"direction": "in", "mailbox": "amt"}, float64(t0.Add(2 * time.Hour).Unix())},
		{metrics.MetricPollDuration, map[string]string{"mailbox": "stadt"}, 1},
		{metrics.MetricPollLastSuccess, map[string]string{"mailbox": "stadt"}, float64(t0.Unix())},
		{metrics.MetricPolls, map[string]string{"mailbox": "stadt", "outcome": "ok"}, 1},
		{metrics.MetricPolls, map[string]string{"mailbox": "stadt", "outcome": "error"}, 1},
		{metrics.MetricIntermediaryErrors, map[string]string{"mailbox": "stadt", "code": "9802"}, 1},
		{metrics.MetricFetchNotices, map[string]string{"mailbox": "stadt", "kind": "parked"}, 1},
		{metrics.MetricCertificateExpiry, map[string]string{"mailbox": "stadt", "purpose": "cipher"}, float64(t0.Add(20 * 24 * time.Hour).Unix())},
		{metrics.MetricIntermediaryUp, map[string]string{"intermediary": "egvp"}, 0},
		{metrics.MetricIntermediaryUp, map[string]string{"intermediary": "justiz"}, 1},
		{metrics.MetricIntermediaryFails, map[string]string{"intermediary": "egvp"}, 5},
		{metrics.MetricIntermediaryOK, map[string]string{"intermediary": "egvp"}, float64(t0.Unix())},
		{metrics.MetricAPIRequests, map[string]string{"route": "/v1/messages/{id}", "method": "GET", "status": "200"}, 1},
		{metrics.MetricAPIRequests, map[string]string{"route": "unmatched", "method": "other", "status": "404"}, 1},
		{metrics.MetricAPIDuration, map[string]string{"route": "/v1/messages/{id}", "method": "GET"}, 1},
	} {
		if got := value(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if bi := fams[metrics.MetricBuildInfo]; bi != nil {
		labels := map[string]bool{}
		for _, l := range bi.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue() != "" || l.GetName() == "revision"
		}
		if !labels["version"] || !labels["goversion"] {
			t.Errorf("build_info labels %v", bi.GetMetric()[0].GetLabel())
		}
	}
	for _, name := range []string{"process_start_time_seconds", "process_resident_memory_bytes", "go_goroutines", "go_memstats_heap_inuse_bytes"} {
		if fams[name] == nil {
			t.Errorf("%s not served", name)
		}
	}
	// An intermediary that never answered has no last-success series.
	for _, m := range fams[metrics.MetricIntermediaryOK].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetValue() == "justiz" {
				t.Error("last success reported for an intermediary that never answered")
			}
		}
	}
}

// A store that cannot answer leaves its values out, and the rest of the
// scrape is served; the failure is counted.
func TestScrapeWithoutStoreServesTheRest(t *testing.T) {
	g, st, _ := fixture(t)
	st.Close()
	scrape(t, g)
	fams, _ := scrape(t, g) // the counter shows the first scrape's failure
	for _, name := range []string{metrics.MetricMessages, metrics.MetricQueueDepth, metrics.MetricOldestWaiting} {
		if fams[name] != nil {
			t.Errorf("%s served without a store: %v", name, fams[name])
		}
	}
	for _, name := range []string{metrics.MetricBuildInfo, metrics.MetricPolls, metrics.MetricCertificateExpiry, metrics.MetricIntermediaryUp} {
		if fams[name] == nil {
			t.Errorf("%s not served when the store fails", name)
		}
	}
	if got := value(t, fams, "promhttp_metric_handler_errors_total", map[string]string{"cause": "gathering"}); got != 1 {
		t.Errorf("gathering errors %v, want 1", got)
	}
}

// Certificates no longer configured (a reload) disappear from the scrape.
func TestCertificateExpiriesAreReplaced(t *testing.T) {
	g, _, _ := fixture(t)
	g.SetCertificateExpiries([]metrics.CertificateExpiry{{Mailbox: "amt", Purpose: "signature", NotAfter: t0}})
	fams, _ := scrape(t, g)
	if ms := fams[metrics.MetricCertificateExpiry].GetMetric(); len(ms) != 1 {
		t.Errorf("%d certificate series after the replacement, want 1: %v", len(ms), ms)
	}
}

func TestRoutePath(t *testing.T) {
	for in, want := range map[string]string{"GET /v1/messages/{id}": "/v1/messages/{id}", "/metrics": "/metrics", "": ""} {
		if got := metrics.RoutePath(in); got != want {
			t.Errorf("RoutePath(%q) = %q, want %q", in, got, want)
		}
	}
}

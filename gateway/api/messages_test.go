package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/metrics"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

func TestAPIListPaging(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	ids := e.SubmitN(t, 5)
	if _, err := e.Store.InsertIncoming(context.Background(), mailbox.NewIncoming{Mailbox: apitest.Mailbox, OSCIMessageID: "govapp_1",
		ContentSHA256: strings.Repeat("a", 64), Size: 5, Sender: apitest.Recipient}); err != nil {
		t.Fatal(err)
	}
	var got []int64
	next := "/v1/messages?direction=out&limit=2"
	pages := 0
	for next != "" {
		var page api.MessageList
		if r := e.DoJSON(t, "GET", next, nil, &page); r.StatusCode != 200 {
			t.Fatalf("GET %s: %d", next, r.StatusCode)
		}
		for _, m := range page.Messages {
			got = append(got, m.ID)
		}
		next = page.Next
		if pages++; pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("paged ids %v, want %v", got, ids)
	}
	filters := []struct {
		query string
		want  int
	}{
		{"direction=in", 1},
		{"state=queued", 5},
		{"state=received,queued", 6},
		{"mailbox=ordnungsamt", 0},
		{"after=" + fmt.Sprint(ids[3]), 2},
	}
	for _, f := range filters {
		var page api.MessageList
		if r := e.DoJSON(t, "GET", "/v1/messages?"+f.query, nil, &page); r.StatusCode != 200 || len(page.Messages) != f.want {
			t.Errorf("%s: status %d, %d messages, want %d", f.query, r.StatusCode, len(page.Messages), f.want)
		}
	}
	bad := []struct{ query, field string }{
		{"direction=sideways", "direction"},
		{"state=lost", "state"},
		{"after=-1", "after"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
	}
	for _, b := range bad {
		r := e.Do(t, "GET", "/v1/messages?"+b.query, nil, nil)
		if r.StatusCode != 400 || apitest.ProblemOf(t, r).Field != b.field {
			t.Errorf("%s: status %d, want 400 on %s", b.query, r.StatusCode, b.field)
		}
	}
}

func TestAPIOperatorActions(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	ids := e.SubmitN(t, 2)
	path := func(id int64, op string) string { return fmt.Sprintf("/v1/messages/%d/%s", id, op) }
	steps := []struct {
		name, op string
		body     any
		status   int
		state    string
		detail   string
	}{
		{"hold", "hold", api.OperateRequest{Reason: "Anlage fehlt"}, 200, "held", ""},
		{"hold twice", "hold", nil, 409, "", "from held to held"},
		{"release", "release", nil, 200, "queued", ""},
		{"release a queued message", "release", nil, 409, "", "from queued"},
		{"requeue", "requeue", nil, 200, "queued", ""},
		{"unknown body field", "hold", map[string]string{"why": "x"}, 400, "", "body"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var m api.MessageView
			r := e.DoJSON(t, "POST", path(ids[0], s.op), s.body, &m)
			if r.StatusCode != s.status {
				t.Fatalf("status %d, want %d", r.StatusCode, s.status)
			}
			if s.status == 200 && m.State != s.state {
				t.Errorf("state %s, want %s", m.State, s.state)
			}
			if s.status != 200 {
				if p := apitest.ProblemOf(t, r); !strings.Contains(p.Detail, s.detail) {
					t.Errorf("detail %q does not name %q", p.Detail, s.detail)
				}
			}
		})
	}
	// A message an engine holds a live lease on cannot be requeued.
	if _, err := e.Store.ClaimDue(context.Background(), mailbox.Out, e.Clock.Now().Add(time.Hour), "sender", time.Hour, 10); err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, "POST", path(ids[1], "requeue"), nil, nil)
	if r.StatusCode != 409 || apitest.ProblemOf(t, r).Field != "state" {
		t.Errorf("requeue of a leased message: %d", r.StatusCode)
	}
	if r := e.Do(t, "POST", path(99, "hold"), nil, nil); r.StatusCode != 404 {
		t.Errorf("hold of an unknown message: %d", r.StatusCode)
	}
	// The operator's principal is journaled with the action.
	var m api.MessageView
	e.DoJSON(t, "GET", fmt.Sprintf("/v1/messages/%d", ids[0]), nil, &m)
	found := false
	for _, ev := range m.Events {
		if ev.Kind == "api" {
			t.Errorf("audit entry in the message's events: %s", ev.Detail)
		}
		var d map[string]string
		json.Unmarshal(ev.Detail, &d)
		found = found || (ev.Kind == "operator" && d["actor"] == "token:ops" && d["reason"] == "Anlage fehlt")
	}
	if !found {
		t.Errorf("no operator event with actor and reason: %+v", m.Events)
	}
}

func TestAPIHealthReadyMetrics(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	e.SubmitN(t, 1)
	get := func(path string) (*http.Response, api.ReadyReport) {
		req, _ := http.NewRequest("GET", e.TS.URL+path, nil) // unauthenticated, as a probe
		resp, err := e.TS.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		var rep api.ReadyReport
		if path == "/readyz" {
			json.NewDecoder(resp.Body).Decode(&rep)
		}
		return resp, rep
	}
	if r, _ := get("/healthz"); r.StatusCode != 200 {
		t.Errorf("healthz %d", r.StatusCode)
	}
	now := apitest.T0.Add(24 * time.Hour)
	tests := []struct {
		name       string
		stadt, amt pollEntry
		want       int
	}{
		{"never polled", pollEntry{}, pollEntry{}, 503},
		{"both recent", pollEntry{true, now.Add(-time.Minute)}, pollEntry{true, now.Add(-2 * time.Minute)}, 200},
		{"one failed", pollEntry{true, now.Add(-time.Minute)}, pollEntry{false, now.Add(-time.Minute)}, 503},
		{"one stale", pollEntry{true, now.Add(-time.Minute)}, pollEntry{true, now.Add(-4 * time.Minute)}, 503},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.Clock.Set(now)
			e.Poll.Set(apitest.Mailbox, tc.stadt.ok, tc.stadt.at)
			e.Poll.Set("ordnungsamt", tc.amt.ok, tc.amt.at)
			r, rep := get("/readyz")
			if r.StatusCode != tc.want || rep.Ready != (tc.want == 200) {
				t.Fatalf("status %d ready %v, want %d: %+v", r.StatusCode, rep.Ready, tc.want, rep.Checks)
			}
		})
	}
	if _, err := e.Store.InsertIncoming(context.Background(), mailbox.NewIncoming{Mailbox: apitest.Mailbox, OSCIMessageID: "govapp_9",
		ContentSHA256: strings.Repeat("b", 64), Size: 5, Sender: apitest.Recipient}); err != nil {
		t.Fatal(err)
	}
	e.Srv.Metrics().ObservePoll(apitest.Mailbox, 1500*time.Millisecond, true, now)
	e.Srv.Metrics().IntermediaryError(apitest.Mailbox, "9802")
	e.Srv.Metrics().SetCertificateExpiries([]metrics.CertificateExpiry{{Mailbox: apitest.Mailbox, Purpose: "cipher",
		NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}})
	r, _ := get("/metrics")
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, want := range []string{
		`bebpo_messages{direction="out",state="queued"} 1`,
		`bebpo_queue_depth{direction="out"} 1`,
		`bebpo_queue_depth{direction="in"} 1`,
		`bebpo_messages{direction="in",state="received"} 1`,
		`bebpo_intake_backlog{mailbox="stadt"} 1`,
		`bebpo_poll_last_success_timestamp_seconds{mailbox="stadt"}`,
		`bebpo_polls_total{mailbox="stadt",outcome="ok"} 1`,
		`bebpo_poll_duration_seconds{mailbox="stadt"} 1.5`,
		`bebpo_intermediary_errors_total{code="9802",mailbox="stadt"} 1`,
		`bebpo_certificate_expiry_timestamp_seconds{mailbox="stadt",purpose="cipher"} 1.7987616e+09`,
		`bebpo_api_requests_total{method="POST",route="/v1/messages",status="202"} 1`,
		`bebpo_api_request_duration_seconds_count{method="POST",route="/v1/messages"} 1`,
		`bebpo_api_requests_total{method="GET",route="/readyz",status="503"} 3`,
		`bebpo_build_info{goversion="` + runtime.Version() + `"`,
		`process_start_time_seconds `,
		`go_goroutines `,
		// The address book's recipient names no intermediary: its own.
		`bebpo_directory_certificate_expiry_timestamp_seconds{intermediary="(own)"} `,
		`bebpo_directory_certificates_expiring{intermediary="(own)"} 0`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	var st api.StatusReport
	if r := e.DoJSON(t, "GET", "/v1/status", nil, &st); r.StatusCode != 200 || st.Counts.ByState["out"]["queued"] != 1 || len(st.Mailboxes) != 2 {
		t.Errorf("status %d %+v", r.StatusCode, st)
	}
	if len(st.Directory) != 1 || st.Directory[0].Intermediary != "(own)" || st.Directory[0].Entries != 1 ||
		st.Directory[0].EarliestSafeID != apitest.Recipient || st.Directory[0].EarliestExpiry.IsZero() {
		t.Errorf("status directory %+v", st.Directory)
	}
}

// pollEntry is one mailbox's last poll as a test case states it.
type pollEntry struct {
	ok bool
	at time.Time
}

// TestAPIReprocess: an operator reads a parked delivery again through the
// API (POST /v1/messages/{id}/reprocess): read, it goes on as received;
// anything but a parked delivery is refused with 409. A delivery no
// longer read is cleared for the next poll.
func TestAPIReprocess(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithReprocessor(apitest.ReferenceReprocessor(t)))
	p := apitest.ParkReference(t, e.Store, e.Blobs, apitest.Mailbox, "names")
	path := fmt.Sprintf("/v1/messages/%d/reprocess", p.ID)
	var m api.MessageView
	if r := e.DoJSON(t, "POST", path, nil, &m); r.StatusCode != 200 || m.State != string(mailbox.StateReceived) || len(m.Documents) != 4 {
		t.Fatalf("reprocess: %d %+v", r.StatusCode, m)
	}
	if r := e.Do(t, "POST", path, nil, nil); r.StatusCode != 409 || apitest.ProblemOf(t, r).Field != "state" {
		t.Fatalf("reprocess of a delivery no longer parked: %d", r.StatusCode)
	}
	if r := e.Do(t, "POST", "/v1/messages/999/reprocess", nil, nil); r.StatusCode != 404 {
		t.Fatalf("reprocess of an unknown message: %d", r.StatusCode)
	}
	found := false
	e.DoJSON(t, "GET", fmt.Sprintf("/v1/messages/%d", p.ID), nil, &m)
	for _, ev := range m.Events {
		var d map[string]string
		json.Unmarshal(ev.Detail, &d)
		found = found || (ev.Kind == "reread" && d["actor"] == "token:ops")
	}
	if !found {
		t.Fatalf("reprocess not journaled with the principal: %+v", m.Events)
	}
	// Without the bridge the route says so.
	bare := apitest.NewEnv(t, api.Limits{})
	q := apitest.ParkReference(t, bare.Store, bare.Blobs, apitest.Mailbox, "names")
	if r := bare.Do(t, "POST", fmt.Sprintf("/v1/messages/%d/reprocess", q.ID), nil, nil); r.StatusCode != 503 {
		t.Fatalf("reprocess without a bridge: %d", r.StatusCode)
	}

	ctx := context.Background()
	for range 4 {
		if _, err := e.Store.BeginFetch(ctx, apitest.Mailbox, "govapp_skipped", e.Clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	var c api.ClearFetchResponse
	if r := e.DoJSON(t, "POST", "/v1/mailboxes/"+apitest.Mailbox+"/fetches/govapp_skipped/clear", nil, &c); r.StatusCode != 200 || !c.Cleared {
		t.Fatalf("clear: %d %+v", r.StatusCode, c)
	}
	if n, err := e.Store.BeginFetch(ctx, apitest.Mailbox, "govapp_skipped", e.Clock.Now()); err != nil || n != 1 {
		t.Fatalf("reads after clearing: %d %v", n, err)
	}
	if r := e.Do(t, "POST", "/v1/mailboxes/nobody/fetches/govapp_skipped/clear", nil, nil); r.StatusCode != 422 || apitest.ProblemOf(t, r).Field != "mailbox" {
		t.Fatalf("clear for an unknown mailbox: %d", r.StatusCode)
	}
}

// TestAPIMetricsCountFetchNotices: parked, skipped and same-content
// deliveries are counted per mailbox and kind for /metrics.
func TestAPIMetricsCountFetchNotices(t *testing.T) {
	e := apitest.NewEnv(t, api.Limits{})
	for _, k := range []string{mailbox.NoticeParked, mailbox.NoticeParked, mailbox.NoticeSkipped, mailbox.NoticeSameContent} {
		e.Srv.Metrics().FetchNotice(apitest.Mailbox, k)
	}
	r := e.Do(t, "GET", "/metrics", nil, nil)
	body, _ := io.ReadAll(r.Body)
	for _, want := range []string{`bebpo_fetch_notices_total{kind="parked",mailbox="stadt"} 2`, `bebpo_fetch_notices_total{kind="skipped",mailbox="stadt"} 1`,
		`bebpo_fetch_notices_total{kind="same_content",mailbox="stadt"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

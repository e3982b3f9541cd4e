package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/intermediaries"
)

// TestStatusShowsAnOutage: the operator's status names the intermediary
// whose circuit is open, since when it fails, why, and when sends to it
// are tried again.
func TestStatusShowsAnOutage(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	rep := api.StatusReport{Version: "test", Now: at, Intermediaries: []intermediaries.View{
		{Name: "bebpo", State: "ok", LastSuccess: at},
		{Name: "justiz-nrw", State: "open", ConsecutiveFailures: 3, LastFailure: at, LastError: "connection refused", OpenUntil: at.Add(time.Minute)}}}
	var b bytes.Buffer
	if err := printStatus(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"INTERMEDIARY", "justiz-nrw    open", "connection refused", "2026-12-03T10:01:00+01:00"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

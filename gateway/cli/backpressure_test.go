package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// TestThirtySendsAtOnceAreAllAccepted starts 30 send commands at once
// against a gateway whose upload budget admits a few of them: the others
// are answered 503 with Retry-After, wait and try again, and every one is
// accepted, none lost, none twice.
func TestThirtySendsAtOnceAreAllAccepted(t *testing.T) {
	const n = 30
	doc := strings.Repeat("%PDF-1.7 Klageschrift ", 3000) // 66 kB
	e := apitest.NewEnv(t, api.Limits{MaxUploadBytes: 4 * int64(len(doc)), SmallUploadBytes: 4096})
	e.AddRecipient(t)
	var busy, busyWithoutRetryAfter atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &headerPeek{ResponseWriter: w}
		e.Srv.Handler().ServeHTTP(rec, r)
		if rec.status == http.StatusServiceUnavailable {
			busy.Add(1)
			if w.Header().Get("Retry-After") == "" {
				busyWithoutRetryAfter.Add(1)
			}
		}
	}))
	defer ts.Close()
	var wg sync.WaitGroup
	failures := make(chan string, n)
	for i := 0; i < n; i++ {
		files := cliFiles(t, apitest.Doc{Name: fmt.Sprintf("Klage_%d.pdf", i), Content: doc})
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errs := runCLI(t, map[string]string{TokenEnv: apitest.Token}, "send", "--api", ts.URL, "--timeout", "2m",
				"--to", apitest.Recipient, "--subject", "Klage", files[0])
			if code != ExitOK || !strings.Contains(out, "accepted") {
				failures <- fmt.Sprintf("exit %d: %s %s", code, out, errs)
			}
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if got := e.MessageCount(t); got != n {
		t.Fatalf("%d messages stored, want %d", got, n)
	}
	if busy.Load() == 0 {
		t.Fatal("no submission was held back: the test did not exercise the budget")
	}
	if busyWithoutRetryAfter.Load() != 0 {
		t.Fatalf("%d of %d busy answers lacked Retry-After", busyWithoutRetryAfter.Load(), busy.Load())
	}
	t.Logf("%d busy answers, each with Retry-After", busy.Load())
}

// headerPeek remembers the status a handler wrote.
type headerPeek struct {
	http.ResponseWriter
	status int
}

func (h *headerPeek) WriteHeader(code int) {
	h.status = code
	h.ResponseWriter.WriteHeader(code)
}

package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// TestUploadBudgetCountsBytesNotUploads: large uploads share the byte
// budget, a small one passes however full it is, a single upload larger
// than the budget passes alone, and a waiter gets in once bytes are freed.
func TestUploadBudgetCountsBytesNotUploads(t *testing.T) {
	b := api.NewUploadBudget(100, 10)
	r1, ok := b.TryAcquire(60)
	if !ok {
		t.Fatal("first upload refused")
	}
	if _, ok := b.TryAcquire(50); ok {
		t.Fatal("60+50 bytes admitted with a budget of 100")
	}
	small, ok := b.TryAcquire(10)
	if !ok {
		t.Fatal("a small upload was held back")
	}
	r2, ok := b.TryAcquire(30)
	if !ok {
		t.Fatal("60+10+30 bytes refused with a budget of 100")
	}
	got := make(chan error, 1)
	go func() {
		release, err := b.Acquire(context.Background(), 50)
		if err == nil {
			release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Acquire returned %v before bytes were freed", err)
	case <-time.After(50 * time.Millisecond):
	}
	r1()
	r1() // a second release changes nothing
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	small()
	r2()
	if n, u := b.InFlight(); n != 0 || u != 0 {
		t.Fatalf("in flight after every release: %d bytes in %d uploads", n, u)
	}
	big, ok := b.TryAcquire(500)
	if !ok {
		t.Fatal("an upload larger than the budget must pass alone")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx, 50); err == nil {
		t.Fatal("Acquire past the budget did not wait for its context")
	}
	big()
}

// TestBusyAnswerCarriesRetryAfter: a submission past the budget is
// answered 503 with Retry-After and a problem naming the bytes in flight;
// a small one passes all the same.
func TestBusyAnswerCarriesRetryAfter(t *testing.T) {
	small, smallCT := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "Kurz.pdf", Content: "%PDF"})
	n := int64(small.Len())
	e := apitest.NewEnv(t, api.Limits{MaxUploadBytes: 10 * n, SmallUploadBytes: n})
	e.AddRecipient(t)
	release, ok := e.Srv.Uploads().TryAcquire(9 * n)
	if !ok {
		t.Fatal(ok)
	}
	defer release()
	body, ct := apitest.MultipartBody(t, apitest.OKMessage(), apitest.Doc{Name: "Klage.pdf", Content: "%PDF " + strings.Repeat("x", int(2*n))})
	resp := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if p := apitest.ProblemOf(t, resp); !strings.Contains(p.Detail, fmt.Sprintf("%d bytes in 1 submissions", 9*n)) {
		t.Fatalf("problem %+v", p)
	}
	if resp := e.Do(t, "POST", "/v1/messages", small, map[string]string{"Content-Type": smallCT}); resp.StatusCode != 202 {
		t.Fatalf("small submission while the budget is full: %d", resp.StatusCode)
	}
}

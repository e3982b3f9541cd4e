package mailbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestHTTPIntakeRedirectIsNotDelivered: an endpoint (or someone in front
// of it) that answers the POST with 302 to a page that answers GET with
// 200 did not get the entry; the hand-over fails and the GET is never made.
func TestHTTPIntakeRedirectIsNotDelivered(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/eingang" {
			http.Redirect(w, r, "/danke", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	h := &HTTPIntake{URL: srv.URL + "/eingang", Client: srv.Client(), Retry: RetryPolicy{Initial: time.Second, Factor: 1, Max: time.Second, MaxTries: 2},
		Sleep: func(context.Context, time.Duration) error { return nil }}
	_, err := h.Deliver(context.Background(), sampleIntake())
	if !errors.Is(err, ErrIntakeRedirect) || !errors.Is(err, ErrIntakeRejected) {
		t.Fatalf("%v, want ErrIntakeRedirect", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] != "POST /eingang" || seen[1] != "POST /eingang" {
		t.Fatalf("requests %v, want only the configured POST (twice)", seen)
	}
}

// slowDMS takes its time to read the upload, as a DMS behind a slow link
// does with a large delivery.
type slowDMS struct {
	chunk int
	pause time.Duration
}

func (s *slowDMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf := make([]byte, s.chunk)
	start := time.Now()
	for {
		n, err := r.Body.Read(buf)
		if err != nil {
			break
		}
		if time.Since(start) > 3*time.Second { // the client gave up long ago
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		time.Sleep(s.pause * time.Duration(n) / time.Duration(s.chunk))
	}
	w.WriteHeader(http.StatusCreated)
}

// bigIntake is sampleIntake with one more document of size bytes.
func bigIntake(size int) *IntakeMessage {
	im := sampleIntake()
	body := bytes.Repeat([]byte("%PDF large "), size/11+1)[:size]
	sum := sha256Hex(string(body))
	im.Documents = append(im.Documents, IntakeFile{FileName: "Akte.pdf", OriginalName: "Akte.pdf", ContentType: "application/pdf", Size: int64(size),
		SHA256: sum, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }})
	return im
}

// TestHTTPIntakeSlowLargeUploadWithinAllowance: a large delivery to a slow
// endpoint used to die at the fixed client timeout (60 s for any size).
// The request timeout grows with the entry: a slow upload within the
// per-MiB allowance succeeds, one beyond it fails.
func TestHTTPIntakeSlowLargeUploadWithinAllowance(t *testing.T) {
	const size = 2<<20 - 64<<10 // the whole entry stays below 2 MiB
	tests := []struct {
		name  string
		pause time.Duration // per 64 KiB read, about 32 in all
		ok    bool
	}{
		{"slow, within the allowance", 20 * time.Millisecond, true},
		{"stalled beyond it", 100 * time.Millisecond, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &slowDMS{chunk: 64 << 10, pause: tc.pause}
			srv := httptest.NewServer(d)
			defer srv.Close()
			// Base 200 ms, 1 s per MiB: the slow upload takes about 0.65 s,
			// more than the base alone, the stalled one 3 s; the allowance
			// for 2 MiB is 2.2 s.
			h := &HTTPIntake{URL: srv.URL, Client: srv.Client(), BaseTimeout: 200 * time.Millisecond, TimeoutPerMiB: time.Second,
				Retry: RetryPolicy{Initial: time.Second, Factor: 1, Max: time.Second, MaxTries: 1}}
			start := time.Now()
			_, err := h.Deliver(context.Background(), bigIntake(size))
			if tc.ok && err != nil {
				t.Fatalf("slow upload within the allowance failed after %v: %v", time.Since(start), err)
			}
			if !tc.ok && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("stalled upload: %v after %v, want a timeout", err, time.Since(start))
			}
		})
	}
}

func TestHTTPIntakeTimeout(t *testing.T) {
	tests := []struct {
		name string
		h    HTTPIntake
		size int64
		want time.Duration
	}{
		{"defaults, small", HTTPIntake{}, 10 << 10, 65 * time.Second},
		{"defaults, 200 MB", HTTPIntake{}, 200_000_000, 60*time.Second + 191*5*time.Second},
		{"configured", HTTPIntake{BaseTimeout: time.Minute, TimeoutPerMiB: 2 * time.Second}, 3 << 20, 66 * time.Second},
		{"empty", HTTPIntake{}, 0, 60 * time.Second},
	}
	for _, tc := range tests {
		if got := tc.h.Timeout(tc.size); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHTTPIntakeRefusesPlainHTTP: court documents and the DMS token do not
// travel in clear text unless the endpoint is on this host or the
// configuration explicitly allows it.
func TestHTTPIntakeRefusesPlainHTTP(t *testing.T) {
	tests := []struct {
		url   string
		allow bool
		want  error
	}{
		{"https://dms.example/eingang", false, nil},
		{"http://127.0.0.1:8080/eingang", false, nil},
		{"http://localhost/eingang", false, nil},
		{"http://[::1]:9000/", false, nil},
		{"http://dms.example/eingang", false, ErrIntakeInsecure},
		{"http://10.1.2.3/eingang", false, ErrIntakeInsecure},
		{"http://localhost.dms.example/", false, ErrIntakeInsecure},
		{"http://dms.example/eingang", true, nil},
		{"ftp://dms.example/", false, ErrInvalidInput},
		{"https:///eingang", false, ErrInvalidInput},
		{"dms.example/eingang", false, ErrInvalidInput},
	}
	for _, tc := range tests {
		h := &HTTPIntake{URL: tc.url, AllowInsecureHTTP: tc.allow}
		if err := h.Validate(); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s (allow %v): %v, want %v", tc.url, tc.allow, err, tc.want)
		}
	}
	var requests int
	h := &HTTPIntake{URL: "http://dms.example/eingang", Client: &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		requests++
		return nil, errors.New("no network in tests")
	})}, Sleep: func(context.Context, time.Duration) error { return nil }}
	if _, err := h.Deliver(context.Background(), sampleIntake()); !errors.Is(err, ErrIntakeInsecure) || requests != 0 {
		t.Fatalf("Deliver over plain http: %v after %d requests, want ErrIntakeInsecure and none", err, requests)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package mailbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// dms is a document management endpoint that honours Idempotency-Key.
type dms struct {
	mu       sync.Mutex
	fail     []int // status codes for the first requests
	requests int
	entries  map[string]map[string]string // key → part name → sha256
}

func (d *dms) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests++
	if len(d.fail) > 0 {
		code := d.fail[0]
		d.fail = d.fail[1:]
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(code)
		return
	}
	key := r.Header.Get(IdempotencyHeader)
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if key == "" || err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	parts := map[string]string{}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h := sha256.New()
		io.Copy(h, p)
		parts[p.FormName()] = hex.EncodeToString(h.Sum(nil))
	}
	if _, dup := d.entries[key]; !dup {
		d.entries[key] = parts
	}
	w.Header().Set("Location", "/akten/eingang/"+key)
	w.WriteHeader(http.StatusCreated)
}

func TestHTTPIntake(t *testing.T) {
	tests := []struct {
		name     string
		fail     []int
		tries    int
		want     error
		requests int
	}{
		{"accepted at once", nil, 4, nil, 1},
		{"server errors then success", []int{503, 500, 502}, 4, nil, 4},
		{"rejected past the tries", []int{503, 503, 503, 503}, 4, ErrIntakeRejected, 4},
		{"client error is retried too", []int{400}, 4, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &dms{fail: tc.fail, entries: map[string]map[string]string{}}
			srv := httptest.NewServer(d)
			defer srv.Close()
			var slept []time.Duration
			h := &HTTPIntake{URL: srv.URL + "/eingang", Client: srv.Client(), Now: func() time.Time { return g0 },
				Retry: RetryPolicy{Initial: time.Second, Factor: 2, Max: time.Minute, MaxTries: tc.tries},
				Sleep: func(_ context.Context, dur time.Duration) error { slept = append(slept, dur); return nil }}
			im := sampleIntake()
			rec, err := h.Deliver(context.Background(), im)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("%v, want %v", err, tc.want)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if d.requests != tc.requests {
				t.Fatalf("%d requests, want %d", d.requests, tc.requests)
			}
			if len(slept) != tc.requests-1 || (len(slept) > 1 && slept[1] != 2*time.Second) {
				t.Fatalf("waits %v", slept)
			}
			if tc.want != nil {
				return
			}
			if rec.Location != "/akten/eingang/"+im.Metadata.MessageID || rec.Sink != "http" {
				t.Fatalf("record %+v", rec)
			}
			parts := d.entries[im.Metadata.MessageID]
			if len(parts) != 12 || parts[FileReportPDF] == "" || parts["zertifikate/vhn.crt"] == "" || parts["dokumente/xjustiz_nachricht.xml"] != sum([]byte("<nachricht/>")) || parts[FileManifest] == "" {
				t.Fatalf("parts %v", parts)
			}
			// A duplicate POST (e.g. after a lost response) leaves one entry.
			if _, err := h.Deliver(context.Background(), sampleIntake()); err != nil {
				t.Fatal(err)
			}
			if len(d.entries) != 1 {
				t.Fatalf("%d entries after duplicate POST", len(d.entries))
			}
		})
	}
}

func TestHTTPIntakeCancelled(t *testing.T) {
	d := &dms{fail: []int{503, 503}, entries: map[string]map[string]string{}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	h := &HTTPIntake{URL: srv.URL, Client: srv.Client(), Retry: RetryPolicy{Initial: time.Hour, Factor: 2, Max: time.Hour},
		Sleep: func(context.Context, time.Duration) error { cancel(); return context.Canceled }}
	if _, err := h.Deliver(ctx, sampleIntake()); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want context.Canceled", err)
	}
}

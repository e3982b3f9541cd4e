package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
)

// UploadBudget bounds the bytes of the submissions being uploaded at
// once, so that a burst of large uploads cannot exhaust the disk's
// bandwidth or the request timeouts, while small messages are never held
// back by it: an upload of at most Small bytes is always admitted, and so
// is any upload while nothing else is in flight (one larger than the
// whole budget would otherwise never pass).
type UploadBudget struct {
	Max   int64 // bytes in flight
	Small int64 // uploads of at most this size are always admitted

	mu      sync.Mutex
	inUse   int64
	n       int
	changed chan struct{} // closed when bytes are released
}

// NewUploadBudget returns a budget of max bytes that always admits
// uploads of at most small bytes.
func NewUploadBudget(max, small int64) *UploadBudget {
	return &UploadBudget{Max: max, Small: small, changed: make(chan struct{})}
}

// TryAcquire reserves n bytes if the budget admits them; the caller calls
// release when the upload ended, however it ended.
func (b *UploadBudget) TryAcquire(n int64) (release func(), ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.Small && b.n > 0 && b.inUse+n > b.Max {
		return nil, false
	}
	b.inUse += n
	b.n++
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.inUse -= n
			b.n--
			close(b.changed)
			b.changed = make(chan struct{})
			b.mu.Unlock()
		})
	}, true
}

// Acquire waits until the budget admits n bytes or ctx ends: the
// in-process submitters (the outgoing folder) wait instead of being
// refused.
func (b *UploadBudget) Acquire(ctx context.Context, n int64) (func(), error) {
	for {
		if release, ok := b.TryAcquire(n); ok {
			return release, nil
		}
		b.mu.Lock()
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// InFlight returns the bytes and uploads in flight.
func (b *UploadBudget) InFlight() (bytes int64, uploads int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inUse, b.n
}

// retryAfter estimates when the bytes in flight will be through, at an
// assumed 10 MB/s, between 1 and 30 seconds.
func (b *UploadBudget) retryAfter() string {
	bytes, _ := b.InFlight()
	s := bytes/10_000_000 + 1
	if s > 30 {
		s = 30
	}
	return strconv.FormatInt(s, 10)
}

// admitUpload reserves the budget for a submission: its Content-Length,
// or, when the client sends none, the largest request allowed. Refused,
// it answers 503 with Retry-After and returns ok false.
func (s *Server) admitUpload(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	n := r.ContentLength
	if n < 0 || n > s.maxRequestBytes() {
		n = s.maxRequestBytes()
	}
	if n > s.uploads.Max {
		n = s.uploads.Max
	}
	if release, ok := s.uploads.TryAcquire(n); ok {
		return release, true
	}
	bytes, uploads := s.uploads.InFlight()
	w.Header().Set("Retry-After", s.uploads.retryAfter())
	writeProblem(w, http.StatusServiceUnavailable, "uploads of "+strconv.FormatInt(bytes, 10)+" bytes in "+strconv.Itoa(uploads)+
		" submissions are in progress, more than the budget of "+strconv.FormatInt(s.uploads.Max, 10)+" bytes admits with this one; try again after Retry-After", "")
	return nil, false
}

// maxRequestBytes is the largest submission request body accepted.
func (s *Server) maxRequestBytes() int64 {
	return s.lim.Submit.MaxTotalBytes + s.lim.Submit.MaxMessageBytes + 8<<20
}

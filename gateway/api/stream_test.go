package api_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
)

// patternReader yields n bytes without holding them.
type patternReader struct{ n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	p.n -= int64(len(b))
	return len(b), nil
}

// streamingSubmit is a POST /v1/messages to the test recipient whose one
// document, prefix and then size pattern bytes, is written into the
// request body only as the request is sent.
func streamingSubmit(tb testing.TB, e *apitest.Env, subject, prefix string, size int64) *http.Request {
	tb.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, _ := mw.CreateFormField("message")
		io.WriteString(w, `{"to":"`+apitest.Recipient+`","subject":"`+subject+`"}`)
		fw, _ := mw.CreateFormFile("document", "Akte.pdf")
		io.WriteString(fw, prefix)
		io.Copy(fw, &patternReader{n: size})
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest("POST", e.TS.URL+"/v1/messages", pr)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+apitest.Token)
	return req
}

// TestAPISubmitStreams sends a large document through client and server
// in this process and checks that neither side held it in memory.
func TestAPISubmitStreams(t *testing.T) {
	const size = 32 << 20
	e := apitest.NewEnvWithRecipient(t)
	req := streamingSubmit(t, e, "gross", "", size)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := e.TS.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes while streaming %d", alloc, size)
	if alloc > size/4 {
		t.Errorf("allocated %d bytes for a %d-byte document: it was buffered", alloc, size)
	}
	m, err := e.Store.Get(context.Background(), 1)
	if err != nil || m.Size != size || !strings.HasPrefix(m.Documents[0].Name, "Akte") {
		t.Fatalf("stored %+v, %v", m, err)
	}
}

// BenchmarkAPISubmit measures POST /v1/messages end to end (HTTP,
// multipart, blob store with fsync, SQLite commit) for a 1 MiB document.
func BenchmarkAPISubmit(b *testing.B) {
	const size = 1 << 20
	e := apitest.NewEnvWithRecipient(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := streamingSubmit(b, e, "bench", strings.Repeat("x", i%7), size) // distinct content per round
		resp, err := e.TS.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/durable"
)

// document is one submitted message's single file. Its content names the
// run and index, so its SHA-256 identifies the message wherever it turns up.
type document struct {
	Index int
	Key   string // Idempotency-Key
	Name  string
	Open  func() (io.ReadCloser, error)
	Size  int64
	SHA   string // hex SHA-256 of the content
}

// smallDocument builds document i of a run: a header naming seed and index
// and size bytes in total of seeded filler.
func smallDocument(seed uint64, i, size int) document {
	head := fmt.Sprintf("bebpo-gateway crash test seed=%d message=%d\n", seed, i)
	b := make([]byte, max(size, len(head)))
	copy(b, head)
	r := rand.NewChaCha8(seedBytes(seed, uint64(i)))
	_, _ = r.Read(b[len(head):])
	for j := len(head); j < len(b); j++ {
		b[j] = 'a' + b[j]%26 // printable text
	}
	sum := sha256.Sum256(b)
	return document{Index: i, Key: fmt.Sprintf("crash-%d-%d", seed, i), Name: fmt.Sprintf("crashtest_%05d.txt", i),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(b))), nil },
		Size: int64(len(b)), SHA: hex.EncodeToString(sum[:])}
}

func seedBytes(a, b uint64) [32]byte {
	var s [32]byte
	for k := 0; k < 8; k++ {
		s[k] = byte(a >> (8 * k))
		s[8+k] = byte(b >> (8 * k))
	}
	return s
}

// submitResult is one POST /v1/messages outcome.
type submitResult struct {
	Status      int
	ContentType string
	Body        string
	ID          int64
	Replayed    bool
	Err         error // transport error: no answer
}

// submit posts d from mailbox a to b, streaming the document.
func submit(ctx context.Context, apiURL string, d document, timeout time.Duration) submitResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeMultipart(mw, d))
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/v1/messages", pr)
	if err != nil {
		return submitResult{Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+apiTok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Idempotency-Key", d.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return submitResult{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	r := submitResult{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: strings.TrimSpace(string(body))}
	if err != nil {
		// The status line arrived but the answer was cut: not an acknowledgement.
		return submitResult{Err: fmt.Errorf("answer %d cut off: %w", resp.StatusCode, err)}
	}
	if r.Status == http.StatusAccepted {
		var a struct {
			ID       int64 `json:"id"`
			Replayed bool  `json:"replayed"`
		}
		if err := json.Unmarshal(body, &a); err != nil || a.ID == 0 {
			return submitResult{Err: fmt.Errorf("202 with an unreadable body %q", body)}
		}
		r.ID, r.Replayed = a.ID, a.Replayed
	}
	return r
}

func writeMultipart(mw *multipart.Writer, d document) error {
	msg, _ := json.Marshal(map[string]any{"to": safeIDB, "mailbox": "a", "subject": fmt.Sprintf("Crashtest %d", d.Index),
		"caseNumberSender": fmt.Sprintf("CT %d/26", d.Index)})
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="message"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="document"; filename=%q`, d.Name))
	h.Set("Content-Type", "text/plain")
	if w, err = mw.CreatePart(h); err != nil {
		return err
	}
	rc, err := d.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return err
	}
	return mw.Close()
}

// outcome of submitting one document until it was acknowledged.
type outcome struct {
	doc      document
	id       int64
	attempts int
	replayed bool
	statuses map[string]int // what the attempts before the 202 got
	acked    time.Time
	failed   string // permanent refusal (4xx other than 409/429), never retried
	slowest  time.Duration
	slowWhat string // the outcome of the slowest attempt
	folder   bool   // handed to the outgoing folder, not the API
}

// submitUntilAcked retries d with the same Idempotency-Key until the gateway
// answers 202, as a real client does: a request without an answer (the
// daemon was killed) may or may not have been stored, and only the key
// makes the retry safe. A 4xx refusal ends it.
func submitUntilAcked(ctx context.Context, apiURL string, d document) outcome {
	o := outcome{doc: d, statuses: map[string]int{}}
	for ctx.Err() == nil {
		o.attempts++
		t0 := time.Now()
		r := submit(ctx, apiURL, d, 60*time.Second)
		if took := time.Since(t0); took > o.slowest {
			o.slowest, o.slowWhat = took, fmt.Sprint(r.Status)
			if r.Err != nil {
				o.slowWhat = r.Err.Error()
			}
		}
		switch {
		case r.Err != nil:
			o.statuses["no answer"]++
		case r.Status == http.StatusAccepted:
			o.id, o.replayed, o.acked = r.ID, r.Replayed, time.Now()
			return o
		case r.Status >= 400 && r.Status < 500 && r.Status != http.StatusConflict && r.Status != http.StatusTooManyRequests:
			o.failed = fmt.Sprintf("%d %s", r.Status, r.Body)
			return o
		default:
			o.statuses[fmt.Sprint(r.Status)]++
		}
		select {
		case <-ctx.Done():
		case <-time.After(150 * time.Millisecond):
		}
	}
	o.failed = "gave up: " + ctx.Err().Error()
	return o
}

// dropInFolder hands d to the outgoing folder the way its contract asks:
// everything, the .ready marker included, is written into ".tmp-<name>"
// and fsync'd, then renamed to "<name>". The rename is the hand-over; the
// gateway answers with done/<name>/result.json.
func dropInFolder(outbox string, d document) error {
	name := fmt.Sprintf("crash-%05d", d.Index)
	tmp := filepath.Join(outbox, ".tmp-"+name)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	var msg bytes.Buffer
	m, _ := json.Marshal(map[string]any{"to": safeIDB, "subject": fmt.Sprintf("Crashtest %d", d.Index),
		"caseNumberSender": fmt.Sprintf("CT %d/26", d.Index)})
	msg.Write(m)
	rc, err := d.Open()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"message.json", msg.Bytes()}, {d.Name, body}, {".ready", nil}} {
		if err := writeSynced(filepath.Join(tmp, f.name), f.data); err != nil {
			return err
		}
	}
	if err := durable.SyncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(outbox, name)); err != nil {
		return err
	}
	return durable.SyncDir(outbox)
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// folderResults counts the outgoing folder's answers: directories in
// done/ with result.json, and those in failed/.
func folderResults(outbox string) (done, failed []string) {
	list := func(sub string) []string {
		ents, _ := os.ReadDir(filepath.Join(outbox, sub))
		var out []string
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(outbox, sub, e.Name(), "result.json")); err == nil {
				out = append(out, e.Name())
			}
		}
		return out
	}
	return list("done"), list("failed")
}

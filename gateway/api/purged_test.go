package api_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// TestPurgedDocumentIsGone: a document retention removed is shown with
// its purge time and answers 410, the message itself stays.
func TestPurgedDocumentIsGone(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	id := e.SubmitN(t, 1)[0]
	ctx := context.Background()
	e.Confirm(t, id)
	if r, err := e.Store.Purge(ctx, mailbox.PurgeRequest{Mailbox: apitest.Mailbox, Direction: mailbox.Out, Before: e.Clock.Now().Add(time.Hour)}); err != nil || r.Documents != 1 {
		t.Fatalf("purge %+v %v", r, err)
	}
	var v api.MessageView
	if resp := e.DoJSON(t, "GET", fmt.Sprintf("/v1/messages/%d", id), nil, &v); resp.StatusCode != 200 || v.State != "confirmed" || v.Documents[0].PurgedAt.IsZero() {
		t.Fatalf("view %d %+v", resp.StatusCode, v)
	}
	resp := e.Do(t, "GET", fmt.Sprintf("/v1/messages/%d/documents/0", id), nil, nil)
	if p := apitest.ProblemOf(t, resp); resp.StatusCode != 410 || p.Field != "n" {
		t.Fatalf("download of a purged document: %d %+v", resp.StatusCode, p)
	}
}

// TestProofOfFilingOutlivesRetention: once retention removed a sent
// message's documents and their files, its proof of filing is still given,
// with the sizes and hashes recorded at submission and the date of the
// purge, instead of failing as if the documents were damaged.
func TestProofOfFilingOutlivesRetention(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	id := e.SubmitN(t, 1)[0]
	ctx := context.Background()
	e.Confirm(t, id)
	m, err := e.Store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Purge(ctx, mailbox.PurgeRequest{Mailbox: apitest.Mailbox, Direction: mailbox.Out, Before: e.Clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.Blobs.Path(m.Documents[0].SHA256)); err != nil {
		t.Fatal(err)
	}
	var b struct {
		Documents []struct {
			SHA256   string    `json:"sha256"`
			PurgedAt time.Time `json:"purgedAt"`
		} `json:"documents"`
	}
	if resp := e.DoJSON(t, "GET", fmt.Sprintf("/v1/messages/%d/evidence", id), nil, &b); resp.StatusCode != 200 ||
		len(b.Documents) != 1 || b.Documents[0].SHA256 != m.Documents[0].SHA256 || b.Documents[0].PurgedAt.IsZero() {
		t.Fatalf("proof of filing after retention: %d %+v", resp.StatusCode, b)
	}
}

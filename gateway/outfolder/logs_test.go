package outfolder

import (
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/logging"
)

// TestAPILogsNoPersonalData drives the API and the outgoing folder at
// debug level and greps the log for the token, subjects, case numbers,
// file names and document content it used.
func TestAPILogsNoPersonalData(t *testing.T) {
	var logs lockedBuffer
	logger, err := logging.New(logging.Config{Format: "json", Level: "debug"}, &logs)
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.NewEnv(t, api.Limits{}, apitest.WithLogger(logger))
	e.AddRecipient(t)
	msg := apitest.OKMessage()
	msg.Subject, msg.CaseNumberSender = "Klage gegen Erika Mustermann", "AZ-4711-geheim"
	// Twice under one Idempotency-Key: the second is answered as a replay,
	// which the API logs (the acceptance itself is logged from the journal).
	for i := 0; i < 2; i++ {
		body, ct := apitest.MultipartBody(t, msg, apitest.Doc{Name: "Gutachten_Mustermann.pdf", Content: "Befund: vertraulich"})
		if r := e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct, "Idempotency-Key": "AZ-4711-Mustermann"}); r.StatusCode != 202 {
			t.Fatalf("submit %d: %d", i, r.StatusCode)
		}
	}
	body, ct := apitest.MultipartBody(t, msg, apitest.Doc{Name: "Gutachten Mustermann.pdf", Content: "x"})
	e.Do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	o := newOutFolder(t, e)
	o.Logger = logger
	writeDrop(t, o.Root, "v1", msg, map[string]string{"Gutachten Mustermann.pdf": "Befund: vertraulich"}, true)
	runOnce(t, o, 1)
	out := logs.String()
	if !strings.Contains(out, "earlier acceptance") || !strings.Contains(out, "submission refused") {
		t.Fatalf("expected log lines missing:\n%s", out)
	}
	for _, secret := range []string{apitest.Token, "Mustermann", "AZ-4711", "vertraulich", "Klage gegen"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

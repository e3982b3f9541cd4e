package gateway

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAPILogsNoPersonalData drives the API and the outgoing folder at
// debug level and greps the log for the token, subjects, case numbers,
// file names and document content it used.
func TestAPILogsNoPersonalData(t *testing.T) {
	e := newAPIEnv(t, APILimits{})
	var logs lockedBuffer
	logger, err := NewLogger(LogConfig{Format: "json", Level: "debug"}, &logs)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.d.Logger = logger
	e.addRecipient(t)
	msg := okMessage()
	msg.Subject, msg.CaseNumberSender = "Klage gegen Erika Mustermann", "AZ-4711-geheim"
	body, ct := multipartBody(t, msg, testDoc{"Gutachten_Mustermann.pdf", "Befund: vertraulich"})
	if r := e.do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct}); r.StatusCode != 202 {
		t.Fatalf("submit: %d", r.StatusCode)
	}
	body, ct = multipartBody(t, msg, testDoc{"Gutachten Mustermann.pdf", "x"})
	e.do(t, "POST", "/v1/messages", body, map[string]string{"Content-Type": ct})
	o := newOutFolder(t, e)
	o.Logger = logger
	writeDrop(t, o.Root, "v1", msg, map[string]string{"Gutachten Mustermann.pdf": "Befund: vertraulich"}, true)
	if n, err := o.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("outgoing folder: %d %v", n, err)
	}
	out := logs.String()
	if !strings.Contains(out, "message accepted") || !strings.Contains(out, "submission refused") {
		t.Fatalf("expected log lines missing:\n%s", out)
	}
	for _, secret := range []string{apiToken, "Mustermann", "AZ-4711", "vertraulich", "Klage gegen"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
}

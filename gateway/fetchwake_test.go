package gateway_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
)

// TestMessageToOwnMailboxSkipsThePoll: with an hour between polls, a
// message from one of our mailboxes to another reaches the recipient's
// intake because the send engine's store wakes that mailbox's fetch loop.
// Without the wake it would wait for the next poll, an hour away.
func TestMessageToOwnMailboxSkipsThePoll(t *testing.T) {
	t.Parallel()
	simLn, apiLn := listen(t), listen(t)
	l := demo.NewTestDir(t, simLn.Addr().String(), apiLn.Addr().String())
	setConfig(t, l, func(s string) string { return strings.ReplaceAll(s, "poll_interval: 2s", "poll_interval: 1h") })
	serveDemoSimulator(t, l, demo.Intermediary, simLn, t.TempDir())
	ctx := context.Background()
	startInProcess(t, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: io.Discard, APIListener: apiLn})
	client := apiClient(t, l, apiLn)
	time.Sleep(500 * time.Millisecond) // the fetch loops' first polls, at start, find nothing
	resp, err := client.Send(ctx, submit.MessageRequest{To: demo.Gericht.SafeID, Subject: "Ohne Abrufintervall"}, []string{l.PDF()}, "wake-1")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, _, err := demo.WaitForIntake(wctx, client, l, resp.ID); err != nil {
		t.Fatalf("the message to our own mailbox did not reach its intake before the next poll: %v", err)
	}
}

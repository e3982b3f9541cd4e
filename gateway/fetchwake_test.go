package gateway_test

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/api"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/submit"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// TestMessageToOwnMailboxSkipsThePoll: with an hour between polls, a
// message from one of our mailboxes to another reaches the recipient's
// intake because the send engine's store wakes that mailbox's fetch loop.
// Without the wake it would wait for the next poll, an hour away.
func TestMessageToOwnMailboxSkipsThePoll(t *testing.T) {
	t.Parallel()
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := demo.NewTestDir(t, simLn.Addr().String(), apiLn.Addr().String())
	setConfig(t, l, func(s string) string { return strings.ReplaceAll(s, "poll_interval: 2s", "poll_interval: 1h") })
	ciph, err := l.LoadKey(demo.Intermediary.ID, certs.PurposeCipher)
	if err != nil {
		t.Fatal(err)
	}
	sigKP, err := l.LoadKey(demo.Intermediary.ID, certs.PurposeSignature)
	if err != nil {
		t.Fatal(err)
	}
	serveSimulator(t, simLn, intermediary.Config{Cipher: ciph, Signature: sigKP, DataDir: t.TempDir(), Now: time.Now, Rand: rand.Reader})
	ctx := context.Background()
	d, err := gateway.NewDaemon(ctx, gateway.DaemonOptions{ConfigPath: l.Config(), LogOutput: io.Discard, APIListener: apiLn,
		Getenv: func(string) string { return "" }, SendInterval: 200 * time.Millisecond, DeliverInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, sig) }()
	defer func() {
		sig <- syscall.SIGTERM
		if err := <-done; err != nil {
			t.Errorf("Run after SIGTERM: %v", err)
		}
	}()
	tok, err := api.FirstToken(l.Tokens(), false)
	if err != nil {
		t.Fatal(err)
	}
	client := &api.Client{BaseURL: "http://" + apiLn.Addr().String(), Token: tok}
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

package mailbox_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
)

// BenchmarkSubmit is the durable hand-in of a small message: one blob
// (fsync file + directory) and one row (fsync'd WAL commit).
func BenchmarkSubmit(b *testing.B) {
	e := newEnv(b)
	s, bl := e.store, e.blobs
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body := bytes.NewReader([]byte(fmt.Sprintf("%%PDF-1.7 message %d", i)))
		if _, err := mailbox.Submit(ctx, s, bl, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "court", Subject: "s", Now: t0}, []mailbox.Part{{Name: "a.pdf", Body: body}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendCycle runs queued → sent through the engine against the
// scripted peer: three commits per message.
func BenchmarkSendCycle(b *testing.B) {
	e := newEnv(b)
	s, bl := e.store, e.blobs
	f := newFake(time.Now)
	snd := &mailbox.Sender{Store: s, Blobs: bl, Transport: func(mailbox.Message) (mailbox.Transport, error) { return f, nil }, Owner: "b", Now: time.Now, Batch: 64}
	for i := 0; b.Loop(); i++ {
		if _, err := mailbox.Submit(ctx, s, bl, mailbox.NewOutgoing{Mailbox: "mb", Recipient: "court", Subject: "s", Now: time.Now()}, []mailbox.Part{{Name: "a.pdf", Body: bytes.NewReader([]byte(fmt.Sprint(i)))}}); err != nil {
			b.Fatal(err)
		}
		if n, err := snd.RunOnce(ctx); err != nil || n != 1 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkBlobPut1MiB streams 1 MiB into the blob store.
func BenchmarkBlobPut1MiB(b *testing.B) {
	bl := newEnv(b).blobs
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		buf[0], buf[1], buf[2] = byte(i), byte(i>>8), byte(i>>16)
		if _, err := bl.Put(bytes.NewReader(buf)); err != nil {
			b.Fatal(err)
		}
	}
}

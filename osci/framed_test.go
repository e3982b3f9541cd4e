package osci

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// A framed message is the same body WriteMessage writes, can be read
// again from its start for a repeated request, tells its length to an
// HTTP client, and leaves no spool behind once closed.
func TestFrameMessageIsWriteMessage(t *testing.T) {
	bob := loadCert(t, "bob_cipher_4096")
	env := []byte(envelopeOf(t, "storeDelivery"))
	big := bytes.Repeat([]byte("0123456789abcdef"), 50000)
	atts := func() []Attachment {
		return []Attachment{{ContentID: "a.pdf", Size: 9, Body: strings.NewReader("%PDF-1.7\n")},
			{ContentID: "big.bin", Size: int64(len(big)), Body: bytes.NewReader(big)}}
	}
	spool := t.TempDir()
	var want bytes.Buffer
	if err := WriteMessage(&want, WriteOptions{Rand: certstest.DetRand("enc"), EncryptTo: bob, SpoolDir: spool}, env, atts()...); err != nil {
		t.Fatal(err)
	}
	f, err := FrameMessage(WriteOptions{Rand: certstest.DetRand("enc"), EncryptTo: bob, SpoolDir: spool}, env, atts()...)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(want.Len()) {
		t.Fatalf("Size %d, body %d", f.Size(), want.Len())
	}
	for i := range 2 {
		r := f.NewReader()
		if l := r.(interface{ Len() int }).Len(); l != want.Len() {
			t.Fatalf("read %d: Len %d, want %d", i, l, want.Len())
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("read %d: body differs from WriteMessage's (%d vs %d octets, %v)", i, len(got), want.Len(), err)
		}
		if l := r.(interface{ Len() int }).Len(); l != 0 {
			t.Fatalf("read %d: Len %d after the end", i, l)
		}
	}
	if _, err := ReadMessage(f.NewReader(), ReadOptions{Decrypter: decrypterFor(t, "bob_cipher_4096"), Sink: &memSink{}}); err != nil {
		t.Fatalf("framed body does not read back: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(spool); len(ents) != 0 {
		t.Fatalf("spool holds %d files after Close", len(ents))
	}
	if _, err := FrameMessage(WriteOptions{Rand: certstest.DetRand("enc"), SpoolDir: spool}, env); err == nil {
		t.Fatal("FrameMessage without a recipient succeeded")
	}
}

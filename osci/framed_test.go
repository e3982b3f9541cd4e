package osci

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlenc"
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

// TestFrameSpoolsOnlyLargeMessages: an order without large attachments is
// framed in memory (no file in the spool directory at any time); one whose
// ciphertext exceeds SpoolMemory goes to one spool file, removed by Close;
// both read back as WriteMessage writes them.
func TestFrameSpoolsOnlyLargeMessages(t *testing.T) {
	bob := loadCert(t, "bob_cipher_4096")
	env := []byte(envelopeOf(t, "storeDelivery"))
	for _, tc := range []struct {
		name  string
		size  int
		files int
	}{{"small", 1 << 10, 0}, {"under the limit", SpoolMemory / 2, 0}, {"large", SpoolMemory + 1, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			body := bytes.Repeat([]byte{'x'}, tc.size)
			att := func() Attachment {
				return Attachment{ContentID: "a.bin", Size: int64(len(body)), Body: bytes.NewReader(body)}
			}
			dir := t.TempDir()
			var want bytes.Buffer
			if err := WriteMessage(&want, WriteOptions{Rand: certstest.DetRand("spool"), EncryptTo: bob, SpoolDir: t.TempDir()}, env, att()); err != nil {
				t.Fatal(err)
			}
			f, err := FrameMessage(WriteOptions{Rand: certstest.DetRand("spool"), EncryptTo: bob, SpoolDir: dir}, env, att())
			if err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != tc.files {
				t.Errorf("%d files in the spool directory while framed, want %d", len(ents), tc.files)
			}
			got, err := io.ReadAll(f.NewReader())
			if err != nil || !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("framed body differs from WriteMessage's (%d vs %d octets, %v)", len(got), want.Len(), err)
			}
			// Read back: decrypted whole (small) or streaming (large), the
			// attachment arrives as framed.
			sink := &DirAttachments{Dir: t.TempDir(), Spool: true}
			if _, err := ReadMessage(bytes.NewReader(got), ReadOptions{Decrypter: decrypterFor(t, "bob_cipher_4096"), RequireEncryption: true, Sink: sink}); err != nil {
				t.Fatalf("reading the framed message: %v", err)
			}
			if r, err := sink.Open("a.bin"); err != nil {
				t.Fatal(err)
			} else if b, err := io.ReadAll(r); err != nil || !bytes.Equal(b, body) {
				t.Fatalf("attachment read back: %d octets, %v; want %d", len(b), err, len(body))
			}
			// A flipped octet in the ciphertext is refused on both paths.
			bad := bytes.Clone(got)
			bad[len(bad)-200] ^= 1
			if _, err := ReadMessage(bytes.NewReader(bad), ReadOptions{Decrypter: decrypterFor(t, "bob_cipher_4096"), RequireEncryption: true,
				Sink: &DirAttachments{Dir: t.TempDir(), Spool: true}}); !errors.Is(err, xmlenc.ErrDecrypt) {
				t.Fatalf("a changed ciphertext read as %v, want ErrDecrypt", err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("%d files left after Close", len(ents))
			}
		})
	}
}

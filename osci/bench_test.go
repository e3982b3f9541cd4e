package osci

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/benchkit"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

var benchMB = flag.Int("osci.bench-mb", 200, "attachment size in MB for BenchmarkTransportLarge")

// BenchmarkBuildParseSmall builds and parses a getMessageId envelope.
func BenchmarkBuildParseSmall(b *testing.B) {
	m := sampleMessages(b)["getMessageId"]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(envelope(b, m), xmlsec.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMIMERead reads a 16 MB attachment through the MIME reader.
func BenchmarkMIMERead(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	var raw bytes.Buffer
	if err := WriteEntity(&raw, certstest.DetRand("b"), []byte("<soap:Envelope></soap:Envelope>"),
		Attachment{ContentID: "a", Size: int64(len(data)), Body: bytes.NewReader(data)}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadEntity(bytes.NewReader(raw.Bytes()), MIMELimits{}, SinkFunc(func(_ PartHeader, r io.Reader) error {
			_, err := io.Copy(io.Discard, r)
			return err
		})); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransportLarge sends a storeDelivery with one large attachment
// (default 200 MB, -osci.bench-mb) through transport encryption and reads it
// back through decryption, streaming both ways over a pipe; it reports the
// peak Go heap. Run with -benchtime=1x.
func BenchmarkTransportLarge(b *testing.B) {
	size := int64(*benchMB) << 20
	env := envelope(b, sampleMessages(b)["storeDelivery"])
	b.SetBytes(size)
	enc := loadCert(b, "osci_manager_cipher_4096")
	dec := decrypterFor(b, "osci_manager_cipher_4096")
	stopPeak := benchkit.WatchHeap(20 * time.Millisecond)
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(WriteMessage(pw, WriteOptions{Rand: certstest.DetRand("big"), EncryptTo: enc, SpoolDir: b.TempDir()}, env,
				Attachment{ContentID: "big.pdf", Size: size, Body: benchkit.Pattern(size, 7)}))
		}()
		h := sha256.New()
		in, err := ReadMessage(pr, ReadOptions{Decrypter: dec, Sink: SinkFunc(func(_ PartHeader, r io.Reader) error {
			_, err := io.Copy(h, r)
			return err
		})})
		if err != nil {
			b.Fatal(err)
		}
		if in.Entity.Attachments[0].Size != size {
			b.Fatalf("attachment %d bytes", in.Entity.Attachments[0].Size)
		}
	}
	b.ReportMetric(stopPeak().PeakMiB(), "peak-heap-MiB")
}

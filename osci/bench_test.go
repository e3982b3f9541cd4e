package osci

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/osci/xmlsec"
)

var benchMB = flag.Int("osci.bench-mb", 200, "attachment size in MB for BenchmarkTransportLarge")

// BenchmarkBuildParseSmall builds and parses a getMessageId envelope.
func BenchmarkBuildParseSmall(b *testing.B) {
	m := sampleMessages(b)["getMessageId"]
	b.ReportAllocs()
	for b.Loop() {
		env, err := m.Envelope()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(env, xmlsec.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMIMERead reads a 16 MB attachment through the MIME reader.
func BenchmarkMIMERead(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	var raw bytes.Buffer
	if err := WriteEntity(&raw, newDetRand("b"), []byte("<soap:Envelope></soap:Envelope>"),
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

// patternReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ n, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range b[:k] {
		b[i] = byte((p.off + int64(i)) * 7)
	}
	p.off += k
	return int(k), nil
}

// BenchmarkTransportLarge sends a storeDelivery with one large attachment
// (default 200 MB, -osci.bench-mb) through transport encryption and reads it
// back through decryption, streaming both ways over a pipe; it reports the
// peak Go heap. Run with -benchtime=1x.
func BenchmarkTransportLarge(b *testing.B) {
	size := int64(*benchMB) << 20
	env, err := sampleMessages(b)["storeDelivery"].Envelope()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	enc := loadCert(b, "osci_manager_cipher_4096")
	dec := decrypterFor(b, "osci_manager_cipher_4096")
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(WriteMessage(pw, WriteOptions{Rand: newDetRand("big"), EncryptTo: enc, SpoolDir: b.TempDir()}, env,
				Attachment{ContentID: "big.pdf", Size: size, Body: &patternReader{n: size}}))
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
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}

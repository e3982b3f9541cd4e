package egvp

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/benchkit"
)

// zeros is a document of n bytes that is never held in memory.
type zeros struct{ left int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), z.left)
	clear(p[:n])
	z.left -= n
	return int(n), nil
}

// BenchmarkRoundTrip32MiB builds, stores, fetches and reads a message with
// one 32 MiB document through the simulator, reporting throughput and the
// peak Go heap in use (sampled), which must not grow with the document.
func BenchmarkRoundTrip32MiB(b *testing.B) {
	const size = 32 << 20
	w := newWorld(b)
	stopPeak := benchkit.WatchHeap(20 * time.Millisecond)
	b.SetBytes(size)
	for b.Loop() {
		bl := &Builder{Rand: certstest.DetRand("bench"), SpoolDir: b.TempDir()}
		pkg, err := bl.Build(Outgoing{SenderID: ourID, RecipientID: theirID, Subject: "gross",
			Documents: []Document{{Name: "gross.pdf", Open: func() (io.ReadCloser, error) { return io.NopCloser(&zeros{left: size}), nil }}}},
			certstest.PKICert(b, "mailbox-cipher"))
		if err != nil {
			b.Fatal(err)
		}
		d, parts := w.roundTripTB(b, pkg)
		r := &Reader{Cipher: pki(b, "mailbox-cipher"), Trust: validators(b, generalCAs...), SpoolDir: b.TempDir(), Now: func() time.Time { return testNow }}
		got, err := r.Read(context.Background(), d, parts, b.TempDir())
		if err != nil || len(got.Documents) != 1 || got.Documents[0].Size != size {
			b.Fatalf("read: %v", err)
		}
		pkg.Close()
	}
	b.ReportMetric(stopPeak().PeakMiB(), "peak-heap-MiB")
}

package intermediary

import (
	"context"
	"crypto/x509"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
	"github.com/stadt-erkelenz/bebpo-gateway/internal/benchkit"

	"github.com/stadt-erkelenz/bebpo-gateway/osci"
)

var benchMB = flag.Int("sim.bench-mb", 200, "attachment size in MB for BenchmarkStoreFetchLarge")

// BenchmarkGetMessageID is one small signed, transport-encrypted order and
// its response between our client and the simulator (RSA-4096 keys).
func BenchmarkGetMessageID(b *testing.B) {
	_, srv := newSimulator(b)
	c := newClient(b, srv.URL, "alice")
	for b.Loop() {
		if _, err := c.GetMessageID(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkStoreFetchLarge stores a delivery with one large encrypted
// attachment (default 200 MB) from alice to bob and fetches it again, all
// streamed through disk; it reports the peak Go heap. Run with -benchtime=1x.
func BenchmarkStoreFetchLarge(b *testing.B) {
	size := int64(*benchMB) << 20
	_, srv := newSimulator(b)
	alice, bob := newClient(b, srv.URL, "alice"), newClient(b, srv.URL, "bob")
	bobCert := keyPair(b, "bob_cipher_4096").Cert
	stopPeak := benchkit.WatchHeap(20 * time.Millisecond)
	b.SetBytes(size)
	ctx := context.Background()
	for b.Loop() {
		dir := b.TempDir()
		ctPath := filepath.Join(dir, "attachment.enc")
		f, err := os.Create(ctPath)
		if err != nil {
			b.Fatal(err)
		}
		key, n, err := osci.EncryptAttachment(f, benchkit.Pattern(size, 13), "big.pdf", certstest.DetRand("big"))
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		pkg := &osci.PackageBuilder{Rand: certstest.DetRand("pkg")}
		if err := pkg.AddEncrypted(&osci.Container{ID: "project_coco", Contents: []osci.Content{{ID: "big.pdf", Href: "big.pdf"}}},
			osci.ReaderIDs([]*x509.Certificate{bobCert}), key); err != nil {
			b.Fatal(err)
		}
		id, err := alice.GetMessageID(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := alice.StoreDelivery(ctx, osci.OutgoingDelivery{MessageID: id, Subject: "Testnachricht", Addressee: bobCert,
			Readers: []*x509.Certificate{bobCert}, Content: pkg.Bytes(), Attachments: []osci.OutgoingAttachment{{ContentID: "big.pdf", Size: n,
				Open: func() (io.ReadCloser, error) { return os.Open(ctPath) }}}}); err != nil {
			b.Fatal(err)
		}
		s, err := bob.OpenSession(ctx)
		if err != nil {
			b.Fatal(err)
		}
		store := &osci.DirAttachments{Dir: b.TempDir()}
		d, err := s.FetchDelivery(ctx, id, store)
		if err != nil {
			b.Fatal(err)
		}
		cs, err := osci.OpenContentPackage(d.Response.Message, decrypter(b, "bob_cipher_4096"))
		if err != nil {
			b.Fatal(err)
		}
		got, err := cs[0].DecryptAttachment(io.Discard, "big.pdf", store, b.TempDir())
		if err != nil || got != size {
			b.Fatalf("attachment %d bytes: %v", got, err)
		}
		if err := s.Acknowledge(id); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(stopPeak().PeakMiB(), "peak-heap-MiB")
}

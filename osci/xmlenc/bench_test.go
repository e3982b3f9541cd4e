package xmlenc

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/internal/benchkit"

	"github.com/beevik/etree"
)

const attachmentBytes = 100 << 20

// writeAttachment generates a pseudo-random file of n bytes without holding
// it in memory.
func writeAttachment(b *testing.B, path string, n int64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(7, 8))
	buf := make([]byte, 64<<10)
	for n > 0 {
		for i := 0; i+8 <= len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		k := min(int64(len(buf)), n)
		w.Write(buf[:k])
		n -= k
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// fileParts serves cid: parts from files, as a section (read twice) or as
// a plain stream (spooled).
type fileParts struct {
	paths    map[string]string
	seekable bool
}

func (p fileParts) OpenPart(id string) (io.ReadCloser, error) {
	f, err := os.Open(p.paths[id])
	if err != nil {
		return nil, err
	}
	if !p.seekable {
		return f, nil // *os.File has no Size method: spooled
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		*io.SectionReader
		io.Closer
	}{io.NewSectionReader(f, 0, st.Size()), f}, nil
}

// BenchmarkAttachment100MB encrypts and decrypts a 100 MB attachment
// stream from and to files and reports MB/s and the peak Go heap; the
// attachment is never held in memory. sha256sum and openssl's in-memory
// AES-256-GCM on the same machine are reported beside it.
func BenchmarkAttachment100MB(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "anlage.bin")
	writeAttachment(b, src, attachmentBytes)
	bob := vectorParty(b, "bob_cipher_4096")
	part := filepath.Join(dir, "anlage.enc")
	var ed *etree.Element

	b.Run("encrypt", func(b *testing.B) {
		b.SetBytes(attachmentBytes)
		stop := benchkit.WatchHeap(20 * time.Millisecond)
		for b.Loop() {
			in, _ := os.Open(src)
			out, _ := os.Create(part)
			bw := bufio.NewWriterSize(out, 256<<10)
			var err error
			ed, _, err = (&Encrypter{Recipients: []Recipient{{Cert: bob.cert}}, DeclareNamespaces: true}).EncryptStream(bw, in, "anlage")
			if err != nil {
				b.Fatal(err)
			}
			bw.Flush()
			out.Close()
			in.Close()
		}
		b.ReportMetric(stop().PeakMiB(), "peak-heap-MiB")
	})
	for _, mode := range []struct {
		name     string
		seekable bool
	}{{"decrypt-file-two-pass", true}, {"decrypt-stream-spooled", false}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(attachmentBytes)
			stop := benchkit.WatchHeap(20 * time.Millisecond)
			for b.Loop() {
				d := bob.decrypter()
				d.SpoolDir = dir
				d.Parts = fileParts{paths: map[string]string{"anlage": part}, seekable: mode.seekable}
				out, _ := os.Create(filepath.Join(dir, "anlage.out"))
				bw := bufio.NewWriterSize(out, 256<<10)
				n, err := d.DecryptTo(bw, ed)
				if err != nil || n != attachmentBytes {
					b.Fatalf("%d bytes, %v", n, err)
				}
				bw.Flush()
				out.Close()
			}
			b.ReportMetric(stop().PeakMiB(), "peak-heap-MiB")
		})
	}
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if p, err := exec.LookPath("sha256sum"); err == nil {
				start := time.Now()
				if err := exec.Command(p, src).Run(); err == nil {
					b.ReportMetric(attachmentBytes/1e6/time.Since(start).Seconds(), "sha256sum-MB/s")
				}
			}
			if mbps, ok := opensslGCM(); ok {
				b.ReportMetric(mbps, "openssl-aes256gcm-16KiB-MB/s")
			}
		}
	})
}

var opensslRate = regexp.MustCompile(`(?i)aes-256-gcm\s+((?:[\d.]+k\s*)+)`)

// opensslGCM runs `openssl speed` for AES-256-GCM on 16 KiB blocks (openssl
// enc has no GCM) and returns MB/s.
func opensslGCM() (float64, bool) {
	p, err := exec.LookPath("openssl")
	if err != nil {
		return 0, false
	}
	out, err := exec.Command(p, "speed", "-evp", "aes-256-gcm", "-seconds", "1", "-bytes", "16384").CombinedOutput()
	if err != nil {
		return 0, false
	}
	m := opensslRate.FindSubmatch(out)
	if m == nil {
		return 0, false
	}
	fields := bytes.Fields(m[1])
	v, err := strconv.ParseFloat(string(bytes.TrimSuffix(fields[len(fields)-1], []byte("k"))), 64)
	if err != nil {
		return 0, false
	}
	return v * 1000 / 1e6, true // openssl prints 1000s of bytes per second
}

package main

import (
	"bufio"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// floors are the limits of this machine, measured in the same run as the
// figures they stand beside: what the standard library, OpenSSL and the
// system's own tools reach on the same work.
type floors struct {
	goGCM       float64 // MB/s, crypto/cipher AES-256-GCM seal of 1 MiB in memory
	opensslGCM  float64 // MB/s, openssl speed -evp aes-256-gcm, 16 KiB blocks (0: not measured)
	goSHA256    float64 // MB/s, crypto/sha256 of 1 MiB
	rsaSignNs   float64 // ns per RSA-3072 PKCS#1 v1.5 signature (crypto/rsa)
	rsaVerifyNs float64 // ns per RSA-3072 verification
	rsaOAEPNs   float64 // ns per RSA-3072 OAEP (SHA-256) decryption of a 32-byte key
	sha256sum   float64 // MB/s, sha256sum of the large message's file (0 until measured)
	ddFsync     float64 // MB/s, dd conv=fsync of the large message's size (0 until measured)
}

// measureFloors runs the in-process floors as Go benchmarks and asks
// openssl for its AES-256-GCM speed when it is installed.
func measureFloors() floors {
	var f floors
	mbps := func(r testing.BenchmarkResult) float64 {
		return float64(r.Bytes) * float64(r.N) / r.T.Seconds() / 1e6
	}
	const size = 1 << 20
	blk, _ := aes.NewCipher(make([]byte, 32))
	g, _ := cipher.NewGCM(blk)
	pt, iv := make([]byte, size), make([]byte, 12)
	out := make([]byte, 0, size+16)
	f.goGCM = mbps(testing.Benchmark(func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			out = g.Seal(out[:0], iv, pt, nil)
		}
	}))
	f.goSHA256 = mbps(testing.Benchmark(func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			sha256.Sum256(pt)
		}
	}))
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err == nil {
		d := sha256.Sum256(pt[:64])
		sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
		f.rsaSignNs = float64(testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				_, _ = rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
			}
		}).NsPerOp())
		f.rsaVerifyNs = float64(testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				_ = rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig)
			}
		}).NsPerOp())
		wrapped, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, &key.PublicKey, d[:], nil)
		f.rsaOAEPNs = float64(testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				_, _ = rsa.DecryptOAEP(sha256.New(), nil, key, wrapped, nil)
			}
		}).NsPerOp())
	}
	f.opensslGCM = opensslGCM()
	return f
}

// opensslGCM returns OpenSSL's AES-256-GCM speed on 16 KiB blocks in MB/s,
// 0 when openssl is missing or its output is not understood.
func opensslGCM() float64 {
	out, err := exec.Command("openssl", "speed", "-seconds", "1", "-bytes", "16384", "-evp", "aes-256-gcm").Output()
	if err != nil {
		return 0
	}
	// The last line: "AES-256-GCM   1234567.89k" (1000s of bytes per second).
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	var v float64
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 2 && strings.EqualFold(fs[0], "aes-256-gcm") && strings.HasSuffix(fs[1], "k") {
			if k, err := strconv.ParseFloat(strings.TrimSuffix(fs[1], "k"), 64); err == nil {
				v = k * 1000 / 1e6
			}
		}
	}
	return v
}

// ddFsync writes size bytes with dd and fsync before it exits (as a blob
// or an intake entry is written) and returns MB/s.
func ddFsync(dir string, size int64) (float64, error) {
	name := filepath.Join(dir, "dd.bin")
	defer os.Remove(name)
	const bs = 1 << 20
	t := time.Now()
	out, err := exec.Command("dd", "if=/dev/zero", "of="+name, fmt.Sprintf("bs=%d", bs),
		fmt.Sprintf("count=%d", (size+bs-1)/bs), "conv=fsync").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("dd: %v: %s", err, out)
	}
	return float64(size) / time.Since(t).Seconds() / 1e6, nil
}

// profiler records where the daemon and the simulator spend CPU during
// the large message, with perf when it is installed and allowed.
type profiler struct {
	cmd *exec.Cmd
	dir string
}

// startProfile starts `perf record` on pids into dir; with dir empty, or
// without perf, it records nothing (and says why).
func startProfile(dir string, pids ...int) *profiler {
	p := &profiler{dir: dir}
	if dir == "" {
		return p
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		logf("bench: profile: %v", err)
		return p
	}
	ps := make([]string, len(pids))
	for i, pid := range pids {
		ps[i] = strconv.Itoa(pid)
	}
	cmd := exec.Command("perf", "record", "-F", "499", "-g", "-o", filepath.Join(dir, "perf.data"), "-p", strings.Join(ps, ","))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		logf("bench: profile: perf: %v", err)
		return p
	}
	p.cmd = cmd
	time.Sleep(200 * time.Millisecond) // perf attaches
	return p
}

// finish stops perf and writes the flat profile by process and symbol to
// profile.txt beside perf.data.
func (p *profiler) finish() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
	p.cmd = nil
	out, err := exec.Command("perf", "report", "-i", filepath.Join(p.dir, "perf.data"), "--stdio", "--no-children",
		"--sort", "comm,sym", "-g", "none", "--percent-limit", "0.3").Output()
	if err != nil {
		logf("bench: profile: perf report: %v", err)
		return
	}
	name := filepath.Join(p.dir, "profile.txt")
	if err := os.WriteFile(name, out, 0o644); err != nil {
		logf("bench: profile: %v", err)
		return
	}
	fmt.Printf("bench: CPU profile (daemon and simulator): %s\n", name)
}

// procCPU returns the user plus system CPU time a running process has
// used (/proc/PID/stat, in clock ticks of 1/100 s): a figure that a busy
// machine stretches less than wall time.
func procCPU(pid int) time.Duration {
	st, err := readStat(pid)
	if err != nil {
		return 0
	}
	return time.Duration(st.utime+st.stime) * time.Second / time.Duration(clockTicks())
}

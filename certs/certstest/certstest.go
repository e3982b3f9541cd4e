// Package certstest is the module's one test-support package: it locates
// the material tests share (the repository root, the committed test PKI
// under testdata/pki, the reference material in ../shared beside the
// checkout, the external peer tools xmlsec1, xmllint and openssl), and
// gives tests a deterministic byte stream (DetRand), a settable clock
// (Clock), certificates issued on the fly (Issue), detached CMS signatures
// made by openssl (SignCMS), golden-file comparison
// (Golden) and a small file system to fill (Tmpfs). It imports nothing
// of the module, so that the tests of every package, certs included, can
// use it; it is imported by tests only.
package certstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// RepoRoot walks up from the test's working directory to the directory
// holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SharedDir is the shared reference material beside the checkout.
func SharedDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "..", "shared")
}

// PKIPath is a file of the committed test PKI.
func PKIPath(t testing.TB, file string) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "testdata", "pki", file)
}

// NeedTool returns the path of an external peer tool. Without it the test
// fails under CI=true (make deps installs it) and is skipped otherwise.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true (make deps installs it)", name)
	}
	t.Skipf("%s not installed; run make deps (required under CI=true)", name)
	return ""
}

// DetRand returns a deterministic, goroutine-safe byte stream derived
// from seed (the state is SHA-256 of the seed; each 32-byte block is the
// SHA-256 of the one before). It is not random at all: it makes golden
// files and transcripts byte-stable.
func DetRand(seed string) io.Reader {
	return &detRand{state: sha256.Sum256([]byte(seed))}
}

type detRand struct {
	mu    sync.Mutex
	state [32]byte
}

func (d *detRand) Read(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for n < len(p) {
		d.state = sha256.Sum256(d.state[:])
		n += copy(p[n:], d.state[:])
	}
	return n, nil
}

// Clock is a settable test clock, safe for concurrent use. Each reading
// first advances it by Step (zero: it stands still until Set or Add).
type Clock struct {
	mu   sync.Mutex
	t    time.Time
	Step time.Duration
}

// NewClock returns a clock at t0 that advances by step per reading.
func NewClock(t0 time.Time, step time.Duration) *Clock { return &Clock{t: t0, Step: step} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.Step)
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// PKIKey loads a key pair of the committed test PKI (name.key and
// name.pem; the key file's mode is not checked, a checkout has none).
func PKIKey(t testing.TB, name string) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	block := func(file string) []byte {
		data, err := os.ReadFile(PKIPath(t, file))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(data)
		if b == nil {
			t.Fatalf("%s holds no PEM block", file)
		}
		return b.Bytes
	}
	cert := PKICert(t, name)
	der := block(name + ".key")
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			if key, err = x509.ParseECPrivateKey(der); err != nil {
				t.Fatalf("%s.key: %v", name, err)
			}
		}
	}
	return key.(crypto.Signer), cert
}

// PKICert loads a certificate of the committed test PKI (name.pem).
func PKICert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(PKIPath(t, name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s.pem holds no PEM block", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue issues tmpl for key (nil: a fresh ECDSA P-256 key), signed by
// caKey for caCert (nil: self-signed). Serial number and validity
// default to 1 and 2026-2036.
func Issue(t testing.TB, caKey crypto.Signer, caCert, tmpl *x509.Certificate, key crypto.Signer) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(1)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	parent, signer := tmpl, key
	if caCert != nil {
		parent, signer = caCert, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, c
}

// Tmpfs mounts a tmpfs of size (mount's size option, e.g. "1m") on a new
// temporary directory and unmounts it when the test ends. It needs root:
// without, or where the mount fails, the test is skipped.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// ReferenceNow is when the reference library's messages in
// testdata/osci-java (golden fetches) were made: certificates and
// signatures are checked at this time.
var ReferenceNow = time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)

var referenceKeys sync.Map // name → referenceKey; PKCS#12 key derivation is slow

type referenceKey struct {
	key   crypto.Signer
	cert  *x509.Certificate
	chain []*x509.Certificate
}

// ReferenceKey loads one of the public OSCI reference library's sample
// keystores (../shared/vectors/osci-java/certs/<name>.p12, password
// 123456), e.g. "bob_cipher_4096", once per test binary, with the chain
// the keystore carries.
func ReferenceKey(t testing.TB, name string) (crypto.Signer, *x509.Certificate, []*x509.Certificate) {
	t.Helper()
	if k, ok := referenceKeys.Load(name); ok {
		r := k.(referenceKey)
		return r.key, r.cert, r.chain
	}
	data, err := os.ReadFile(filepath.Join(SharedDir(t), "vectors", "osci-java", "certs", name+".p12"))
	if err != nil {
		t.Fatal(err)
	}
	key, cert, chain, err := pkcs12.DecodeChain(data, "123456")
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		t.Fatalf("%s: key %T is no signer", name, key)
	}
	referenceKeys.Store(name, referenceKey{signer, cert, chain})
	return signer, cert, chain
}

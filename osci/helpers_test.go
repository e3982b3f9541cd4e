package osci

import (
	"bytes"
	"crypto/x509"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// sharedDir returns ../shared beside the repository root (the directory with go.mod).
func sharedDir(t testing.TB) string {
	t.Helper()
	return certstest.SharedDir(t)
}

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readShared(t, "vectors/osci-java/certs/"+name+".cer"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newDetRand is the module's deterministic byte stream (golden files).
func newDetRand(seed string) io.Reader { return certstest.DetRand(seed) }

var fixedNow = time.Date(2026, 3, 2, 10, 20, 53, 0, time.FixedZone("CET", 3600))

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		lo := max(0, i-60)
		t.Errorf("%s differs at byte %d:\n got: %q\nwant: %q", name, i, got[lo:min(len(got), i+60)], want[lo:min(len(want), i+60)])
	}
}

package osci

import (
	"crypto/x509"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

// readShared reads a file of the shared reference material.
func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	return certstest.ReadFile(t, filepath.Join(certstest.SharedDir(t), filepath.FromSlash(rel)))
}

func loadCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readShared(t, "vectors/osci-java/certs/"+name+".cer"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var fixedNow = time.Date(2026, 3, 2, 10, 20, 53, 0, time.FixedZone("CET", 3600))

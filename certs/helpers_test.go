package certs

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

// repoRoot walks up from the test's working directory to the directory
// holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	return certstest.RepoRoot(t)
}

// sharedDir is the shared reference material beside the checkout.
func sharedDir(t testing.TB) string {
	t.Helper()
	return certstest.SharedDir(t)
}

func pkiPath(t testing.TB, file string) string {
	return filepath.Join(repoRoot(t), "testdata", "pki", file)
}

func readPKI(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(pkiPath(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCert(t testing.TB, base string) *x509.Certificate {
	t.Helper()
	cs, err := ParseCertificates(readPKI(t, base+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	return cs[0]
}

func loadKP(t testing.TB, base string) *KeyPair {
	t.Helper()
	kp, err := LoadPEMData(readPKI(t, base+".key"), readPKI(t, base+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

package certs

import (
	"crypto/x509"
	"errors"
	"os"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs/certstest"
)

func readPKI(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(certstest.PKIPath(t, file))
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

// failedAsWanted checks err against want, the error a test case expects:
// with want set, err must match it and the case is done (true); without,
// err must be nil and the case goes on (false).
func failedAsWanted(t testing.TB, err, want error) bool {
	t.Helper()
	if want != nil {
		if !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	return false
}

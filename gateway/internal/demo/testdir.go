package demo

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// The demo key material for tests is issued once per test binary (RSA-3072
// key generation is the slow part) and copied into each test's directory.
var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

// NewTestDir returns a fresh demo directory (keys, token, configuration,
// address book) whose configuration points at the given simulator and API
// addresses, for the gateway's end-to-end tests. Call RemoveTestKeys from
// TestMain when the tests are done.
func NewTestDir(t testing.TB, simAddr, apiAddr string) Layout {
	t.Helper()
	fixtureOnce.Do(func() {
		if fixtureDir, fixtureErr = os.MkdirTemp("", "bebpo-demo-keys-"); fixtureErr != nil {
			return
		}
		pki := demoPKI{dir: fixtureDir, now: time.Now, rand: rand.Reader}
		_, fixtureErr = pki.ensure([]Party{Stadt.Party, Gericht.Party, Intermediary})
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	l := Layout{Dir: t.TempDir()}
	if err := os.CopyFS(l.Keys(), os.DirFS(fixtureDir)); err != nil {
		t.Fatal(err)
	}
	// CopyFS keeps no modes; keystores and passwords must be private.
	ents, _ := os.ReadDir(l.Keys())
	for _, e := range ents {
		if err := os.Chmod(filepath.Join(l.Keys(), e.Name()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	created, err := prepareDemo(context.Background(), l, simAddr, apiAddr, time.Now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("prepareDemo issued new keys although the copied ones are usable")
	}
	return l
}

// RemoveTestKeys removes the key material NewTestDir issued.
func RemoveTestKeys() {
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
}

// LoadKey reads a party's demo key pair (party: Stadt.ID, Gericht.ID or
// Intermediary.ID).
func (l Layout) LoadKey(party string, purpose certs.Purpose) (*certs.KeyPair, error) {
	return demoPKI{dir: l.Keys()}.load(party, purpose)
}

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
// address book) whose two mailboxes, Stadt and Gericht, live at the
// simulator at simAddr (the configuration's one intermediary) and whose
// API listens on apiAddr, for the gateway's end-to-end tests. Call
// RemoveTestKeys from TestMain when the tests are done.
func NewTestDir(t testing.TB, simAddr, apiAddr string) Layout {
	t.Helper()
	return NewTestInstallation(t, Installation{API: apiAddr, Sites: map[string]string{Intermediary.ConfigName: simAddr},
		Mailboxes: []Mailbox{Stadt, Gericht}, Recipients: []Mailbox{Stadt, Gericht}})
}

// NewTestInstallation returns a fresh demo directory configured as inst,
// with the key material of every demo party.
func NewTestInstallation(t testing.TB, inst Installation) Layout {
	t.Helper()
	fixtureOnce.Do(func() {
		if fixtureDir, fixtureErr = os.MkdirTemp("", "bebpo-demo-keys-"); fixtureErr != nil {
			return
		}
		pki := demoPKI{dir: fixtureDir, now: time.Now, rand: rand.Reader}
		_, fixtureErr = pki.ensure(Parties())
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
	created, err := prepareDemo(context.Background(), l, inst, time.Now, rand.Reader)
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

// LoadKey reads a party's demo key pair (party: the ID of one of Parties).
func (l Layout) LoadKey(party string, purpose certs.Purpose) (*certs.KeyPair, error) {
	return demoPKI{dir: l.Keys()}.load(party, purpose)
}

// Keystore returns the files of a party's demo keystore for purpose: the
// PKCS#12 file and the file holding its password.
func (l Layout) Keystore(party string, purpose certs.Purpose) (p12, password string) {
	p12, password, _ = demoPKI{dir: l.Keys()}.keystore(party, purpose)
	return p12, password
}

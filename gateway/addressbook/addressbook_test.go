package addressbook_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/addressbook"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/apitest"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/field"
)

func TestAddressBookSentinels(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	ctx := context.Background()
	good := addressbook.Recipient{SafeID: "DE.Justiz.x.1", Name: "LG", CipherCert: apitest.PKIPEM(t, "mailbox-cipher.pem")}
	wantRefusals(t, e.Book, good, []refusal{
		{"exists", func(r *addressbook.Recipient) { r.SafeID = apitest.Recipient }, addressbook.ErrExists, nil, "safeId", ""},
		{"bad SAFE-ID", func(r *addressbook.Recipient) { r.SafeID = "x" }, field.ErrInvalid, nil, "safeId", ""},
		{"no name", func(r *addressbook.Recipient) { r.Name = "" }, field.ErrInvalid, nil, "name", ""},
		{"bad intermediary", func(r *addressbook.Recipient) { r.IntermediaryURL = "ftp://x" }, field.ErrInvalid, nil, "intermediaryUrl", ""},
		{"no certificate", func(r *addressbook.Recipient) { r.CipherCert = "" }, addressbook.ErrBadCertificate, nil, "cipherCert", ""},
		{"wrong key usage", func(r *addressbook.Recipient) { r.CipherCert = apitest.PKIPEM(t, "wrong-usage.pem") }, addressbook.ErrBadCertificate, certs.ErrKeyUsage, "cipherCert", ""},
		{"expired", func(r *addressbook.Recipient) { r.CipherCert = apitest.PKIPEM(t, "expired.pem") }, addressbook.ErrBadCertificate, certs.ErrExpired, "cipherCert", ""},
		{"weak key", func(r *addressbook.Recipient) { r.CipherCert = apitest.PKIPEM(t, "rsa1024.pem") }, addressbook.ErrBadCertificate, certs.ErrWeakKey, "cipherCert", ""},
	})
	if _, err := e.Book.Update(ctx, good); !errors.Is(err, addressbook.ErrNotFound) {
		t.Errorf("update of a missing entry: %v", err)
	}
	if err := e.Book.Delete("DE.Justiz.none.1"); !errors.Is(err, addressbook.ErrNotFound) {
		t.Errorf("delete of a missing entry: %v", err)
	}
}

func TestAddressBookReload(t *testing.T) {
	e := apitest.NewEnvWithRecipient(t)
	path := filepath.Join(e.Dir, config.AddressBookFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		wantErr string
		entries int
	}{
		{"broken JSON keeps the book", "{", "addressbook", 1},
		{"entry twice keeps the book", `{"version":1,"entries":[{"safeId":"DE.Justiz.a.1"},{"safeId":"DE.Justiz.a.1"}]}`, "listed twice", 1},
		{"bad SAFE-ID keeps the book", `{"version":1,"entries":[{"safeId":"x"}]}`, "not a SAFE-ID", 1},
		{"emptied by hand", `{"version":1,"entries":[]}`, "", 0},
		{"restored", string(good), "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.content), 0o640); err != nil {
				t.Fatal(err)
			}
			next, err := addressbook.Open(path, e.Clock.Now)
			if err == nil {
				e.Book.Replace(next)
			}
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if n := len(e.Book.List()); n != tc.entries {
				t.Errorf("%d entries, want %d", n, tc.entries)
			}
		})
	}
}

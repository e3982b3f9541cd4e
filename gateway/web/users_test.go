package web_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

func TestUsersFileKeepsArgon2idHashesDurably(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "web", "users.json")
	us, err := web.OpenUsers(path, web.Argon2Params{})
	if err != nil {
		t.Fatal(err)
	}
	u := web.User{Name: "anna", DisplayName: "Anna", Email: "anna@erkelenz.de", Roles: []web.Role{web.RoleLegal}, Mailboxes: []string{"stadt"}, Source: web.SourceLocal}
	if err := us.Put(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := us.SetPassword(ctx, "anna", "kurz"); !errors.Is(err, web.ErrInvalidUser) {
		t.Fatalf("short password: %v", err)
	}
	if err := us.SetPassword(ctx, "anna", password); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(string(raw), password) {
		t.Fatalf("users file does not hold an OWASP argon2id hash only:\n%s", raw)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode %v, want 0600", fi.Mode().Perm())
	}
	if got, err := us.Authenticate(ctx, "anna", password); err != nil || got.Email != u.Email {
		t.Fatalf("right password: %+v %v", got, err)
	}
	for _, c := range [][2]string{{"anna", "falsches-passwort"}, {"niemand", password}} {
		if _, err := us.Authenticate(ctx, c[0], c[1]); !errors.Is(err, web.ErrBadLogin) {
			t.Errorf("%s: %v, want ErrBadLogin", c[0], err)
		}
	}
	// Changing roles keeps the password; a second store (the CLI beside a
	// running daemon) sees the change and the first one sees its change.
	u.Roles = []web.Role{web.RoleRecords}
	if err := us.Put(ctx, u); err != nil {
		t.Fatal(err)
	}
	other, err := web.OpenUsers(path, web.Argon2Params{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := other.Authenticate(ctx, "anna", password); err != nil || !got.Has(web.RoleRecords) || got.Has(web.RoleLegal) {
		t.Fatalf("reopened: %+v %v", got, err)
	}
	if err := other.Put(ctx, web.User{Name: "otto", Source: web.SourceOIDC, Mailboxes: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := us.User(ctx, "otto"); err != nil {
		t.Fatalf("change of another process not seen: %v", err)
	}
	if err := us.SetPassword(ctx, "otto", password); !errors.Is(err, web.ErrInvalidUser) {
		t.Fatalf("password for a directory user: %v", err)
	}
	if _, err := us.Authenticate(ctx, "otto", password); !errors.Is(err, web.ErrBadLogin) {
		t.Fatalf("directory user with a password: %v", err)
	}
	if err := us.Delete(ctx, "anna"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.User(ctx, "anna"); !errors.Is(err, web.ErrNoUser) {
		t.Fatalf("deleted user: %v", err)
	}
	list, _ := other.Users(ctx)
	if len(list) != 1 || list[0].Name != "otto" {
		t.Fatalf("users %+v", list)
	}
}

func TestUserValidation(t *testing.T) {
	for name, u := range map[string]web.User{
		"upper case name": {Name: "Anna", Source: web.SourceLocal},
		"no source":       {Name: "anna"},
		"unknown role":    {Name: "anna", Source: web.SourceLocal, Roles: []web.Role{"root"}},
		"mailbox list":    {Name: "anna", Source: web.SourceLocal, Mailboxes: []string{"a,b"}},
		"mail without @":  {Name: "anna", Source: web.SourceLocal, Email: "anna"},
	} {
		if err := u.Validate(); !errors.Is(err, web.ErrInvalidUser) {
			t.Errorf("%s: %v, want ErrInvalidUser", name, err)
		}
	}
	u := web.User{Name: "anna", Mailboxes: []string{"*"}, Source: web.SourceLocal}
	if !u.InScope("stadt") || (web.User{Mailboxes: []string{"stadt"}}).InScope("ordnungsamt") || (web.User{}).InScope("stadt") {
		t.Error("scope: * is every mailbox, a list only its own, none no mailbox")
	}
}

func TestDemoUsers(t *testing.T) {
	us, err := web.OpenUsers(filepath.Join(t.TempDir(), "users.json"), testArgon2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		name, pw, err := web.DemoUsers(context.Background(), us, nil)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := us.Authenticate(context.Background(), name, pw); err != nil || len(u.Roles) != len(web.Roles) || !u.InScope("stadt") {
			t.Fatalf("demo user: %+v %v", u, err)
		}
	}
}

package web_test

import (
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

// TestDirectoryAccountNeverTakesOverALocalUser: a directory (OIDC)
// sign-in whose name is that of a local user is refused, and the local
// user keeps its roles and mailboxes; a directory user signs in and is
// remembered as such.
func TestDirectoryAccountNeverTakesOverALocalUser(t *testing.T) {
	e := newEnv(t)
	e.addUser("anna", []web.Role{web.RoleRecords}, "stadt")
	s := e.App.Sessions()
	r := httptest.NewRequest("GET", "/anmeldung/oidc/callback", nil)
	admin := web.User{Name: "anna", Roles: []web.Role{web.RoleAdmin}, Mailboxes: []string{web.AllMailboxes}, Source: web.SourceOIDC}
	if err := s.Start(httptest.NewRecorder(), r, admin); !errors.Is(err, web.ErrInvalidUser) {
		t.Fatalf("directory sign-in as a local user: %v", err)
	}
	u, err := e.Users.User(r.Context(), "anna")
	if err != nil || u.Source != web.SourceLocal || u.Has(web.RoleAdmin) || u.InScope("gericht") {
		t.Fatalf("the local user after the attempt: %+v %v", u, err)
	}
	dir := web.User{Name: "bert", Roles: []web.Role{web.RoleLegal}, Mailboxes: []string{"stadt"}, Source: web.SourceOIDC}
	if err := s.Start(httptest.NewRecorder(), r, dir); err != nil {
		t.Fatal(err)
	}
	if u, err := e.Users.User(r.Context(), "bert"); err != nil || u.Source != web.SourceOIDC {
		t.Errorf("directory user: %+v %v", u, err)
	}
}

package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

func runWithStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(&Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, args)
	return code, out.String(), errb.String()
}

func TestUsersCommands(t *testing.T) {
	dir := t.TempDir()
	pw := "ein-langes-passwort\n"
	if code, _, errs := runWithStdin(t, pw, "users", "add", "--data", dir, "--roles", "legal,records", "--mailboxes", "stadt", "--email", "anna@erkelenz.de", "anna"); code != 0 {
		t.Fatalf("add: %d %s", code, errs)
	}
	if code, _, _ := runWithStdin(t, "kurz\n", "users", "add", "--data", dir, "--roles", "legal", "bert"); code == 0 {
		t.Fatal("a short password was accepted")
	}
	if code, _, _ := runWithStdin(t, pw, "users", "add", "--data", dir, "--roles", "root", "bert"); code != 2 {
		t.Fatalf("unknown role: exit %d, want 2", code)
	}
	if code, out, _ := runWithStdin(t, "", "users", "add", "--data", dir, "--roles", "records", "--mailboxes", "*", "anna"); code != 0 || !strings.Contains(out, "changed") {
		t.Fatalf("change: %d %s", code, out)
	}
	code, out, _ := runWithStdin(t, "", "users", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "anna") || !strings.Contains(out, "roles=records") || !strings.Contains(out, "mailboxes=*") || strings.Contains(out, "argon2") {
		t.Fatalf("list: %d %s", code, out)
	}
	us, err := web.OpenUsers(web.UsersPath(dir), web.Argon2Params{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := us.Authenticate(context.Background(), "anna", "ein-langes-passwort"); err != nil {
		t.Fatalf("the password set by add does not sign in after a change of roles: %v", err)
	}
	if code, _, errs := runWithStdin(t, "noch-ein-langes-passwort\n", "users", "passwd", "--data", dir, "anna"); code != 0 {
		t.Fatalf("passwd: %d %s", code, errs)
	}
	if _, err := us.Authenticate(context.Background(), "anna", "noch-ein-langes-passwort"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if code, _, _ := runWithStdin(t, "", "users", "delete", "--data", dir, "anna"); code != 0 {
		t.Fatal("delete failed")
	}
	if code, _, _ := runWithStdin(t, "", "users", "delete", "--data", dir, "anna"); code == 0 {
		t.Fatal("deleting an unknown user succeeded")
	}
	if code, _, _ := runWithStdin(t, "", "users", "list"); code != 2 {
		t.Fatal("list without --config or --data is not a usage error")
	}
}

package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/config"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/web"
)

// usersCommand manages the web application's local users in its users
// file; a running gateway sees a change at the user's next request.
func usersCommand() *Command {
	where := " (--config FILE | --data DIR)"
	return &Command{Name: "users", Summary: "manage the web application's users, their roles and mailboxes", Subs: []*Command{
		{Name: "add", Summary: "add a local user or change one's roles and mailboxes", Run: runUsersAdd,
			Usage: "users add" + where + " --roles ROLE,... --mailboxes NAME,...|* [options] NAME",
			Help: "Add a local user who signs in with a password, or replace the roles, mailboxes, display name and\n" +
				"e-mail address of one (the password stays). Roles: legal (send to courts, answer eEB), procurement\n" +
				"(Wettbewerbsregister), records (inbox, quarantine), admin (operations, address book). --mailboxes\n" +
				"names the mailboxes the user sees; * is every mailbox. A new user's password is read from the first\n" +
				"line of standard input (at least 12 characters), or set later with 'users passwd'."},
		{Name: "list", Summary: "list the users", Run: runUsersList,
			Usage: "users list" + where + " [--json]",
			Help:  "List the users with source (local or oidc), roles and mailboxes. Password hashes are never shown."},
		{Name: "passwd", Summary: "set a local user's password", Run: runUsersPasswd,
			Usage: "users passwd" + where + " NAME",
			Help:  "Set a local user's password, read from the first line of standard input (at least 12 characters)."},
		{Name: "delete", Summary: "remove a user", Run: runUsersDelete,
			Usage: "users delete" + where + " NAME",
			Help:  "Remove a user; their sessions end at their next request."},
	}}
}

// usersFlags declares --config and --data; the returned function opens
// the users file they name.
func usersFlags(fs *flag.FlagSet) func() (*web.FileUsers, error) {
	cfgPath := fs.String("config", "", "gateway configuration: its web.users_file or data_dir")
	data := fs.String("data", "", "the gateway's data directory (instead of --config)")
	return func() (*web.FileUsers, error) {
		switch {
		case (*cfgPath == "") == (*data == ""):
			return nil, usageErrorf(fs, "give either --config FILE or --data DIR")
		case *cfgPath != "":
			cfg, err := config.Load(*cfgPath)
			if err != nil {
				return nil, err
			}
			return web.OpenUsers(cfg.WebUsersPath(), web.Argon2Params{})
		}
		return web.OpenUsers(web.UsersPath(*data), web.Argon2Params{})
	}
}

// oneUser parses args for the one user NAME and opens the users file.
func oneUser(env *Env, fs *flag.FlagSet, args []string, open func() (*web.FileUsers, error)) (*web.FileUsers, string, error) {
	if err := parseArgs(env, fs, args, 1, "one user NAME"); err != nil {
		return nil, "", err
	}
	us, err := open()
	return us, fs.Arg(0), err
}

func readPassword(env *Env) (string, error) {
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("cli: no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runUsersAdd(env *Env, fs *flag.FlagSet, args []string) error {
	open := usersFlags(fs)
	roles := fs.String("roles", "", "comma-separated roles: legal, procurement, records, admin")
	mailboxes := fs.String("mailboxes", "", "comma-separated mailbox names, or * for every mailbox")
	display := fs.String("display-name", "", "name shown on the pages")
	email := fs.String("email", "", "e-mail address for notifications")
	if err := parseArgs(env, fs, args, 1, "one user NAME"); err != nil {
		return err
	}
	rs, err := web.ParseRoles(*roles)
	if err != nil {
		return usageErrorf(fs, "%v", err)
	}
	var mbs []string
	for _, m := range strings.Split(*mailboxes, ",") {
		if m = strings.TrimSpace(m); m != "" {
			mbs = append(mbs, m)
		}
	}
	us, err := open()
	if err != nil {
		return err
	}
	ctx := context.Background()
	u := web.User{Name: fs.Arg(0), DisplayName: *display, Email: *email, Roles: rs, Mailboxes: mbs, Source: web.SourceLocal}
	if err := u.Validate(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	_, getErr := us.User(ctx, u.Name)
	isNew := getErr != nil
	var pw string
	if isNew {
		if pw, err = readPassword(env); err != nil {
			return err
		}
		if len([]rune(pw)) < web.MinPasswordLength {
			return fmt.Errorf("cli: the password must have at least %d characters", web.MinPasswordLength)
		}
	}
	if err := us.Put(ctx, u); err != nil {
		return err
	}
	if isNew {
		if err := us.SetPassword(ctx, u.Name, pw); err != nil {
			return err
		}
	}
	verb := "changed"
	if isNew {
		verb = "added"
	}
	_, err = fmt.Fprintf(env.Stdout, "user %s %s\n", u.Name, verb)
	return err
}

func runUsersList(env *Env, fs *flag.FlagSet, args []string) error {
	open := usersFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	us, err := open()
	if err != nil {
		return err
	}
	list, err := us.Users(context.Background())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.Stdout, list)
	}
	for _, u := range list {
		rs := make([]string, len(u.Roles))
		for i, r := range u.Roles {
			rs[i] = string(r)
		}
		if _, err := fmt.Fprintf(env.Stdout, "%-24s %-5s roles=%s mailboxes=%s %s\n", u.Name, u.Source,
			cliDash(strings.Join(rs, ",")), cliDash(strings.Join(u.Mailboxes, ",")), u.DisplayName); err != nil {
			return err
		}
	}
	return nil
}

func runUsersPasswd(env *Env, fs *flag.FlagSet, args []string) error {
	us, name, err := oneUser(env, fs, args, usersFlags(fs))
	if err != nil {
		return err
	}
	pw, err := readPassword(env)
	if err != nil {
		return err
	}
	if err := us.SetPassword(context.Background(), name, pw); err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "password of %s set\n", name)
	return err
}

func runUsersDelete(env *Env, fs *flag.FlagSet, args []string) error {
	us, name, err := oneUser(env, fs, args, usersFlags(fs))
	if err != nil {
		return err
	}
	if err := us.Delete(context.Background(), name); err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "user %s deleted\n", name)
	return err
}

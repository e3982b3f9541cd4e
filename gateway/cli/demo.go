package cli

import (
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
)

func runDemo(env *Env, args []string) error {
	fs := newFlagSet(env, "demo [options]",
		"Create demo keys and a configuration under --dir (reused when run again), start an OSCI\n"+
			"intermediary simulator and the gateway with two mailboxes on loopback, send a PDF from one\n"+
			"mailbox to the other through the admin API and show it arriving in the folder intake.\n"+
			"Then keep running until Ctrl-C so you can try the API and the CLI.")
	dir := fs.String("dir", filepath.Join("var", "demo"), "demo directory")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	return demo.Run(env.Stdout, env.Getenv, *dir, sig)
}

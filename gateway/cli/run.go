package cli

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
)

func runDaemon(env *Env, args []string) error {
	fs := newFlagSet(env, "run --config FILE [options]",
		"Run the gateway: send and fetch for every configured mailbox, hand received messages to the\n"+
			"eAkte intake, serve the admin API and watch the outgoing folder.\n\n"+
			"Signals: SIGHUP reloads the configuration, API tokens, address book, keys and certificates (a\n"+
			"broken file is refused and the running configuration kept); SIGTERM or SIGINT stops claiming\n"+
			"work, lets in-flight work finish within --drain-timeout and exits 0; a second signal exits at once\n"+
			"with status 1 (interrupted work is recovered at the next start).\n\n"+
			"Exit status: 0 stopped cleanly, 1 runtime failure, 2 bad command line, configuration or keys.")
	cfgPath := fs.String("config", "", "configuration file (required)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long SIGTERM waits for in-flight work")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return usageErrorf(fs, "unexpected argument %q", fs.Arg(0))
	case *cfgPath == "":
		return usageErrorf(fs, "--config is required")
	case *drain <= 0:
		return usageErrorf(fs, "--drain-timeout must be positive")
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	return gateway.Serve(gateway.DaemonOptions{ConfigPath: *cfgPath, LogOutput: env.Stderr, Getenv: env.Getenv, DrainTimeout: *drain}, sig, nil)
}

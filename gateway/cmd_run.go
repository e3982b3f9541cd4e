package gateway

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func init() {
	register(&Command{Name: "run", Summary: "run the gateway daemon", Run: runDaemon})
}

func runDaemon(env *Env, args []string) int {
	fs := NewFlagSet(env, "run --config FILE [options]",
		"Run the gateway: send and fetch for every configured mailbox, hand received messages to the\n"+
			"eAkte intake, serve the admin API and watch the outgoing folder.\n\n"+
			"Signals: SIGHUP reloads the configuration, API tokens, address book, keys and certificates (a\n"+
			"broken file is refused and the running configuration kept); SIGTERM or SIGINT stops claiming\n"+
			"work, lets in-flight work finish within --drain-timeout and exits 0; a second signal exits at once\n"+
			"with status 1 (interrupted work is recovered at the next start).\n\n"+
			"Exit status: 0 stopped cleanly, 1 runtime failure, 2 bad command line, configuration or keys.")
	config := fs.String("config", "", "configuration file (required)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long SIGTERM waits for in-flight work")
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() != 0:
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	case *config == "":
		return UsageErrorf(env, fs, "--config is required")
	case *drain <= 0:
		return UsageErrorf(env, fs, "--drain-timeout must be positive")
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	return serveDaemon(env, DaemonOptions{ConfigPath: *config, LogOutput: env.Stderr, Getenv: env.Getenv, DrainTimeout: *drain}, sig, nil)
}

// serveDaemon builds and runs a daemon and maps the outcome to an exit
// code. started, when set, is called once the daemon serves.
func serveDaemon(env *Env, opt DaemonOptions, sig <-chan os.Signal, started func(*Daemon)) int {
	ctx := context.Background()
	d, err := NewDaemon(ctx, opt)
	if err != nil {
		if errors.Is(err, ErrConfig) || errors.Is(err, ErrKeyMaterial) {
			Failf(env, "run", "%v", err)
			return ExitUsage
		}
		return Failf(env, "run", "%v", err)
	}
	if started != nil {
		go started(d)
	}
	if err := d.Run(ctx, sig); err != nil {
		return Failf(env, "run", "%v", err)
	}
	return ExitOK
}

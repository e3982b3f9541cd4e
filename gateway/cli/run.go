package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
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
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	switch {
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

func runDemo(env *Env, args []string) error {
	fs := newFlagSet(env, "demo [options]",
		"Create demo keys and a configuration under --dir (reused when run again), start two OSCI\n"+
			"intermediary simulators (bebpo and justiz-nrw, each with its own keys) and the gateway with\n"+
			"three mailboxes on loopback, send a PDF to a mailbox at the same intermediary and to a court\n"+
			"at the other through the admin API, and show both arriving in the folder intakes and the\n"+
			"court's reception on the process card. Then keep running until Ctrl-C so you can try the API\n"+
			"and the CLI.")
	dir := fs.String("dir", filepath.Join("var", "demo"), "demo directory")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	return demo.Run(env.Stdout, env.Getenv, *dir, sig)
}

func runSimulator(env *Env, args []string) error {
	fs := newFlagSet(env, "simulator [options]",
		"Answer OSCI-Transport 1.2 orders on any path like an intermediary (getMessageId, storeDelivery,\n"+
			"initDialog, fetchDelivery, fetchProcessCard, exitDialog). Mailboxes are keyed by the addressee's\n"+
			"cipher certificate; deliveries are stored under --data as received. It plays one intermediary\n"+
			"with the keys given: run one process per intermediary, each with its own keys, --listen and\n"+
			"--data. State other than the stored files lives in memory. For tests only: the key files are\n"+
			"read whatever their permissions. SIGINT or SIGTERM stops it.")
	listen := fs.String("listen", "127.0.0.1:18081", "address to listen on")
	cipherP12 := fs.String("cipher-p12", "", "PKCS#12 file with the intermediary's cipher key (required)")
	sigP12 := fs.String("signature-p12", "", "PKCS#12 file with the intermediary's signature key (required)")
	pwFile := fs.String("password-file", "", "file holding the PKCS#12 password")
	pwEnv := fs.String("password-env", "", "environment variable holding the PKCS#12 password")
	sigPwFile := fs.String("signature-password-file", "", "file holding the signature keystore's password, when it differs")
	sigPwEnv := fs.String("signature-password-env", "", "environment variable holding the signature keystore's password, when it differs")
	data := fs.String("data", "", "directory for stored deliveries (required)")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	if *cipherP12 == "" || *sigP12 == "" || *data == "" {
		return usageErrorf(fs, "--cipher-p12, --signature-p12 and --data are required")
	}
	pw, err := readSecret(env, *pwFile, *pwEnv)
	if err != nil {
		return err
	}
	sigPw := pw
	if *sigPwFile != "" || *sigPwEnv != "" {
		if sigPw, err = readSecret(env, *sigPwFile, *sigPwEnv); err != nil {
			return fmt.Errorf("signature key: %w", err)
		}
	}
	cipher, err := demo.LoadSimulatorKey(*cipherP12, pw)
	if err != nil {
		return fmt.Errorf("cipher key: %w", err)
	}
	sig, err := demo.LoadSimulatorKey(*sigP12, sigPw)
	if err != nil {
		return fmt.Errorf("signature key: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return demo.RunSimulator(ctx, demo.SimulatorOptions{Listen: *listen, Cipher: cipher, Signature: sig, DataDir: *data,
		Out: env.Stdout, Log: env.Stderr})
}

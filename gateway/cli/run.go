package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
)

func runDaemon(env *Env, fs *flag.FlagSet, args []string) error {
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
	sig, stop := notifySignals()
	defer stop()
	return gateway.Serve(gateway.DaemonOptions{ConfigPath: *cfgPath, LogOutput: env.Stderr, Getenv: env.Getenv, DrainTimeout: *drain}, sig, nil)
}

// notifySignals delivers SIGHUP, SIGTERM and SIGINT to the returned
// channel (room for the second signal that forces exit) until stop.
func notifySignals() (sig chan os.Signal, stop func()) {
	sig = make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	return sig, func() { signal.Stop(sig) }
}

func runDemo(env *Env, fs *flag.FlagSet, args []string) error {
	dir := fs.String("dir", filepath.Join("var", "demo"), "demo directory")
	if err := parseArgs(env, fs, args, 0, ""); err != nil {
		return err
	}
	sig, stop := notifySignals()
	defer stop()
	return demo.Run(env.Stdout, env.Getenv, *dir, sig)
}

func runSimulator(env *Env, fs *flag.FlagSet, args []string) error {
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

package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/demo"
)

func runSimulator(env *Env, args []string) error {
	fs := newFlagSet(env, "simulator [options]",
		"Answer OSCI-Transport 1.2 orders on any path like an intermediary (getMessageId, storeDelivery,\n"+
			"initDialog, fetchDelivery, fetchProcessCard, exitDialog). Mailboxes are keyed by the addressee's\n"+
			"cipher certificate; deliveries are stored under --data as received. For tests only: the key files\n"+
			"are read whatever their permissions. SIGINT or SIGTERM stops it.")
	listen := fs.String("listen", "127.0.0.1:18081", "address to listen on")
	cipherP12 := fs.String("cipher-p12", "", "PKCS#12 file with the intermediary's cipher key (required)")
	sigP12 := fs.String("signature-p12", "", "PKCS#12 file with the intermediary's signature key (required)")
	pwFile := fs.String("password-file", "", "file holding the PKCS#12 password")
	pwEnv := fs.String("password-env", "", "environment variable holding the PKCS#12 password")
	data := fs.String("data", "", "directory for stored deliveries (required)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	if *cipherP12 == "" || *sigP12 == "" || *data == "" {
		return usageErrorf(fs, "--cipher-p12, --signature-p12 and --data are required")
	}
	pw, err := readSecret(env, *pwFile, *pwEnv)
	if err != nil {
		return err
	}
	cipher, err := demo.LoadSimulatorKey(*cipherP12, pw)
	if err != nil {
		return fmt.Errorf("cipher key: %w", err)
	}
	sig, err := demo.LoadSimulatorKey(*sigP12, pw)
	if err != nil {
		return fmt.Errorf("signature key: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return demo.RunSimulator(ctx, demo.SimulatorOptions{Listen: *listen, Cipher: cipher, Signature: sig, DataDir: *data,
		Out: env.Stdout, Log: env.Stderr})
}

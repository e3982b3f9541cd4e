package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

func init() {
	register(&Command{Name: "simulator", Summary: "run an OSCI intermediary simulator for tests", Run: runSimulator})
}

func runSimulator(env *Env, args []string) int {
	fs := NewFlagSet(env, "simulator [options]",
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
	if code, ok := ParseFlags(env, fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() != 0:
		return UsageErrorf(env, fs, "unexpected argument %q", fs.Arg(0))
	case *cipherP12 == "" || *sigP12 == "" || *data == "":
		return UsageErrorf(env, fs, "--cipher-p12, --signature-p12 and --data are required")
	}
	pw, err := ReadSecret(env, *pwFile, *pwEnv)
	if err != nil {
		return Failf(env, "simulator", "%v", err)
	}
	load := func(path string) (*certs.KeyPair, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return certs.LoadPKCS12Data(b, pw)
	}
	cipher, err := load(*cipherP12)
	if err != nil {
		return Failf(env, "simulator", "cipher key: %v", err)
	}
	sig, err := load(*sigP12)
	if err != nil {
		return Failf(env, "simulator", "signature key: %v", err)
	}
	sim, err := intermediary.New(intermediary.Config{Cipher: cipher, Signature: sig, DataDir: *data, Now: time.Now, Rand: rand.Reader,
		Log: func(format string, a ...any) { fmt.Fprintf(env.Stderr, "simulator: "+format+"\n", a...) }})
	if err != nil {
		return Failf(env, "simulator", "%v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return Failf(env, "simulator", "%v", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	fmt.Fprintf(env.Stdout, "simulator listening on http://%s/\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return Failf(env, "simulator", "%v", err)
	}
	return ExitOK
}

package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
	"github.com/stadt-erkelenz/bebpo-gateway/osci/intermediary"
)

// SimulatorOptions configure a stand-alone simulator (the `simulator`
// command, for interop tests with other OSCI software).
type SimulatorOptions struct {
	Listen            string
	Cipher, Signature *certs.KeyPair
	DataDir           string
	Out, Log          io.Writer // where the listening address and the simulator's log go
}

// LoadSimulatorKey reads a PKCS#12 keystore for the simulator whatever the
// file's permissions: the simulator runs with the sample keys of test
// suites, never with a real intermediary's.
func LoadSimulatorKey(path, password string) (*certs.KeyPair, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return certs.LoadPKCS12Data(b, password)
}

// RunSimulator serves an OSCI intermediary simulator until ctx ends.
func RunSimulator(ctx context.Context, o SimulatorOptions) error {
	srv, err := simulatorServer(o.Cipher, o.Signature, o.DataDir, func(format string, a ...any) { fmt.Fprintf(o.Log, "simulator: "+format+"\n", a...) })
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	fmt.Fprintf(o.Out, "simulator listening on http://%s/\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// startDemoSimulator serves the in-process simulator playing site, with
// its own keys, data directory and log.
func startDemoSimulator(l Layout, site Site, ln net.Listener) (*http.Server, error) {
	pki := demoPKI{dir: l.Keys()}
	cipher, err := pki.load(site.ID, certs.PurposeCipher)
	if err != nil {
		return nil, err
	}
	sig, err := pki.load(site.ID, certs.PurposeSignature)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.Simulator(site.ConfigName), 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(l.SimulatorLog(site.ConfigName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	srv, err := simulatorServer(cipher, sig, l.Simulator(site.ConfigName), func(format string, a ...any) {
		fmt.Fprintf(logFile, time.Now().UTC().Format(time.RFC3339)+" "+format+"\n", a...)
	})
	if err != nil {
		logFile.Close()
		return nil, err
	}
	srv.RegisterOnShutdown(func() { logFile.Close() })
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// simulatorServer is the intermediary simulator (keys cipher and sig, its
// store in dataDir, its log lines to logf) behind an HTTP server.
func simulatorServer(cipher, sig *certs.KeyPair, dataDir string, logf func(format string, a ...any)) (*http.Server, error) {
	sim, err := intermediary.New(intermediary.Config{Cipher: cipher, Signature: sig, DataDir: dataDir, Now: time.Now, Rand: rand.Reader, Log: logf})
	if err != nil {
		return nil, err
	}
	return &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second}, nil
}

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
	sim, err := intermediary.New(intermediary.Config{Cipher: o.Cipher, Signature: o.Signature, DataDir: o.DataDir, Now: time.Now, Rand: rand.Reader,
		Log: func(format string, a ...any) { fmt.Fprintf(o.Log, "simulator: "+format+"\n", a...) }})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 30 * time.Second}
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

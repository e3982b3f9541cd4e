// Package s3test runs a throwaway S3-compatible server for tests: s3rver
// (the npm package, MIT, installed by `make deps` under the machine's
// Node.js), a real HTTP server speaking the S3 API with signature V4 and
// multipart uploads, nothing mocked.
//
// The first Options call of a test binary starts s3rver on a free
// loopback port with its data in a temporary directory; each call gives
// a bucket of its own. Main stops the server and removes the directory
// after the tests; the server also dies with the test binary
// (parent-death signal). s3rver keeps objects as plain files without
// fsync: the tests exercise the gateway's protocol, not the server's
// durability.
//
// Where s3rver is not installed the tests skip, unless CI=true: then they
// fail, so CI never passes without the S3 store tested.
package s3test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/s3blobs"
)

// ErrNoServer is returned when s3rver is not installed.
var ErrNoServer = errors.New("s3test: s3rver not found (npm install --global s3rver@3.7.1, or make deps)")

// Credentials s3rver accepts.
const (
	AccessKey = "S3RVER"
	SecretKey = "S3RVER"
)

type server struct {
	dir  string
	addr string
	cmd  *exec.Cmd
	err  error
}

var (
	once    sync.Once
	srv     server
	buckets atomic.Int64
)

// Main runs the tests of m and stops the server if a test started one;
// use it as TestMain: os.Exit(s3test.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// Stop stops the server if one was started, for a TestMain that runs
// its tests through another package's Main (pgtest.Main).
func Stop() { stop() }

// Options returns the options of a store in a new bucket (created at
// Open) with its own spool directory. It skips t when s3rver is missing,
// and fails it under CI=true.
func Options(t testing.TB) s3blobs.Options {
	t.Helper()
	once.Do(start)
	if errors.Is(srv.err, ErrNoServer) && os.Getenv("CI") != "true" {
		t.Skip(srv.err)
	}
	if srv.err != nil {
		t.Fatal(srv.err)
	}
	return s3blobs.Options{Endpoint: srv.addr, Bucket: fmt.Sprintf("t%d-%d", os.Getpid(), buckets.Add(1)),
		AccessKey: AccessKey, SecretKey: SecretKey, Insecure: true, CreateBucket: true, SpoolDir: t.TempDir()}
}

func start() {
	bin, err := exec.LookPath("s3rver")
	if err != nil {
		srv.err = ErrNoServer
		return
	}
	if srv.err = srv.start(bin); srv.err != nil {
		stop()
	}
}

func (s *server) start(bin string) error {
	dir, err := os.MkdirTemp("", "s3test-")
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	s.dir = dir
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("s3test: free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.addr = "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "-d", filepath.Join(dir, "data"), "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-s", "--no-vhost-buckets")
	s.cmd.Dir, s.cmd.Stdout, s.cmd.Stderr = dir, logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("s3test: start s3rver: %w", err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + s.addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("s3test: server not ready: %w\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stop() {
	if srv.cmd != nil && srv.cmd.Process != nil {
		_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = srv.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-srv.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if srv.dir != "" {
		os.RemoveAll(srv.dir)
	}
}

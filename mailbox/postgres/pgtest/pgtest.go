// Package pgtest runs a throwaway PostgreSQL server for tests: the real
// server of the Debian package postgresql (installed by `make deps`),
// nothing mocked.
//
// The first DSN call of a test binary creates a cluster with initdb in a
// temporary directory and starts it listening only on a unix socket in
// that directory (the port number, picked free, just names the socket),
// with fsync off: the tests exercise the gateway, not the server's
// durability. Each DSN call creates a database of its own, dropped when
// the test ends. Main stops the server and removes the directory after
// the tests; the server also dies with the test binary (parent-death
// signal), so a killed test leaves no server running. Start and
// Server.CreateDatabase do the same for a program that is not a test
// (the crash harness runs several gateways on one).
//
// PostgreSQL refuses to run as root: as root, initdb and the server run
// as the postgres system user the package creates.
//
// Where the server binaries are missing the tests skip, unless CI=true
// (as certstest.NeedTool): then they fail, so CI never passes without the PostgreSQL store tested.
// The binaries are found in /usr/lib/postgresql/<version>/bin (Debian;
// the highest version), else by "postgres" on PATH.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is one throwaway cluster: the one DSN uses, or one a program
// that is not a test (the crash harness) starts with Start.
type Server struct {
	dir  string // temporary directory: data/, the socket, server.log
	port int
	cmd  *exec.Cmd
	err  error
}

var (
	once sync.Once
	srv  Server
	dbs  atomic.Int64
)

// ErrNoServer is returned when the PostgreSQL binaries are not installed.
var ErrNoServer = errors.New("pgtest: PostgreSQL server binaries not found (apt-get install postgresql)")

// Main runs the tests of m and stops the server if a test started one;
// use it as TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	stop()
	return code
}

// DSN returns the connection string of a new, empty database that is
// dropped when t ends. It skips t when the server binaries are missing,
// and fails it under CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if errors.Is(srv.err, ErrNoServer) && os.Getenv("CI") != "true" {
		t.Skip(srv.err)
	}
	if srv.err != nil {
		t.Fatal(srv.err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbs.Add(1))
	admin := srv.dsn("postgres")
	ctx := context.Background()
	if err := exec1(ctx, admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec1(ctx, admin, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	return srv.dsn(name)
}

// Start creates and starts a cluster as DSN does (ErrNoServer when the
// binaries are missing); Stop ends it.
func Start() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{}
	if err := s.start(bin); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// CreateDatabase creates the empty database name and returns its
// connection string.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := exec1(ctx, s.dsn("postgres"), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.dsn(name), nil
}

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", s.dir, s.port, db)
}

func exec1(ctx context.Context, dsn, q string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, q)
	return err
}

// BinDir returns the directory of the server binaries.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil && isExec(filepath.Join(filepath.Dir(r), "initdb")) {
			return filepath.Dir(r), nil
		}
	}
	return "", ErrNoServer
}

func version(bin string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

func start() {
	bin, err := BinDir()
	if err != nil {
		srv.err = err
		return
	}
	srv.err = srv.start(bin)
	if srv.err != nil {
		stop()
	}
}

func (s *Server) start(bin string) error {
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	s.dir = dir
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgtest: running as root needs the postgres system user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	logf, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close()
	if cred != nil {
		_ = logf.Chown(int(cred.Uid), int(cred.Gid))
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Stdout, initdb.Stderr = dir, logf, logf
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := initdb.Run(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w (see %s)", err, logf.Name())
	}
	if s.port, err = freePort(); err != nil {
		return err
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"), "-k", dir,
		"-p", strconv.Itoa(s.port), "-c", "listen_addresses=", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "synchronous_commit=off", "-c", "max_connections=300")
	s.cmd.Dir, s.cmd.Stdout, s.cmd.Stderr = dir, logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := exec1(ctx, s.dsn("postgres"), "SELECT 1")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return fmt.Errorf("pgtest: server not ready: %w\n%s", err, tail(string(log)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string) string {
	if lines := strings.Split(s, "\n"); len(lines) > 20 {
		return strings.Join(lines[len(lines)-20:], "\n")
	}
	return s
}

func stop() { srv.Stop() }

// Stop shuts the server down (fast shutdown, then kill) and removes its
// directory.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		s.cmd = nil
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
		s.dir = ""
	}
}

// freePort returns a TCP port nobody listens on. The server listens on
// its unix socket only, whose name carries the port; a free one keeps
// the cluster usable over TCP as well should a test enable it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

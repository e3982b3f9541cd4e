package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/stadt-erkelenz/bebpo-gateway/certs"
)

// Safe-IDs of the two mailboxes; both live at the one simulator.
const (
	safeIDA = "DE.Justiz.crashtest-a"
	safeIDB = "DE.Justiz.crashtest-b"
	p12Pass = "crashtest-simulator"
	apiTok  = "crashtest-token-0123456789abcdef"
)

// cluster is one simulator and one gateway daemon below a work directory,
// driven through the real binary.
type cluster struct {
	bin     string
	dir     string // work directory
	cfgPath string
	dataDir string
	intake  string
	outbox  string // the outgoing folder (Fachdatenimport)
	simDir  string
	apiURL  string
	simURL  string
	// B's cipher key: the harness decrypts what the simulator holds for B,
	// independently of the gateway.
	bCipher *certs.KeyPair

	sim    *proc
	daemon *proc
	starts int
	logf   func(format string, a ...any)
}

// proc is one started child process; done is closed when it exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func startProc(bin, logPath string, args ...string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Children die with the harness (an interrupted run leaves no daemon).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the process (its own pid only) and waits up to
// timeout for it to end.
func (p *proc) signal(sig syscall.Signal, timeout time.Duration) error {
	if !p.alive() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("pid %d did not end within %s after %s", p.cmd.Process.Pid, timeout, sig)
	}
}

// exitCode is the exit status (-1 when killed by a signal).
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// tail returns the last lines of the process log.
func (p *proc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// repoRoot walks up from the working directory to the one holding go.mod.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", errors.New("crashtest: no go.mod above the working directory; run from the repository")
		}
		d = up
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// clusterOptions shape the generated configuration.
type clusterOptions struct {
	dataDir string // default <dir>/data
	intake  string // default <dir>/intake
	outbox  string // default <dir>/outbox
}

// newCluster writes keys, PKCS#12 files, tokens and the configuration
// below dir. Mailbox a uses the test PKI's mailbox keys; mailbox b gets
// fresh RSA-3072 keys issued by the test intermediate CA, so the
// simulator (which keys mailboxes by cipher certificate) keeps them apart.
func newCluster(bin, dir string, o clusterOptions, logf func(string, ...any)) (*cluster, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(bin) {
		if bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
	}
	c := &cluster{bin: bin, dir: dir, cfgPath: filepath.Join(dir, "gateway.yaml"), dataDir: o.dataDir,
		intake: filepath.Join(dir, "intake"), outbox: filepath.Join(dir, "outbox"), simDir: filepath.Join(dir, "simulator"), logf: logf}
	if c.dataDir == "" {
		c.dataDir = filepath.Join(dir, "data")
	}
	if o.intake != "" {
		c.intake = o.intake
	}
	if o.outbox != "" {
		c.outbox = o.outbox
	}
	pki := filepath.Join(dir, "pki")
	for _, d := range []string{pki, c.dataDir, c.simDir, c.outbox} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	src := filepath.Join(root, "testdata", "pki")
	load := func(name string) (*certs.KeyPair, error) {
		k, err := os.ReadFile(filepath.Join(src, name+".key"))
		if err != nil {
			return nil, err
		}
		crt, err := os.ReadFile(filepath.Join(src, name+".pem"))
		if err != nil {
			return nil, err
		}
		return certs.LoadPEMData(k, crt)
	}
	kp := map[string]*certs.KeyPair{}
	for _, n := range []string{"mailbox-signature", "mailbox-cipher", "intermediary-signature", "intermediary-cipher", "intermediate-ca"} {
		if kp[n], err = load(n); err != nil {
			return nil, fmt.Errorf("crashtest: test PKI %s: %w", n, err)
		}
	}
	rootCA, err := os.ReadFile(filepath.Join(src, "root-ca.pem"))
	if err != nil {
		return nil, err
	}
	ca := kp["intermediate-ca"]
	bSig, err := issue(kp["mailbox-signature"].Cert, ca, "crashtest mailbox b signature", 0x5101)
	if err != nil {
		return nil, err
	}
	bCiph, err := issue(kp["mailbox-cipher"].Cert, ca, "crashtest mailbox b cipher", 0x5102)
	if err != nil {
		return nil, err
	}
	c.bCipher = bCiph
	files := map[string]*certs.KeyPair{"a-signature": kp["mailbox-signature"], "a-cipher": kp["mailbox-cipher"],
		"b-signature": bSig, "b-cipher": bCiph}
	for name, k := range files {
		if err := writeKeyPair(filepath.Join(pki, name), k); err != nil {
			return nil, err
		}
	}
	for _, n := range []string{"intermediary-signature", "intermediary-cipher"} {
		if err := writeCert(filepath.Join(pki, n+".pem"), kp[n].Cert); err != nil {
			return nil, err
		}
		p12, err := pkcs12.Modern.Encode(kp[n].Key, kp[n].Cert, nil, p12Pass)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(pki, n+".p12"), p12, 0o600); err != nil {
			return nil, err
		}
	}
	caFile := append(append([]byte{}, rootCA...), pemCert(ca.Cert)...)
	if err := os.WriteFile(filepath.Join(pki, "ca.pem"), caFile, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pki, "p12.pass"), []byte(p12Pass+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tokens"), []byte("crashtest:"+apiTok+"\n"), 0o600); err != nil {
		return nil, err
	}
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	c.apiURL = "http://" + addr
	return c, nil
}

// issue makes a leaf like tmpl (key usage, extensions) for a fresh
// RSA-3072 key, signed by ca.
func issue(tmpl *x509.Certificate, ca *certs.KeyPair, cn string, serial int64) (*certs.KeyPair, error) {
	key, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, err
	}
	t := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"bebpo-gateway crash test"}, Country: []string{"DE"}},
		NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter, KeyUsage: tmpl.KeyUsage, ExtKeyUsage: tmpl.ExtKeyUsage,
		BasicConstraintsValid: true, OCSPServer: tmpl.OCSPServer, CRLDistributionPoints: tmpl.CRLDistributionPoints,
		SignatureAlgorithm: x509.SHA256WithRSA}
	der, err := x509.CreateCertificate(rand.Reader, t, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("crashtest: issue %s: %w", cn, err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certs.KeyPair{Key: key, Cert: crt, Chain: []*x509.Certificate{ca.Cert}}, nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func writeCert(path string, c *x509.Certificate) error { return os.WriteFile(path, pemCert(c), 0o600) }

func writeKeyPair(base string, k *certs.KeyPair) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.Key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeCert(base+".pem", k.Cert)
}

// writeConfig writes the gateway configuration; the simulator must run.
func (c *cluster) writeConfig() error {
	return os.WriteFile(c.cfgPath, []byte(c.gatewayConfig(c.dataDir, c.apiURL, c.intake, c.outbox, "")), 0o600)
}

// gatewayConfig is the configuration of a gateway with its data in
// dataDir, serving the API at apiURL and delivering into the folder
// intake; outbox "" has no outgoing folder; extra is appended (YAML at
// the top level).
func (c *cluster) gatewayConfig(dataDir, apiURL, intake, outbox, extra string) string {
	host := strings.TrimPrefix(apiURL, "http://")
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nlog:\n  format: json\n  level: info\napi:\n  listen: %q\n  tokens_file: tokens\n", dataDir, host)
	b.WriteString("trust:\n  cas: [pki/ca.pem]\n  revocation: \"off\"\nmailboxes:\n")
	for _, m := range []struct{ name, id string }{{"a", safeIDA}, {"b", safeIDB}} {
		fmt.Fprintf(&b, "  - name: %s\n    safe_id: %s\n    poll_interval: 1s\n    intake: eakte\n", m.name, m.id)
		fmt.Fprintf(&b, "    intermediary:\n      url: %q\n      cipher_cert: pki/intermediary-cipher.pem\n      signature_certs: [pki/intermediary-signature.pem]\n", c.simURL)
		fmt.Fprintf(&b, "    signature:\n      key: pki/%[1]s-signature.key\n      cert: pki/%[1]s-signature.pem\n", m.name)
		fmt.Fprintf(&b, "    cipher:\n      key: pki/%[1]s-cipher.key\n      cert: pki/%[1]s-cipher.pem\n", m.name)
	}
	fmt.Fprintf(&b, "intakes:\n  - name: eakte\n    type: folder\n    path: %q\n", intake)
	if outbox != "" {
		fmt.Fprintf(&b, "outgoing_folder:\n  path: %q\n  mailbox: a\n  interval: 200ms\n", outbox)
	}
	b.WriteString(extra)
	return b.String()
}

// startSimulator starts `bebpo-gateway simulator` on a free port and
// waits for its "listening on" line.
func (c *cluster) startSimulator() error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(c.dir, "simulator.log")
	p, err := startProc(c.bin, logPath, "simulator", "--listen", addr, "--data", c.simDir,
		"--cipher-p12", filepath.Join(c.dir, "pki", "intermediary-cipher.p12"),
		"--signature-p12", filepath.Join(c.dir, "pki", "intermediary-signature.p12"),
		"--password-file", filepath.Join(c.dir, "pki", "p12.pass"))
	if err != nil {
		return err
	}
	c.sim = p
	c.simURL = "http://" + addr + "/osci"
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return fmt.Errorf("crashtest: simulator exited: %v\n%s", p.err, p.tail(20))
		}
		if conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			conn.Close()
			return c.writeConfig()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("crashtest: simulator not listening on %s after 20s\n%s", addr, p.tail(20))
}

// startDaemon starts `bebpo-gateway run` and waits until /healthz answers.
func (c *cluster) startDaemon(waitHealthy bool) error {
	c.starts++
	p, err := startProc(c.bin, filepath.Join(c.dir, "daemon.log"), "run", "--config", c.cfgPath)
	if err != nil {
		return err
	}
	c.daemon = p
	if !waitHealthy {
		return nil
	}
	return c.waitHealthy(60 * time.Second)
}

func (c *cluster) waitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	cl := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if !c.daemon.alive() {
			return fmt.Errorf("crashtest: daemon exited (code %d) before it served /healthz:\n%s", c.daemon.exitCode(), c.daemon.tail(30))
		}
		resp, err := cl.Get(c.apiURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("crashtest: daemon not healthy after %s:\n%s", timeout, c.daemon.tail(30))
}

// kill sends SIGKILL to the daemon and waits for it to be gone.
func (c *cluster) kill() error { return c.daemon.signal(syscall.SIGKILL, 10*time.Second) }

// stopDaemon ends the daemon with SIGTERM and returns its exit code.
func (c *cluster) stopDaemon() (int, error) {
	if c.daemon == nil {
		return 0, nil
	}
	if err := c.daemon.signal(syscall.SIGTERM, 60*time.Second); err != nil {
		_ = c.daemon.signal(syscall.SIGKILL, 10*time.Second)
		return -1, err
	}
	return c.daemon.exitCode(), nil
}

// close stops whatever still runs.
func (c *cluster) close() {
	if c.daemon != nil {
		_ = c.daemon.signal(syscall.SIGKILL, 10*time.Second)
	}
	if c.sim != nil {
		_ = c.sim.signal(syscall.SIGTERM, 15*time.Second)
		_ = c.sim.signal(syscall.SIGKILL, 5*time.Second)
	}
}

// addRecipient enters mailbox b into the address book through the API.
func (c *cluster) addRecipient(ctx context.Context) error { return c.addRecipientAt(ctx, c.apiURL) }

// addRecipientAt enters mailbox b into the address book of the gateway
// serving apiURL.
func (c *cluster) addRecipientAt(ctx context.Context, apiURL string) error {
	body := fmt.Sprintf(`{"safeId":%q,"name":"Crashtest B","organisation":"bebpo-gateway crash test","cipherCert":%q,"intermediaryUrl":%q}`,
		safeIDB, string(pemCert(c.bCipher.Cert)), c.simURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/v1/addressbook", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+apiTok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
		return fmt.Errorf("crashtest: address book: %s: %s", resp.Status, b)
	}
	return nil
}

// procStatus reads VmHWM and VmRSS (KiB) of a running process.
func procStatus(pid int) (hwm, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v int64
		switch {
		case strings.HasPrefix(sc.Text(), "VmHWM:"):
			fmt.Sscanf(strings.TrimPrefix(sc.Text(), "VmHWM:"), "%d", &v)
			hwm = v
		case strings.HasPrefix(sc.Text(), "VmRSS:"):
			fmt.Sscanf(strings.TrimPrefix(sc.Text(), "VmRSS:"), "%d", &v)
			rss = v
		}
	}
	return hwm, rss, sc.Err()
}

// rssSampler records the highest VmRSS of a process until stopped.
type rssSampler struct {
	mu   sync.Mutex
	peak int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if _, rss, err := procStatus(pid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, rss)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() int64 {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

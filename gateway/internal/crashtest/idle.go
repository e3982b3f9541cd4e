package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// runIdle measures what idle mailboxes cost: the simulator and the daemon
// with o.idleN mailboxes (all with mailbox a's keys, each its own SAFE-ID
// and intake folder) polled every o.idlePoll; after one interval for the
// first polls to spread, it measures over o.idleFor the daemon's CPU time
// (utime+stime from /proc), its RSS, and the requests the simulator
// answered (its log), and prints them per minute beside the target of 5 %
// of one core. It fails (exit 1) when a mailbox was not polled in the
// window or a poll failed, and with -idle-max-cpu when the CPU share is
// above it.
func runIdle(o options) int {
	c, err := newCluster(o.bin, o.dir, clusterOptions{}, logf)
	if err != nil {
		logf("idle: setup: %v", err)
		return 1
	}
	defer c.close()
	if err := c.startSimulator(); err != nil {
		logf("idle: %v", err)
		return 1
	}
	if err := c.writeIdleConfig(o.idleN, o.idlePoll); err != nil {
		logf("idle: %v", err)
		return 1
	}
	t0 := time.Now()
	if err := c.startDaemon(true); err != nil {
		logf("idle: %v", err)
		return 1
	}
	pid := c.daemon.cmd.Process.Pid
	logf("idle: %d mailboxes up in %s; waiting %s for the first polls", o.idleN, time.Since(t0).Round(time.Millisecond), o.idlePoll)
	time.Sleep(o.idlePoll)
	cpu0, req0 := procCPU(pid), simRequests(c)
	w0 := time.Now()
	time.Sleep(o.idleFor)
	cpu1, req1 := procCPU(pid), simRequests(c)
	win := time.Since(w0)
	_, rss, _ := procStatus(pid)
	hwm, _, _ := procStatus(pid)
	share := (cpu1 - cpu0).Seconds() / win.Seconds()
	// The floor: each idle poll is one order in a kept dialog, which costs
	// one RSA signature (the request) and one RSA decryption (the answer's
	// key), measured now with keys of the mailboxes' size (3072 bits).
	fl := measureFloors()
	floor := float64(o.idleN) / o.idlePoll.Seconds() * (fl.rsaSignNs + fl.rsaOAEPNs) / 1e9
	perMin := float64(req1-req0) / win.Minutes()
	polls := float64(o.idleN) * win.Minutes() / o.idlePoll.Minutes()
	fmt.Printf("idle: %d mailboxes polled every %s, measured %s: daemon CPU %.2f s = %.2f%% of one core (target < 5%%, %d CPUs; "+
		"floor %.2f%%: one RSA-3072 signature %.2f ms and one OAEP decryption %.2f ms per poll, measured now; ratio %.2f); "+
		"RSS %.1f MiB (peak %.1f MiB); simulator requests %.0f/min = %.2f per poll\n",
		o.idleN, o.idlePoll, win.Round(time.Second), (cpu1 - cpu0).Seconds(), 100*share, runtime.NumCPU(),
		100*floor, fl.rsaSignNs/1e6, fl.rsaOAEPNs/1e6, share/floor,
		float64(rss)/1024, float64(hwm)/1024, perMin, float64(req1-req0)/polls)
	// The polls of mailboxes started together stay bunched for many
	// intervals (each next poll moves by at most a tenth), so a window
	// holds more or fewer polls than the steady state: the cost per
	// request, at one request per poll, gives the steady state's share.
	if n := req1 - req0; n > 0 {
		perReq := (cpu1 - cpu0).Seconds() / float64(n)
		steady := perReq * float64(o.idleN) / o.idlePoll.Seconds()
		fmt.Printf("idle: per request %.2f ms of daemon CPU against %.2f ms of floor; at one request per poll: %.2f%% of one core (floor %.2f%%)\n",
			1e3*perReq, (fl.rsaSignNs+fl.rsaOAEPNs)/1e6, 100*steady, 100*floor)
	}
	log, _ := os.ReadFile(filepath.Join(c.dir, "daemon.log"))
	if n := strings.Count(string(log), "poll failed"); n > 0 {
		logf("idle: FAIL: %d polls failed\n%s", n, c.daemon.tail(10))
		return 1
	}
	if o.idleMaxCPU > 0 && 100*share > o.idleMaxCPU {
		logf("idle: FAIL: %.2f%% of one core, limit %.2f%%", 100*share, o.idleMaxCPU)
		return 1
	}
	return 0
}

// writeIdleConfig writes a configuration of n mailboxes at the simulator.
func (c *cluster) writeIdleConfig(n int, poll time.Duration) error {
	host := strings.TrimPrefix(c.apiURL, "http://")
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nlog:\n  format: json\n  level: info\napi:\n  listen: %q\n  tokens_file: tokens\n", c.dataDir, host)
	b.WriteString("trust:\n  cas: [pki/ca.pem]\n  revocation: \"off\"\nmailboxes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: m%d\n    safe_id: DE.Justiz.idle-%d\n    poll_interval: %s\n    intake: eakte\n", i, i, poll)
		fmt.Fprintf(&b, "    intermediary:\n      url: %q\n      cipher_cert: pki/intermediary-cipher.pem\n      signature_certs: [pki/intermediary-signature.pem]\n", c.simURL)
		b.WriteString("    signature:\n      key: pki/a-signature.key\n      cert: pki/a-signature.pem\n")
		b.WriteString("    cipher:\n      key: pki/a-cipher.key\n      cert: pki/a-cipher.pem\n")
	}
	fmt.Fprintf(&b, "intakes:\n  - name: eakte\n    type: folder\n    path: %q\n", c.intake)
	return os.WriteFile(c.cfgPath, []byte(b.String()), 0o600)
}

// simRequests counts the requests the simulator has answered.
func simRequests(c *cluster) int {
	b, _ := os.ReadFile(filepath.Join(c.dir, "simulator.log"))
	return strings.Count(string(b), "simulator: request ")
}

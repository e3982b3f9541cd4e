package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchPGNodes are the node counts bench-pg measures, one fresh cluster
// (database, simulator, gateways) each.
var benchPGNodes = []int{1, 2, 3}

// benchPGDocSize is the size of each message's one document (as bench's
// small messages).
const benchPGDocSize = 1024

// pgBenchRun is one node count's figures. CPU times are seconds of
// user+system time spent in the measured window.
type pgBenchRun struct {
	Nodes        int            `json:"nodes"`
	Messages     int            `json:"messages"`
	AcceptedSecs float64        `json:"acceptedSeconds"` // until the last 202
	SentSecs     float64        `json:"sentSeconds"`     // until all sent in the database and stored at the simulator
	MsgsPerSec   float64        `json:"msgsPerSecond"`
	CPU          pgBenchCPU     `json:"cpuSeconds"`
	Drain        pgBenchDrain   `json:"drain"`
	Lost         int            `json:"lost"`
	Duplicated   int            `json:"duplicated"`
	States       map[string]int `json:"states"`
	LoadAverage  string         `json:"loadAverage"` // /proc/loadavg's 1, 5 and 15 minute figures before the window
	OK           bool           `json:"ok"`
}

type pgBenchCPU struct {
	Gateways  []float64 `json:"gateways"` // one per node
	Simulator float64   `json:"simulator"`
	Postgres  float64   `json:"postgres"` // the server and its backends, without the harness's polling backend
	Harness   float64   `json:"harness"`  // the submitting clients and the polling
	Machine   float64   `json:"machine"`  // busy time of all cores, other users' processes included
}

// pgBenchDrain is the part of a run after the last 202: the nodes only
// send the backlog left then, so its rate and CPU time per message are
// those of sending alone.
type pgBenchDrain struct {
	Messages   int        `json:"messages"` // not yet sent at the last 202
	Secs       float64    `json:"seconds"`
	MsgsPerSec float64    `json:"msgsPerSecond"`
	CPU        pgBenchCPU `json:"cpuSeconds"`
}

// runBenchPG measures send throughput of one, two and three gateway
// processes on one PostgreSQL database: every run starts a fresh
// cluster, submits -bench-n messages of 1 KiB from a to b through the
// nodes' APIs in turn (-workers clients), and times from the first
// submission until every message is sent (or confirmed) in the database
// and the simulator has stored a delivery for each. The messages go
// through the API, as in production, not into the database behind the
// gateways' back, so acceptance and sending overlap; the part after the
// last 202, when the nodes only send the backlog left, gives the rate
// and the CPU time per message of sending alone. The nodes serve
// mailbox a only (nothing is fetched, no intake runs) and ask for
// process cards only after an hour, so the window holds acceptance and
// sending and nothing else of the gateways. It fails unless every run
// has lost=0 duplicated=0 at the simulator, `journal verify` and
// mailbox.Check pass and every node stops with 0 on SIGTERM.
func runBenchPG(o options) int {
	ver, _ := exec.Command(o.bin, "version").Output()
	logf("bench-pg: send throughput of 1-3 gateways on one PostgreSQL database through the real binary (%s), %d CPUs, %d messages × %d B, %d clients, seed %d",
		strings.TrimSpace(string(ver)), runtime.NumCPU(), o.benchN, benchPGDocSize, o.workers, o.seed)
	runs, err := benchPG(o)
	if err != nil {
		logf("bench-pg: FAIL: %v", err)
		return 1
	}
	code := 0
	for _, r := range runs {
		if !r.OK {
			code = 1
		}
	}
	fmt.Print(pgBenchTable(runs))
	b, _ := json.Marshal(struct {
		Bench string       `json:"bench"`
		CPUs  int          `json:"cpus"`
		Seed  uint64       `json:"seed"`
		Runs  []pgBenchRun `json:"runs"`
	}{"bench-pg", runtime.NumCPU(), o.seed, runs})
	fmt.Println(string(b))
	if code != 0 {
		fmt.Println("bench-pg: FAIL")
		return code
	}
	fmt.Println("bench-pg: PASS")
	return 0
}

// benchPG runs every node count of benchPGNodes; an error is a run that
// could not be measured (a node died, the queue did not drain).
func benchPG(o options) ([]pgBenchRun, error) {
	var runs []pgBenchRun
	for _, n := range benchPGNodes {
		r, err := benchPGRun(o, n)
		if err != nil {
			return runs, fmt.Errorf("%d nodes: %w", n, err)
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func benchPGRun(o options, nodes int) (pgBenchRun, error) {
	r := pgBenchRun{Nodes: nodes, Messages: o.benchN}
	pc, err := newPGCluster(o.bin, filepath.Join(o.dir, fmt.Sprintf("nodes%d", nodes)), nodes,
		pgOptions{sendOnly: true, extra: "sending:\n  confirm_first: 1h\n  confirm_max: 1h\n"})
	if err != nil {
		return r, fmt.Errorf("setup: %w", err)
	}
	defer pc.close()
	if err := pc.prepare(); err != nil {
		return r, err
	}
	docs := make([]document, o.benchN)
	for i := range docs {
		docs[i] = smallDocument(o.seed, i, benchPGDocSize)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pc.dsn)
	if err != nil {
		return r, err
	}
	defer conn.Close(ctx)
	var self int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&self); err != nil {
		return r, err
	}
	postmaster, err := parentPID(self)
	if err != nil {
		return r, err
	}
	sent := func() (int, error) {
		var k int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM messages WHERE direction = 'out' AND state IN ('sent', 'confirmed')`).Scan(&k)
		return k, err
	}
	boxB := filepath.Join(pc.simDir, "mailboxes", fingerprintB(pc.cluster))
	stored := func() int {
		ents, _ := os.ReadDir(boxB)
		return len(ents)
	}
	pids := []int{pc.sim.cmd.Process.Pid}
	for _, n := range pc.nodes {
		pids = append(pids, n.daemon.cmd.Process.Pid)
	}
	r.LoadAverage = loadAverage()
	before, err := takeCPU(pids, postmaster, self)
	if err != nil {
		return r, err
	}

	t0 := time.Now()
	outcomes, submitted := submitAll(ctx, docs, o.workers, 0, func(i int, d document) outcome {
		return submitUntilAcked(ctx, pc.nodes[i%nodes].apiURL, d)
	})
	var lastAck time.Time
	deadline := t0.Add(10 * time.Minute)
	var drainAt time.Time
	var drainCPU cpuSnapshot
	for {
		k, err := sent()
		if err != nil {
			return r, err
		}
		done := false
		select {
		case <-submitted:
			if drainAt.IsZero() {
				for i, oc := range outcomes {
					if oc.failed != "" {
						return r, fmt.Errorf("submission refused: message %d: %s", i, oc.failed)
					}
					if oc.acked.After(lastAck) {
						lastAck = oc.acked
					}
				}
				drainAt, r.Drain.Messages = time.Now(), len(docs)-k
				if drainCPU, err = takeCPU(pids, postmaster, self); err != nil {
					return r, err
				}
			}
			done = k >= len(docs) && stored() >= len(docs)
		default:
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%d of %d sent, %d stored at the simulator after 10 min", k, len(docs), stored())
		}
		for _, n := range pc.nodes {
			if !n.daemon.alive() {
				return r, fmt.Errorf("%s exited (code %d):\n%s", n.name(), n.daemon.exitCode(), n.daemon.tail(30))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	end := time.Now()
	took := end.Sub(t0)
	after, err := takeCPU(pids, postmaster, self)
	if err != nil {
		return r, err
	}
	r.OK = true // every submission was acknowledged: the loop ends only then
	r.AcceptedSecs = lastAck.Sub(t0).Seconds()
	r.SentSecs = took.Seconds()
	r.MsgsPerSec = float64(len(docs)) / took.Seconds()
	r.CPU = after.since(before)
	r.Drain.Secs = end.Sub(drainAt).Seconds()
	if r.Drain.Secs > 0 {
		r.Drain.MsgsPerSec = float64(r.Drain.Messages) / r.Drain.Secs
	}
	r.Drain.CPU = after.since(drainCPU)
	logf("bench-pg: %d nodes: %d messages accepted after %.2fs, all sent and stored at the simulator after %.2fs = %.1f msgs/s; the %d unsent at the last 202 in %.2fs = %.1f msgs/s",
		nodes, len(docs), r.AcceptedSecs, r.SentSecs, r.MsgsPerSec, r.Drain.Messages, r.Drain.Secs, r.Drain.MsgsPerSec)

	// Let late duplicates show, then stop the nodes and check.
	time.Sleep(2 * time.Second)
	for _, n := range pc.nodes {
		if code, err := pc.stop(n); err != nil || code != 0 {
			logf("bench-pg: FAIL: %s on SIGTERM: exit code %d %v", n.name(), code, err)
			r.OK = false
		}
	}
	if !pc.sim.alive() {
		return r, fmt.Errorf("the simulator died:\n%s", pc.sim.tail(20))
	}
	r.OK = pc.verify() && r.OK
	if r.States, err = pc.states(ctx); err != nil {
		return r, err
	}
	sim, err := scanSimulator(pc.simDir, pc.bCipher)
	if err != nil {
		return r, err
	}
	var details []string
	r.Lost, r.Duplicated, details = simTally(docs, sim, fingerprintB(pc.cluster))
	for _, d := range details {
		fmt.Println("  " + d)
	}
	logf("bench-pg: %d nodes: at the simulator: lost=%d duplicated=%d", nodes, r.Lost, r.Duplicated)
	if r.Lost != 0 || r.Duplicated != 0 {
		r.OK = false
	}
	return r, nil
}

// states counts the database's messages by direction and state.
func (pc *pgCluster) states(ctx context.Context) (map[string]int, error) {
	st, err := pc.open(ctx, 0)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return countStates(ctx, st)
}

// simTally counts, at the simulator only, the submitted documents without
// a delivery for mailboxB (lost) and every delivery beyond the first of a
// document, for another mailbox or holding no submitted document
// (duplicated).
func simTally(docs []document, sim []simDelivery, mailboxB string) (lost, duplicated int, details []string) {
	want := map[string]document{}
	for _, d := range docs {
		want[d.SHA] = d
	}
	seen := map[string]int{}
	for _, s := range sim {
		known := submitted(s.Docs, want)
		if s.Mailbox != mailboxB || len(known) == 0 {
			duplicated++
			details = append(details, fmt.Sprintf("simulator: delivery %s for mailbox %s holds %d submitted documents", s.IDHash, s.Mailbox, len(known)))
			continue
		}
		for _, p := range s.Problems {
			details = append(details, fmt.Sprintf("simulator: delivery %s: %s", s.IDHash, p))
		}
		for _, sum := range known {
			seen[sum]++
		}
	}
	for _, d := range docs {
		switch k := seen[d.SHA]; {
		case k == 0:
			lost++
			details = append(details, fmt.Sprintf("LOST message %d (%s)", d.Index, d.Name))
		case k > 1:
			duplicated += k - 1
			details = append(details, fmt.Sprintf("DUPLICATE at the simulator: message %d (%s) in %d deliveries", d.Index, d.Name, k))
		}
	}
	return lost, duplicated, details
}

// cpuSnapshot is CPU time in clock ticks at one moment.
type cpuSnapshot struct {
	procs    []int64 // per pid as given: the simulator, then the gateways
	postgres int64
	harness  time.Duration
	machine  int64
}

func (b cpuSnapshot) since(a cpuSnapshot) pgBenchCPU {
	tick := float64(clockTicks())
	out := pgBenchCPU{
		Simulator: float64(b.procs[0]-a.procs[0]) / tick,
		Postgres:  float64(b.postgres-a.postgres) / tick,
		Harness:   (b.harness - a.harness).Seconds(),
		Machine:   float64(b.machine-a.machine) / tick,
	}
	for i := 1; i < len(b.procs); i++ {
		out.Gateways = append(out.Gateways, float64(b.procs[i]-a.procs[i])/tick)
	}
	return out
}

// takeCPU reads the CPU time of pids, of the PostgreSQL server (the
// postmaster, its children but skip, and the children it reaped), of this
// process and of the whole machine.
func takeCPU(pids []int, postmaster, skip int) (cpuSnapshot, error) {
	var s cpuSnapshot
	for _, p := range pids {
		st, err := readStat(p)
		if err != nil {
			return s, err
		}
		s.procs = append(s.procs, st.utime+st.stime)
	}
	pm, err := readStat(postmaster)
	if err != nil {
		return s, err
	}
	s.postgres = pm.utime + pm.stime + pm.cutime + pm.cstime
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return s, err
	}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == skip {
			continue
		}
		if st, err := readStat(p); err == nil && st.ppid == postmaster {
			s.postgres += st.utime + st.stime
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return s, err
	}
	s.harness = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.machine, err = machineBusy()
	return s, err
}

// procStat is what takeCPU needs of /proc/<pid>/stat (times in clock ticks).
type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime int64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(string(b))
}

// parseStat parses a /proc/<pid>/stat line: the fields after the command
// name (which is in parentheses and may hold spaces) start with the state
// (field 3); ppid is field 4, utime to cstime are fields 14 to 17.
func parseStat(line string) (procStat, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return procStat{}, errors.New("crashtest: /proc stat without a command name")
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("crashtest: /proc stat has %d fields after the command name", len(f))
	}
	var st procStat
	var err error
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return st, err
	}
	for k, dst := range []*int64{&st.utime, &st.stime, &st.cutime, &st.cstime} {
		if *dst, err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return st, err
		}
	}
	return st, nil
}

func parentPID(pid int) (int, error) {
	st, err := readStat(pid)
	return st.ppid, err
}

// machineBusy is the busy time of all cores (user, nice, system, irq,
// softirq, steal) from /proc/stat, in clock ticks.
func machineBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("crashtest: /proc/stat without a cpu line")
	}
	var busy int64
	for _, k := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return 0, err
		}
		busy += v
	}
	return busy, nil
}

// loadAverage is the machine's load average (1, 5, 15 minutes): how many
// processes wanted a core, the benchmark's own and other users'.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

var clockTicks = sync.OnceValue(func() int64 {
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 100 // USER_HZ on every Linux architecture the gateway runs on
})

// pgBenchTable renders the runs as two Markdown tables: throughput, and
// CPU time by process (over the whole window, as a share of its wall
// time: 2 cores are 200%; and per message sent after the last 202).
func pgBenchTable(runs []pgBenchRun) string {
	var b strings.Builder
	b.WriteString("| nodes | messages | all accepted (202) after | all sent after | msgs/s | unsent at the last 202 | sent after it in | msgs/s sending only | lost | duplicated |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		fmt.Fprintf(&b, "| %d | %d | %.2f s | %.2f s | %.1f | %d | %.2f s | %.1f | %d | %d |\n",
			r.Nodes, r.Messages, r.AcceptedSecs, r.SentSecs, r.MsgsPerSec, r.Drain.Messages, r.Drain.Secs, r.Drain.MsgsPerSec, r.Lost, r.Duplicated)
	}
	b.WriteString("\n| nodes | CPU gateways | CPU simulator | CPU postgres | CPU harness | machine busy | load average before | gateways per message sending only | simulator per message | postgres per message |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		pct := func(s float64) string { return fmt.Sprintf("%.1f s (%.0f%%)", s, 100*s/r.SentSecs) }
		var gw []string
		total := 0.0
		for _, g := range r.CPU.Gateways {
			gw = append(gw, fmt.Sprintf("%.1f", g))
			total += g
		}
		gws := pct(total)
		if len(gw) > 1 {
			gws += " = " + strings.Join(gw, " + ")
		}
		dg := 0.0
		for _, g := range r.Drain.CPU.Gateways {
			dg += g
		}
		per := func(s float64) string {
			if r.Drain.Messages == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f ms", 1000*s/float64(r.Drain.Messages))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Nodes, gws, pct(r.CPU.Simulator), pct(r.CPU.Postgres), pct(r.CPU.Harness), pct(r.CPU.Machine), r.LoadAverage,
			per(dg), per(r.Drain.CPU.Simulator), per(r.Drain.CPU.Postgres))
	}
	return b.String()
}

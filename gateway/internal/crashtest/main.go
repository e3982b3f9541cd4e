// Command crashtest proves the gateway's durability promise against the
// real binary: it starts `bebpo-gateway simulator` and `bebpo-gateway run`
// with two mailboxes a and b at that simulator, submits messages a→b
// (alternately through the admin API, retried with the same
// Idempotency-Key until a 202, and through the outgoing folder), kills the
// daemon with SIGKILL at random moments and restarts it, and at the end
// counts from sources that do not depend on the gateway's own
// bookkeeping: the deliveries the simulator stored (decrypted with b's
// cipher key, identified by document SHA-256, named by the SHA-256 of
// their MessageId) and the complete, manifest-verified entries of the
// folder intake, whose MessageIds must be those deliveries.
//
// It fails unless: nothing is lost or duplicated at either place; every
// message is in the intake exactly once; every folder submission ended in
// done/; the drained store holds only sent/confirmed and delivered
// messages; `bebpo-gateway journal verify` and mailbox.Check pass; the
// daemon never exited by itself and stops with 0 on SIGTERM.
//
// Usage (from the repository root; `make crash` runs the first two):
//
//	go run ./gateway/internal/crashtest crash    -bin bin/bebpo-gateway [-n 100 -kills 30 -seed S]
//	go run ./gateway/internal/crashtest diskfull -bin bin/bebpo-gateway
//	go run ./gateway/internal/crashtest powercut -bin bin/bebpo-gateway [-n 100 -kills 20 -seed S]
//	go run ./gateway/internal/crashtest bench    -bin bin/bebpo-gateway [-bench-n 200 -big-bytes 200000000]
//	    [-only small|big -gotest bench.out -json bench.json -profile DIR]
//	go run ./gateway/internal/crashtest crash-pg -bin bin/bebpo-gateway [-n 500 -kills 40 -seed S]
//	go run ./gateway/internal/crashtest bench-pg -bin bin/bebpo-gateway [-bench-n 200]
//	go run ./gateway/internal/crashtest idle     -bin bin/bebpo-gateway [-idle-n 500 -idle-poll 1m -idle-for 3m -idle-max-cpu 5]
//	go run ./gateway/internal/crashtest benchcmp OLD.json NEW.json
//
// bench measures the floors of the machine in the same run (Go's AES-GCM,
// SHA-256 and RSA, `openssl speed`, `sha256sum` and an fsync'd `dd`),
// prints every figure beside its floor with the ratio and writes them to
// -json; benchcmp compares two such files. -bench-n 0 or -only big skips
// the small messages, -only small the large one.
//
// crash-pg runs the same count against three gateway processes on one
// PostgreSQL database (a throwaway server, as mailbox/postgres/pgtest
// starts for the tests) sharing the blob and intake folders: submissions
// go round the nodes' APIs, random nodes are killed with SIGKILL and
// restarted, and once a node is stopped with SIGSTOP for longer than its
// lease (leases 10s) while the others go on, then continued; it reports
// how many of the leases the paused node held were taken over meanwhile.
// It also fails unless `journal verify --config` passes on every node
// (each against its own head file) and mailbox.Check passes on the
// database. `make crash-pg` runs it (CRASH_PG_N, CRASH_PG_KILLS).
//
// crash prints "sent=N lost=L duplicated=D intake=M" and exits 1 unless
// nothing was lost or duplicated, every message is in the intake exactly
// once, `journal verify` and mailbox.Check pass. The seed is printed so a
// run can be repeated (kill moments and documents follow from it; the
// scheduling of the processes does not).
//
// diskfull needs root for a small tmpfs as data_dir and skips (exit 0)
// with a message when it cannot mount one.
//
// powercut runs the crash loop with the gateway's data directory, intake
// and outgoing folder on a lossy FUSE file system (package powercut): each
// of -kills cuts kills the daemon and the outgoing folder's clients, drops
// everything not fsync'd and restarts the daemon; a last cut follows once
// the queue drained. It prints what every cut dropped and counts as crash
// does; a folder submission counts once its client's hand-over was
// durable (one a cut interrupted may arrive once or not at all). It skips
// (exit 0) without /dev/fuse and fails when mounting fails. `make
// powercut` runs it (POWERCUT_N, POWERCUT_CUTS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/sqlite"
)

type options struct {
	bin          string
	dir          string
	keep         bool
	n            int
	kills        int
	seed         uint64
	minDelay     time.Duration
	maxDelay     time.Duration
	docSize      int
	workers      int
	drainTimeout time.Duration
	via          string
	benchN       int
	bigBytes     int64
	idleN        int
	idlePoll     time.Duration
	idleFor      time.Duration
	idleMaxCPU   float64
	goTest       string
	benchJSON    string
	profile      string
	only         string
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func main() {
	if len(os.Args) < 2 || strings.HasPrefix(os.Args[1], "-") {
		fmt.Fprintln(os.Stderr, "usage: crashtest crash|crash-pg|diskfull|powercut|bench|bench-pg|idle -bin PATH [options] | benchcmp OLD.json NEW.json")
		os.Exit(2)
	}
	mode := os.Args[1]
	if mode == "benchcmp" {
		if len(os.Args) != 4 {
			fmt.Fprintln(os.Stderr, "usage: crashtest benchcmp OLD.json NEW.json")
			os.Exit(2)
		}
		os.Exit(runBenchCompare(os.Args[2], os.Args[3]))
	}
	if mode == "powercut-drop" { // one outgoing folder client of powercut
		os.Exit(runPowercutDrop(os.Args[2:]))
	}
	fs := flag.NewFlagSet("crashtest "+mode, flag.ExitOnError)
	var o options
	fs.StringVar(&o.bin, "bin", "bin/bebpo-gateway", "the bebpo-gateway binary to test")
	fs.StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory also when the run passes")
	fs.IntVar(&o.n, "n", envInt("CRASH_N", 100), "messages to submit (env CRASH_N)")
	fs.IntVar(&o.kills, "kills", envInt("CRASH_KILLS", 30), "SIGKILLs of the daemon, in powercut each with a power cut (env CRASH_KILLS)")
	seed := fs.Uint64("seed", 0, "random seed (env CRASH_SEED; default: from the clock)")
	fs.DurationVar(&o.minDelay, "min-delay", 300*time.Millisecond, "earliest kill after a (re)start")
	fs.DurationVar(&o.maxDelay, "max-delay", 3*time.Second, "latest kill after a (re)start")
	fs.IntVar(&o.docSize, "doc-size", 4096, "bytes per document")
	fs.IntVar(&o.workers, "workers", 4, "concurrent submitting clients")
	fs.StringVar(&o.via, "via", "both", "crash: submit through the api, the outgoing folder, or both (alternating)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "how long to wait for the queue to drain after the last kill")
	fs.IntVar(&o.benchN, "bench-n", envInt("BENCH_N", 200), "bench: small messages (env BENCH_N)")
	fs.Int64Var(&o.bigBytes, "big-bytes", int64(envInt("BENCH_BIG_BYTES", 200_000_000)), "bench: size of the large message (env BENCH_BIG_BYTES)")
	fs.IntVar(&o.idleN, "idle-n", envInt("IDLE_N", 500), "idle: mailboxes (env IDLE_N)")
	fs.DurationVar(&o.idlePoll, "idle-poll", time.Minute, "idle: poll interval of every mailbox")
	fs.DurationVar(&o.idleFor, "idle-for", 3*time.Minute, "idle: how long to measure after the first interval")
	fs.Float64Var(&o.idleMaxCPU, "idle-max-cpu", 0, "idle: fail above this percentage of one core (0: report only)")
	fs.StringVar(&o.goTest, "gotest", "", "bench: `go test -bench` output whose figures are printed beside their floors")
	fs.StringVar(&o.benchJSON, "json", "", "bench: write the figures to this JSON file (and the same in benchstat's format to its .txt)")
	fs.StringVar(&o.profile, "profile", "", "bench: record a CPU profile of each part with perf into this directory (small/, big/)")
	fs.StringVar(&o.only, "only", "", "bench: run only this part: small or big (default: both)")
	_ = fs.Parse(os.Args[2:])
	o.seed = *seed
	if o.seed == 0 {
		if v, err := strconv.ParseUint(os.Getenv("CRASH_SEED"), 10, 64); err == nil && v != 0 {
			o.seed = v
		} else {
			o.seed = uint64(time.Now().UnixNano())
		}
	}
	if o.via != "api" && o.via != "folder" && o.via != "both" {
		fmt.Fprintln(os.Stderr, "crashtest: -via must be api, folder or both")
		os.Exit(2)
	}
	if o.only != "" && o.only != "small" && o.only != "big" {
		fmt.Fprintln(os.Stderr, "crashtest: -only must be small or big")
		os.Exit(2)
	}
	if o.maxDelay < o.minDelay {
		fmt.Fprintln(os.Stderr, "crashtest: -max-delay must not be below -min-delay")
		os.Exit(2)
	}
	run, ok := map[string]func(options) int{
		"crash": runCrash, "crash-pg": runCrashPG, "diskfull": runDiskFull, "powercut": runPowercut, "bench": runBench, "bench-pg": runBenchPG, "idle": runIdle,
	}[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "crashtest: unknown mode %q (crash, crash-pg, diskfull, powercut, bench, bench-pg, idle)\n", mode)
		os.Exit(2)
	}
	os.Exit(withDir(o, mode, run))
}

// withDir runs fn in a work directory, removed afterwards unless the run
// failed or -keep was given.
func withDir(o options, name string, fn func(options) int) int {
	if o.dir == "" {
		d, err := os.MkdirTemp("", "bebpo-"+name+"-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "crashtest:", err)
			return 1
		}
		o.dir = d
	} else if err := os.MkdirAll(o.dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		return 1
	}
	code := fn(o)
	if code == 0 && !o.keep {
		os.RemoveAll(o.dir)
	} else {
		fmt.Printf("%s: work directory kept: %s (daemon.log, simulator.log, data/, intake/, simulator/)\n", name, o.dir)
	}
	return code
}

// submitPaced hands o.n small documents to submit on o.workers workers,
// spread over three quarters of the expected kill phase, so kills hit
// submission, sending, fetching and intake alike.
func submitPaced(ctx context.Context, o options, submit func(i int, d document) outcome) (docs []document, outcomes []outcome, submitted <-chan struct{}) {
	docs = make([]document, o.n)
	for i := range docs {
		docs[i] = smallDocument(o.seed, i, o.docSize)
	}
	phase := time.Duration(o.kills) * (o.minDelay + o.maxDelay) / 2
	outcomes, submitted = submitAll(ctx, docs, o.workers, phase*3/4/time.Duration(max(o.n, 1)), submit)
	return docs, outcomes, submitted
}

// submitAll hands docs to submit on the given number of workers, one
// document every pace. submitted is closed once every document has its
// outcome, or ctx ended; outcomes is written until then.
func submitAll(ctx context.Context, docs []document, workers int, pace time.Duration, submit func(i int, d document) outcome) (outcomes []outcome, submitted <-chan struct{}) {
	outcomes = make([]outcome, len(docs))
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range docs {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
			time.Sleep(pace)
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				outcomes[i] = submit(i, docs[i])
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return outcomes, done
}

func logf(format string, a ...any) {
	fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, a...)...)
}

// runCrash is the kill -9 loop (R1–R3 of the reliability plan).
func runCrash(o options) int {
	start := time.Now()
	logf("crash: seed=%d n=%d kills=%d window=[%s,%s] workers=%d (repeat with -seed %d)", o.seed, o.n, o.kills, o.minDelay, o.maxDelay, o.workers, o.seed)
	c, err := startCluster(o.bin, o.dir, clusterOptions{})
	if err != nil {
		logf("crash: %v", err)
		return 1
	}
	defer c.close()
	rng := rand.New(rand.NewPCG(o.seed, 0x6372617368))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	docs, outcomes, submitted := submitPaced(ctx, o, func(i int, d document) outcome {
		if !viaFolder(o.via, i) {
			return submitUntilAcked(ctx, c.apiURL, d)
		}
		oc := outcome{doc: d, attempts: 1, folder: true}
		if err := dropInFolder(c.outbox, d); err != nil {
			oc.failed = "outgoing folder: " + err.Error()
		}
		return oc
	})

	if !killLoop("crash", "kill", o, rng, c, func(k int, d time.Duration) error {
		if err := c.kill(); err != nil {
			return err
		}
		if k%10 == 0 || k == o.kills {
			logf("crash: kill %d/%d after %s; intake holds %d", k, o.kills, d.Round(time.Millisecond), intakeCount(c.intake))
		}
		return c.startDaemon(false)
	}) {
		return 1
	}
	if err := c.waitHealthy(60 * time.Second); err != nil {
		logf("crash: %v", err)
		return 1
	}
	drain("crash", o, start, submitted, cancel, func() int { return intakeCount(c.intake) }, c.daemon.alive)
	// Let late duplicates show: two poll intervals and an intake round.
	time.Sleep(4 * time.Second)
	alive := c.daemon.alive()
	exit, stopErr := c.stopDaemon()

	ok := true
	retried, replayed, refused, folder := 0, 0, 0, 0
	statuses := map[string]int{}
	var slow outcome
	for _, oc := range outcomes {
		if oc.slowest > slow.slowest {
			slow = oc
		}
		if oc.folder {
			folder++
		}
		if oc.attempts > 1 {
			retried++
		}
		if oc.replayed {
			replayed++
		}
		if oc.failed != "" {
			refused++
			logf("crash: message %d not acknowledged: %s", oc.doc.Index, oc.failed)
		}
		for s, n := range oc.statuses {
			statuses[s] += n
		}
	}
	logf("crash: API submissions: %d acknowledged, %d needed a retry (%s), %d answered as replayed, %d refused",
		len(outcomes)-folder-refused, retried, fmtCounts(statuses), replayed, refused)
	if folder > 0 {
		done, failed := folderResults(c.outbox)
		rep := 0
		for _, d := range done {
			if b, err := os.ReadFile(filepath.Join(c.outbox, "done", d, "result.json")); err == nil && strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"replayed":true`) {
				rep++
			}
		}
		left, _ := os.ReadDir(filepath.Join(c.outbox, "processing"))
		logf("crash: outgoing folder: %d handed over, %d in done/ (%d recovered after a kill as replayed), %d in failed/, %d left in processing/",
			folder, len(done), rep, len(failed), len(left))
		if len(done) != folder || len(failed) != 0 || len(left) != 0 {
			logf("crash: FAIL: every folder submission must end in done/ exactly once")
			ok = false
		}
	}
	logf("crash: slowest single attempt: %s (message %d: %s)", slow.slowest.Round(time.Millisecond), slow.doc.Index, slow.slowWhat)
	ok = endChecks("crash", c, alive, exit, stopErr) && ok
	res, err := tallyRun(c, docs)
	if err != nil {
		logf("crash: counting: %v", err)
		return 1
	}
	for _, d := range res.Details {
		fmt.Println("  " + d)
	}
	if orders, err := simulatorOrders(c.sim.log); err == nil {
		logf("crash: simulator answered: %s", fmtCounts(orders))
		logf("crash: deliveries handed out again because a kill cut the fetch dialog before its acknowledgement: %d",
			orders["FetchDelivery[0801]"]+orders["FetchDelivery[0801,3800]"]-o.n)
	}
	logf("crash: %d restarts after kills, %s in total; %d of %d deliveries at the simulator", c.starts-2, time.Since(start).Round(time.Second), res.AtSimulator, len(docs))
	return res.verdict("crash", ok && refused == 0)
}

// killLoop waits a random moment of [o.minDelay, o.maxDelay] o.kills times
// and then does act (kill, cut, restart) to the running daemon. It
// reports false, having said why, when the daemon had exited by itself or
// act failed.
func killLoop(mode, what string, o options, rng *rand.Rand, c *cluster, act func(k int, d time.Duration) error) bool {
	for k := 1; k <= o.kills; k++ {
		d := o.minDelay + time.Duration(rng.Int64N(int64(o.maxDelay-o.minDelay)+1))
		time.Sleep(d)
		if !c.daemon.alive() {
			logf("%s: daemon exited by itself (code %d) before %s %d:\n%s", mode, c.daemon.exitCode(), what, k, c.daemon.tail(30))
			return false
		}
		if err := act(k, d); err != nil {
			logf("%s: %s %d: %v", mode, what, k, err)
			return false
		}
	}
	return true
}

// endChecks are the checks every crash mode ends with: the daemon never
// exited by itself and stopped with 0 on SIGTERM, the simulator is alive
// (its counts are complete), and the store verifies (verifyStore).
func endChecks(mode string, c *cluster, alive bool, exit int, stopErr error) bool {
	ok := true
	if !alive {
		logf("%s: FAIL: the daemon had exited by itself (code %d):\n%s", mode, c.daemon.exitCode(), c.daemon.tail(30))
		ok = false
	}
	if stopErr != nil || exit != 0 {
		logf("%s: FAIL: SIGTERM: exit code %d %v", mode, exit, stopErr)
		ok = false
	}
	if !c.sim.alive() {
		logf("%s: FAIL: the simulator died, its counts are incomplete:\n%s", mode, c.sim.tail(20))
		ok = false
	}
	return verifyStore(c) && ok
}

// prepare starts the simulator and the daemon and enters b into the
// address book; the daemon is then restarted so every generation built
// from the configuration sees the entry from its start.
// startCluster makes a cluster in dir and prepares it; on failure nothing
// of it is left running.
func startCluster(bin, dir string, o clusterOptions) (*cluster, error) {
	c, err := newCluster(bin, dir, o, logf)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if err := prepare(c); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func prepare(c *cluster) error {
	if err := c.startSimulator(); err != nil {
		return err
	}
	if err := c.startDaemon(true); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.addRecipient(ctx); err != nil {
		return err
	}
	if code, err := c.stopDaemon(); err != nil || code != 0 {
		return fmt.Errorf("daemon did not stop cleanly on SIGTERM: code %d %v\n%s", code, err, c.daemon.tail(20))
	}
	return c.startDaemon(true)
}

// verifyStore runs `bebpo-gateway journal verify` and mailbox.Check on the
// stopped gateway's data directory.
func verifyStore(c *cluster) bool {
	ok := true
	out, err := exec.Command(c.bin, "journal", "verify", "--data", c.dataDir).CombinedOutput()
	logf("journal verify: %s", strings.TrimSpace(string(out)))
	if err != nil {
		logf("FAIL: journal verify: %v", err)
		ok = false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(c.dataDir, sqlite.FileName), sqlite.Options{MustExist: true})
	if err != nil {
		logf("FAIL: opening the store: %v", err)
		return false
	}
	defer st.Close()
	return checkStore(ctx, st, filepath.Join(c.dataDir, "blobs")) && ok
}

func tallyRun(c *cluster, docs []document) (tally, error) {
	sim, err := scanSimulator(c.simDir, c.bCipher)
	if err != nil {
		return tally{}, err
	}
	entries, unfinished, err := scanIntake(c.intake)
	if err != nil {
		return tally{}, err
	}
	return count(docs, sim, entries, unfinished, fingerprintB(c)), nil
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// mountTmpfs mounts a tmpfs of size bytes at dir; the error says why not.
func mountTmpfs(dir string, size int64) error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size))
}

func unmount(dir string) error { return syscall.Unmount(dir, 0) }

// viaFolder says whether message i goes through the outgoing folder.
func viaFolder(via string, i int) bool {
	return via == "folder" || (via == "both" && i%2 == 1)
}

// drain waits, after the last kill, for the submissions to be acknowledged
// (cancelling them after 2 minutes) and for the intake to hold all o.n
// messages (at most o.drainTimeout, and only while alive reports the
// gateways running), and logs how long it took.
func drain(mode string, o options, start time.Time, submitted <-chan struct{}, cancel func(), intake func() int, alive func() bool) {
	lastKill := time.Now()
	logf("%s: %d kills done after %s; waiting for submissions and the queue to drain", mode, o.kills, time.Since(start).Round(time.Second))
	select {
	case <-submitted:
	case <-time.After(2 * time.Minute):
		logf("%s: submissions not acknowledged 2 min after the last kill", mode)
		cancel()
		<-submitted
	}
	deadline := time.Now().Add(o.drainTimeout)
	for intake() < o.n && time.Now().Before(deadline) && alive() {
		time.Sleep(500 * time.Millisecond)
	}
	logf("%s: intake holds %d of %d, %s after the last kill", mode, intake(), o.n, time.Since(lastKill).Round(100*time.Millisecond))
}

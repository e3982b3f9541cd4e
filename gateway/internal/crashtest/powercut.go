package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway/internal/powercut"
)

// runPowercut is the kill -9 loop with a power cut after every kill: the
// gateway's data directory, intake folder and outgoing folder live on a
// powercut file system, which drops at each cut whatever was not fsync'd
// (the simulator and the keys stay on the normal disk, as the other side
// of the network does). Each cut: SIGKILL the daemon and the clients
// writing into the outgoing folder, Cut, restart the daemon. A folder
// submission counts as handed over only once its client finished the
// durable hand-over (files fsync'd, rename, outgoing folder fsync'd); one
// a cut interrupted is the client's own loss and may arrive once or not
// at all.
func runPowercut(o options) int {
	start := time.Now()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		fmt.Printf("powercut: SKIPPED: no FUSE on this machine (%v)\n", err)
		return 0
	}
	logf("powercut: seed=%d n=%d cuts=%d window=[%s,%s] workers=%d (repeat with -seed %d)", o.seed, o.n, o.kills, o.minDelay, o.maxDelay, o.workers, o.seed)
	backing, mnt := filepath.Join(o.dir, "gateway.backing"), filepath.Join(o.dir, "gateway")
	// The gateway's directories exist before it first starts, as an
	// installation makes them: durable from the mount on.
	for _, d := range []string{filepath.Join(backing, "data"), filepath.Join(backing, "intake"), filepath.Join(backing, "outbox"), mnt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			logf("powercut: %v", err)
			return 1
		}
	}
	pfs, err := powercut.Mount(backing, mnt, powercut.Options{})
	if err != nil {
		logf("powercut: FAIL: %v", err)
		return 1
	}
	defer func() {
		if err := pfs.Close(); err != nil {
			logf("powercut: %v", err)
		}
	}()
	c, err := startCluster(o.bin, o.dir, clusterOptions{dataDir: filepath.Join(mnt, "data"),
		intake: filepath.Join(mnt, "intake"), outbox: filepath.Join(mnt, "outbox")})
	if err != nil {
		logf("powercut: %v", err)
		return 1
	}
	defer c.close()
	self, err := os.Executable()
	if err != nil {
		logf("powercut: %v", err)
		return 1
	}
	cl := &folderClients{bin: self, running: map[*exec.Cmd]chan struct{}{}}
	cutNo := 0
	// cut kills the daemon and the folder clients, cuts the power and
	// restarts the daemon; nothing touches the file system meanwhile.
	cut := func() error {
		return cl.stopped(func() error {
			if err := c.kill(); err != nil {
				return err
			}
			rep, err := pfs.Cut()
			if err != nil {
				return err
			}
			lost := rep.Lost
			if len(lost) > 6 {
				lost = append(lost[:6:6], "…")
			}
			logf("powercut: cut %d: %s; lost %v, changed %v", cutNo, rep, lost, rep.Changed)
			cutNo++
			return c.startDaemon(false)
		})
	}
	// Cut 0: what setting up acknowledged (the address book entry, the
	// new store) must survive a power cut at once.
	if err := cut(); err != nil {
		logf("powercut: %v", err)
		return 1
	}
	if err := c.waitHealthy(60 * time.Second); err != nil {
		logf("powercut: after cut 0: %v", err)
		return 1
	}

	rng := rand.New(rand.NewPCG(o.seed, 0x706f776572637574))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupted := make([]bool, o.n)
	docs, outcomes, submitted := submitPaced(ctx, o, func(i int, d document) outcome {
		if !viaFolder(o.via, i) {
			return submitUntilAcked(ctx, c.apiURL, d)
		}
		oc := outcome{doc: d, attempts: 1, folder: true}
		switch err := cl.drop(c.outbox, o, i); {
		case errors.Is(err, errCut):
			interrupted[i] = true
		case err != nil:
			oc.failed = "outgoing folder: " + err.Error()
		}
		return oc
	})
	if !killLoop("powercut", "cut", o, rng, c, func(int, time.Duration) error { return cut() }) {
		return 1
	}
	if err := c.waitHealthy(60 * time.Second); err != nil {
		logf("powercut: %v", err)
		return 1
	}
	// Interrupted folder submissions may never arrive: the queue has
	// drained when the intake holds the others.
	expect := o
	select {
	case <-submitted:
		for _, cut := range interrupted {
			if cut {
				expect.n--
			}
		}
	case <-time.After(2 * time.Minute): // drain gives up on them
	}
	intake := func() int { return cl.count(c.intake) }
	drain("powercut", expect, start, submitted, cancel, intake, c.daemon.alive)
	time.Sleep(4 * time.Second) // let late duplicates show
	// A last cut once the queue drained: what the gateway reported done
	// must be durable, and it must not do anything again.
	logf("powercut: last cut after the queue drained")
	if err := cut(); err != nil {
		logf("powercut: last cut: %v", err)
		return 1
	}
	if err := c.waitHealthy(60 * time.Second); err != nil {
		logf("powercut: after the last cut: %v", err)
		return 1
	}
	time.Sleep(6 * time.Second) // two poll intervals, an intake round and an outgoing folder round
	alive := c.daemon.alive()
	exit, stopErr := c.stopDaemon()

	ok := true
	st := pfs.Stats()
	logf("powercut: %d cuts; the gateway made %d file fsyncs and %d directory fsyncs (%d durable copies, %d MiB)",
		st.Cuts, st.Fsyncs, st.DirFsyncs, st.Copies, st.CopiedBytes>>20)
	var required, optional []document
	folderNames, optionalNames := map[string]bool{}, map[string]bool{}
	refused, acked, handed, cutOff := 0, 0, 0, 0
	for i, oc := range outcomes {
		name := fmt.Sprintf("crash-%05d", i)
		switch {
		case oc.failed != "":
			refused++
			logf("powercut: message %d not handed over: %s", i, oc.failed)
		case interrupted[i]:
			cutOff++
			optional = append(optional, docs[i])
			optionalNames[name] = true
			continue
		case oc.folder:
			handed++
			folderNames[name] = true
		default:
			acked++
		}
		required = append(required, docs[i])
	}
	logf("powercut: %d API submissions acknowledged, %d folder submissions durably handed over, %d interrupted by a cut (the client's own loss), %d refused",
		acked, handed, cutOff, refused)
	ok = checkFolder(c.outbox, folderNames, optionalNames) && ok
	ok = endChecks("powercut", c, alive, exit, stopErr) && ok
	sim, err := scanSimulator(c.simDir, c.bCipher)
	if err != nil {
		logf("powercut: counting: %v", err)
		return 1
	}
	entries, unfinished, err := scanIntake(c.intake)
	if err != nil {
		logf("powercut: counting: %v", err)
		return 1
	}
	sim, entries, arrived, problems := splitOptional(optional, sim, entries)
	for _, p := range problems {
		fmt.Println("  " + p)
	}
	if len(problems) > 0 {
		ok = false
	}
	logf("powercut: of the %d interrupted folder submissions %d arrived once, none twice", cutOff, arrived)
	res := count(required, sim, entries, unfinished, fingerprintB(c))
	for _, d := range res.Details {
		fmt.Println("  " + d)
	}
	if orders, err := simulatorOrders(c.sim.log); err == nil {
		logf("powercut: simulator answered: %s", fmtCounts(orders))
	}
	logf("powercut: %d restarts after cuts, %s in total; %d of %d deliveries at the simulator", c.starts-2, time.Since(start).Round(time.Second), res.AtSimulator, len(required))
	return res.verdict("powercut", ok && refused == 0)
}

// errCut: a folder client was killed by a power cut before its hand-over
// was durable.
var errCut = errors.New("interrupted by a power cut")

// folderClients runs each outgoing folder submission as a process of its
// own (crashtest powercut-drop), so that a power cut kills it like the
// daemon, in the middle of its writes, instead of leaving it to write
// into a file system that is being rebuilt.
type folderClients struct {
	bin     string
	mu      sync.Mutex // held by a cut: no client starts, nothing is counted
	running map[*exec.Cmd]chan struct{}
}

// drop hands document i to the outgoing folder through a client process.
func (f *folderClients) drop(outbox string, o options, i int) error {
	f.mu.Lock()
	cmd := exec.Command(f.bin, "powercut-drop", "-outbox", outbox, "-seed", strconv.FormatUint(o.seed, 10),
		"-i", strconv.Itoa(i), "-doc-size", strconv.Itoa(o.docSize))
	out := &limitedBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		f.mu.Unlock()
		return err
	}
	done := make(chan struct{})
	f.running[cmd] = done
	f.mu.Unlock()
	err := cmd.Wait()
	close(done)
	f.mu.Lock()
	delete(f.running, cmd)
	f.mu.Unlock()
	if err != nil && cmd.ProcessState != nil && !cmd.ProcessState.Exited() {
		return errCut // killed by a signal: only a cut sends one
	}
	if err != nil {
		return fmt.Errorf("%v: %s", err, out.String())
	}
	return nil
}

// stopped kills every running client and runs fn while none can start.
func (f *folderClients) stopped(fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for cmd, done := range f.running {
		_ = cmd.Process.Kill()
		<-done
	}
	return fn()
}

// count is intakeCount, never during a cut.
func (f *folderClients) count(intake string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return intakeCount(intake)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// runPowercutDrop is the folder client process: it hands one document
// to the outgoing folder with dropInFolder and exits 0 once the hand-over
// is durable.
func runPowercutDrop(args []string) int {
	fs := flag.NewFlagSet("crashtest powercut-drop", flag.ExitOnError)
	outbox := fs.String("outbox", "", "the outgoing folder")
	seed := fs.Uint64("seed", 0, "the run's seed")
	i := fs.Int("i", 0, "the document's index")
	size := fs.Int("doc-size", 4096, "bytes per document")
	_ = fs.Parse(args)
	if *outbox == "" {
		fmt.Fprintln(os.Stderr, "usage: crashtest powercut-drop -outbox DIR -seed S -i N [-doc-size B]")
		return 2
	}
	if err := dropInFolder(*outbox, smallDocument(*seed, *i, *size)); err != nil {
		fmt.Fprintln(os.Stderr, "powercut-drop:", err)
		return 1
	}
	return 0
}

// checkFolder: every durably handed-over submission ended in done/,
// interrupted ones in done/ or nowhere, nothing in failed/ or processing/.
func checkFolder(outbox string, handed, interrupted map[string]bool) bool {
	done, failed := folderResults(outbox)
	left, _ := os.ReadDir(filepath.Join(outbox, "processing"))
	inDone := map[string]bool{}
	extra := 0
	for _, d := range done {
		inDone[d] = true
		if interrupted[d] {
			extra++
		} else if !handed[d] {
			logf("powercut: FAIL: done/%s is no submission of this run", d)
			return false
		}
	}
	var missing []string
	for n := range handed {
		if !inDone[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	logf("powercut: outgoing folder: %d handed over, %d in done/ (%d of them interrupted by a cut), %d in failed/, %d left in processing/",
		len(handed), len(done), extra, len(failed), len(left))
	if len(missing) > 0 || len(failed) != 0 || len(left) != 0 {
		logf("powercut: FAIL: every folder submission handed over must end in done/ exactly once; missing %v", missing)
		return false
	}
	return true
}

// splitOptional takes the deliveries and intake entries holding a
// document of opt (folder submissions a cut interrupted) out of sim and
// entries and judges them: each may arrive at most once, and if the
// simulator holds it, the intake must hold it too.
func splitOptional(opt []document, sim []simDelivery, entries []intakeEntry) (restSim []simDelivery, restEntries []intakeEntry, arrived int, problems []string) {
	want := map[string]document{}
	for _, d := range opt {
		want[d.SHA] = d
	}
	atSim, inIntake := map[string]int{}, map[string]int{}
	delivered := map[string]bool{} // IDHash of the optional deliveries
	for _, s := range sim {
		known := submitted(s.Docs, want)
		if len(known) == 0 {
			restSim = append(restSim, s)
			continue
		}
		delivered[s.IDHash] = true
		for _, sum := range known {
			atSim[sum]++
		}
	}
	for _, e := range entries {
		known := submitted(e.Docs, want)
		if len(known) == 0 {
			restEntries = append(restEntries, e)
			continue
		}
		id := sha256.Sum256([]byte(e.MessageID))
		if !delivered[hex.EncodeToString(id[:])] {
			problems = append(problems, fmt.Sprintf("intake: %s: MessageId %q is no delivery the simulator stored", e.Name, e.MessageID))
		}
		for _, p := range e.Problems {
			problems = append(problems, fmt.Sprintf("intake: %s: %s", e.Name, p))
		}
		for _, sum := range known {
			inIntake[sum]++
		}
	}
	for _, d := range opt {
		s, in := atSim[d.SHA], inIntake[d.SHA]
		switch {
		case s > 1 || in > 1:
			problems = append(problems, fmt.Sprintf("DUPLICATE interrupted folder submission %d: %d at the simulator, %d in the intake", d.Index, s, in))
		case s != in:
			problems = append(problems, fmt.Sprintf("LOST interrupted folder submission %d: %d at the simulator, %d in the intake", d.Index, s, in))
		case s == 1:
			arrived++
		}
	}
	return restSim, restEntries, arrived, problems
}

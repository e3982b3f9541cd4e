package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stadt-erkelenz/bebpo-gateway/gateway"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres"
	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

// pgLease is the nodes' leases (send and intake): short, so that a node
// paused past it is overtaken, and a killed node's messages are taken
// over, within the run.
const pgLease = 10 * time.Second

// pgCluster is gateway processes (three in crash-pg, one to three in
// bench-pg) on one PostgreSQL database and the simulator. The nodes share
// the blob folder (data_dir/blobs is a link to it) and the intake folder,
// as shared storage would be in a site, and nothing else: each has its
// own data directory, journal head file and API port.
type pgCluster struct {
	*cluster // the simulator, the keys, mailbox b's cipher key
	server   *pgtest.Server
	dsn      string
	blobs    string
	nodes    []*pgNode
}

// pgNode is one gateway process of the cluster.
type pgNode struct {
	i       int
	cfgPath string
	dataDir string
	apiURL  string
	daemon  *proc
	starts  int
	paused  bool
}

func (n *pgNode) name() string { return fmt.Sprintf("node%d", n.i) }

// pgOptions shape the nodes' configuration.
type pgOptions struct {
	// sendOnly leaves mailbox b out of the nodes' configuration: they
	// send from a and fetch nothing for b, so the deliveries stay at the
	// simulator (the send benchmark).
	sendOnly bool
	extra    string // appended to every node's configuration (YAML at the top level)
}

func newPGCluster(bin, dir string, nodes int, po pgOptions) (*pgCluster, error) {
	c, err := newCluster(bin, dir, clusterOptions{}, logf)
	if err != nil {
		return nil, err
	}
	pc := &pgCluster{cluster: c, blobs: filepath.Join(dir, "blobs")}
	if pc.server, err = pgtest.Start(); err != nil {
		return nil, err
	}
	if pc.dsn, err = pc.server.CreateDatabase(context.Background(), "crashtest"); err != nil {
		pc.close()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(pc.dsn+"\n"), 0o600); err != nil {
		pc.close()
		return nil, err
	}
	if err := os.MkdirAll(pc.blobs, 0o700); err != nil {
		pc.close()
		return nil, err
	}
	if err := c.startSimulator(); err != nil {
		pc.close()
		return nil, err
	}
	extra := fmt.Sprintf("store:\n  kind: postgres\n  dsn:\n    file: %[2]q\n  max_conns: 8\nleases:\n  send: %[1]s\n  intake: %[1]s\n", pgLease, filepath.Join(dir, "pg.dsn")) + po.extra
	for i := range nodes {
		n := &pgNode{i: i, cfgPath: filepath.Join(dir, fmt.Sprintf("node%d.yaml", i)), dataDir: filepath.Join(dir, fmt.Sprintf("node%d", i), "data")}
		addr, err := freePort()
		if err != nil {
			pc.close()
			return nil, err
		}
		n.apiURL = "http://" + addr
		if err = os.MkdirAll(n.dataDir, 0o700); err == nil {
			err = os.Symlink(pc.blobs, filepath.Join(n.dataDir, "blobs"))
		}
		if err == nil {
			cfg := c.gatewayConfig(n.dataDir, n.apiURL, c.intake, "", extra)
			if po.sendOnly {
				cfg, err = withoutMailboxB(cfg)
			}
			if err == nil {
				err = os.WriteFile(n.cfgPath, []byte(cfg), 0o600)
			}
		}
		if err != nil {
			pc.close()
			return nil, err
		}
		pc.nodes = append(pc.nodes, n)
	}
	return pc, nil
}

// withoutMailboxB removes mailbox b's entry from a configuration
// gatewayConfig wrote (b is its last mailbox, followed by "intakes:").
func withoutMailboxB(cfg string) (string, error) {
	i, j := strings.Index(cfg, "  - name: b\n"), strings.Index(cfg, "intakes:\n")
	if i < 0 || j < i {
		return "", fmt.Errorf("crashtest: no mailbox b before the intakes in the generated configuration")
	}
	return cfg[:i] + cfg[j:], nil
}

// prepare migrates the database, starts every node, enters b into each
// node's address book and restarts them (as prepare does for one).
func (pc *pgCluster) prepare() error {
	if out, err := exec.Command(pc.bin, "migrate", "--config", pc.nodes[0].cfgPath).CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, n := range pc.nodes {
		if err := pc.start(n, true); err != nil {
			return err
		}
		if err := pc.addRecipientAt(ctx, n.apiURL); err != nil {
			return err
		}
		if code, err := pc.stop(n); err != nil || code != 0 {
			return fmt.Errorf("%s did not stop cleanly on SIGTERM: code %d %v\n%s", n.name(), code, err, n.daemon.tail(20))
		}
		if err := pc.start(n, true); err != nil {
			return err
		}
	}
	return nil
}

func (pc *pgCluster) start(n *pgNode, wait bool) error {
	n.starts++
	p, err := startProc(pc.bin, filepath.Join(pc.dir, n.name()+".log"), "run", "--config", n.cfgPath)
	if err != nil {
		return err
	}
	n.daemon, n.paused = p, false
	if !wait {
		return nil
	}
	return pc.waitHealthy(n, 60*time.Second)
}

func (pc *pgCluster) waitHealthy(n *pgNode, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	cl := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if !n.daemon.alive() {
			return fmt.Errorf("%s exited (code %d) before it served /healthz:\n%s", n.name(), n.daemon.exitCode(), n.daemon.tail(30))
		}
		if resp, err := cl.Get(n.apiURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy after %s:\n%s", n.name(), timeout, n.daemon.tail(30))
}

func (pc *pgCluster) stop(n *pgNode) (int, error) {
	if n.daemon == nil {
		return 0, nil
	}
	if n.paused {
		_ = n.daemon.cmd.Process.Signal(syscall.SIGCONT)
	}
	if err := n.daemon.signal(syscall.SIGTERM, 60*time.Second); err != nil {
		_ = n.daemon.signal(syscall.SIGKILL, 10*time.Second)
		return -1, err
	}
	return n.daemon.exitCode(), nil
}

func (pc *pgCluster) close() {
	for _, n := range pc.nodes {
		if n.daemon != nil {
			_ = n.daemon.signal(syscall.SIGKILL, 10*time.Second)
		}
	}
	pc.cluster.close()
	if pc.server != nil {
		pc.server.Stop()
	}
}

// open opens the database as node i would (its journal head file).
func (pc *pgCluster) open(ctx context.Context, i int) (*postgres.Store, error) {
	return postgres.Open(ctx, pc.dsn, postgres.Options{HeadPath: filepath.Join(pc.nodes[i].dataDir, gateway.PostgresHeadFile), MaxConns: 2})
}

// leasesOf lists the messages whose live lease a node's process holds
// (its owner names are "<host>/<pid>/<engine>"), with their fencing
// counters.
func (pc *pgCluster) leasesOf(ctx context.Context, n *pgNode) (map[int64]int64, error) {
	host, _ := os.Hostname()
	conn, err := pgx.Connect(ctx, pc.dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, lease_token FROM messages WHERE lease_owner LIKE $1 AND lease_until > $2`,
		fmt.Sprintf("%s/%d/%%", host, n.daemon.cmd.Process.Pid), time.Now().UnixNano())
	if err != nil {
		return nil, err
	}
	out := map[int64]int64{}
	for rows.Next() {
		var id, tok int64
		if err := rows.Scan(&id, &tok); err != nil {
			return nil, err
		}
		out[id] = tok
	}
	return out, rows.Err()
}

// pauseHolder stops a node with SIGSTOP that holds live leases at that
// moment: it stops a random node, reads its leases and, when it holds
// none, continues it and tries again (for up to 20 s; then it keeps the
// last one stopped).
func (pc *pgCluster) pauseHolder(ctx context.Context, rng *rand.Rand) (*pgNode, map[int64]int64, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := pc.nodes[rng.IntN(len(pc.nodes))]
		if err := n.daemon.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			return nil, nil, fmt.Errorf("SIGSTOP %s: %w", n.name(), err)
		}
		n.paused = true
		held, err := pc.leasesOf(ctx, n)
		if err != nil || len(held) > 0 || time.Now().After(deadline) {
			return n, held, err
		}
		if err := n.daemon.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			return nil, nil, fmt.Errorf("SIGCONT %s: %w", n.name(), err)
		}
		n.paused = false
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
	}
}

// overtaken counts the messages of held whose fencing counter moved on:
// another node claimed them (or their lease was freed), so every later
// write of the old holder is refused.
func (pc *pgCluster) overtaken(ctx context.Context, held map[int64]int64) (int, error) {
	conn, err := pgx.Connect(ctx, pc.dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	n := 0
	for id, tok := range held {
		var now int64
		if err := conn.QueryRow(ctx, `SELECT lease_token FROM messages WHERE id = $1`, id).Scan(&now); err != nil {
			return 0, err
		}
		if now != tok {
			n++
		}
	}
	return n, nil
}

// intakeTotal is the number of complete entries in the intake.
func (pc *pgCluster) intakeTotal() int { return intakeCount(pc.intake) }

// runCrashPG is the kill -9 loop against three gateways on one database:
// submissions go round the nodes' APIs; at random moments a random node
// is killed with SIGKILL and restarted; once, a node is stopped with
// SIGSTOP for longer than its send lease while the others work and
// kills go on, then continued.
func runCrashPG(o options) int {
	start := time.Now()
	const nodes = 3
	logf("crash-pg: seed=%d n=%d kills=%d nodes=%d window=[%s,%s] send lease %s (repeat with -seed %d)", o.seed, o.n, o.kills, nodes, o.minDelay, o.maxDelay, pgLease, o.seed)
	pc, err := newPGCluster(o.bin, o.dir, nodes, pgOptions{})
	if err != nil {
		logf("crash-pg: setup: %v", err)
		return 1
	}
	defer pc.close()
	if err := pc.prepare(); err != nil {
		logf("crash-pg: %v", err)
		return 1
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x70672d6372617368))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Round the nodes; a retry after a kill goes to the next one, with the
	// same Idempotency-Key.
	docs, outcomes, submitted := submitPaced(ctx, o, func(i int, d document) outcome { return submitRound(ctx, pc, i, d) })

	pauseAt := max(o.kills/2, 1)
	var paused *pgNode
	var pausedUntil time.Time
	var heldAtPause map[int64]int64
	pauseFor := pgLease + 5*time.Second
	cont := func() bool {
		n, err := pc.overtaken(ctx, heldAtPause)
		if err != nil {
			logf("crash-pg: reading leases: %v", err)
			return false
		}
		logf("crash-pg: continuing %s after %s: %d of the %d leases it held at SIGSTOP were taken over meanwhile", paused.name(), pauseFor, n, len(heldAtPause))
		if err := paused.daemon.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			logf("crash-pg: SIGCONT: %v", err)
			return false
		}
		paused.paused, paused = false, nil
		return true
	}
	for k := 1; k <= o.kills; k++ {
		d := o.minDelay + time.Duration(rng.Int64N(int64(o.maxDelay-o.minDelay)+1))
		time.Sleep(d)
		for _, n := range pc.nodes {
			if !n.daemon.alive() {
				logf("crash-pg: %s exited by itself (code %d) before kill %d:\n%s", n.name(), n.daemon.exitCode(), k, n.daemon.tail(30))
				return 1
			}
		}
		if paused != nil && time.Now().After(pausedUntil) && !cont() {
			return 1
		}
		if k == pauseAt && paused == nil {
			if paused, heldAtPause, err = pc.pauseHolder(ctx, rng); err != nil {
				logf("crash-pg: %v", err)
				return 1
			}
			pausedUntil = time.Now().Add(pauseFor)
			logf("crash-pg: SIGSTOP %s for %s (lease %s), holding %d live leases", paused.name(), pauseFor, pgLease, len(heldAtPause))
		}
		var victims []*pgNode
		for _, n := range pc.nodes {
			if !n.paused {
				victims = append(victims, n)
			}
		}
		v := victims[rng.IntN(len(victims))]
		if err := v.daemon.signal(syscall.SIGKILL, 10*time.Second); err != nil {
			logf("crash-pg: kill %d: %v", k, err)
			return 1
		}
		if k%10 == 0 || k == o.kills {
			logf("crash-pg: kill %d/%d (%s) after %s; intake holds %d", k, o.kills, v.name(), d.Round(time.Millisecond), pc.intakeTotal())
		}
		if err := pc.start(v, false); err != nil {
			logf("crash-pg: restart: %v", err)
			return 1
		}
	}
	if paused != nil {
		time.Sleep(time.Until(pausedUntil))
		if !cont() {
			return 1
		}
	}
	for _, n := range pc.nodes {
		if err := pc.waitHealthy(n, 60*time.Second); err != nil {
			logf("crash-pg: %v", err)
			return 1
		}
	}
	drain("crash-pg", o, start, submitted, cancel, pc.intakeTotal, func() bool { return true })
	time.Sleep(4 * time.Second) // let late duplicates show

	ok := true
	for _, n := range pc.nodes {
		alive := n.daemon.alive()
		code, err := pc.stop(n)
		if !alive {
			logf("crash-pg: FAIL: %s had exited by itself (code %d):\n%s", n.name(), n.daemon.exitCode(), n.daemon.tail(30))
			ok = false
		} else if err != nil || code != 0 {
			logf("crash-pg: FAIL: %s on SIGTERM: exit code %d %v", n.name(), code, err)
			ok = false
		}
	}
	if !pc.sim.alive() {
		logf("crash-pg: FAIL: the simulator died, its counts are incomplete:\n%s", pc.sim.tail(20))
		ok = false
	}
	refused, retried := 0, 0
	for _, oc := range outcomes {
		if oc.failed != "" {
			refused++
			logf("crash-pg: message %d not acknowledged: %s", oc.doc.Index, oc.failed)
		}
		if oc.attempts > 1 {
			retried++
		}
	}
	logf("crash-pg: API submissions: %d acknowledged, %d needed a retry, %d refused", len(outcomes)-refused, retried, refused)
	ok = pc.verify() && ok
	sim, err := scanSimulator(pc.simDir, pc.bCipher)
	if err != nil {
		logf("crash-pg: counting: %v", err)
		return 1
	}
	entries, unfinished, err := scanIntake(pc.intake)
	if err != nil {
		logf("crash-pg: counting: %v", err)
		return 1
	}
	res := count(docs, sim, entries, unfinished, fingerprintB(pc.cluster))
	for _, d := range res.Details {
		fmt.Println("  " + d)
	}
	if orders, err := simulatorOrders(pc.sim.log); err == nil {
		logf("crash-pg: simulator answered: %s", fmtCounts(orders))
	}
	starts := 0
	for _, n := range pc.nodes {
		starts += n.starts - 2
	}
	logf("crash-pg: %d restarts after kills, %s in total; %d of %d deliveries at the simulator", starts, time.Since(start).Round(time.Second), res.AtSimulator, len(docs))
	return res.verdict("crash-pg", ok && refused == 0)
}

// submitRound submits d through the nodes in turn until one acknowledges
// it, starting at node i mod the node count.
func submitRound(ctx context.Context, pc *pgCluster, i int, d document) outcome {
	var o outcome
	for try := 0; ctx.Err() == nil; try++ {
		n := pc.nodes[(i+try)%len(pc.nodes)]
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		r := submitUntilAcked(tctx, n.apiURL, d)
		cancel()
		r.attempts += o.attempts
		o = r
		if r.failed == "" || !strings.HasPrefix(r.failed, "gave up") {
			return o
		}
	}
	return o
}

// verify runs `journal verify` for every node (each against its own head
// file), mailbox.Check over the database and the shared blobs, and
// checks that the drained store holds only finished messages.
func (pc *pgCluster) verify() bool {
	ok := true
	for _, n := range pc.nodes {
		out, err := exec.Command(pc.bin, "journal", "verify", "--config", n.cfgPath).CombinedOutput()
		logf("journal verify (%s): %s", n.name(), strings.TrimSpace(string(out)))
		if err != nil {
			logf("FAIL: journal verify (%s): %v", n.name(), err)
			ok = false
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := pc.open(ctx, 0)
	if err != nil {
		logf("FAIL: opening the database: %v", err)
		return false
	}
	defer st.Close()
	return checkStore(ctx, st, pc.blobs) && ok
}

// logDeferrals lists the journal's "deferred" entries (a step that failed
// and waits for its retry) by code and text: what slowed the run.
func logDeferrals(ctx context.Context, st mailbox.Store) error {
	byReason := map[string]int{}
	var after int64
	for {
		evs, err := st.Events(ctx, after, 1000)
		if err != nil {
			return err
		}
		for _, e := range evs {
			after = e.Seq
			if e.Kind != "deferred" {
				continue
			}
			var d map[string]string
			_ = json.Unmarshal([]byte(e.Detail), &d)
			text := d["text"]
			if len(text) > 120 {
				text = text[:120]
			}
			byReason[d["from"]+" "+d["code"]+": "+text]++
		}
		if len(evs) < 1000 {
			break
		}
	}
	logf("deferred steps: %d kinds", len(byReason))
	for r, n := range byReason {
		fmt.Printf("  %dx %s\n", n, r)
	}
	return nil
}

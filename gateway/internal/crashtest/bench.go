package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// runBench measures the floors of this machine (benchfloor.go), then the
// whole path store → send → simulator → fetch → intake with the real
// binary: throughput for small messages, then time and peak memory (VmHWM
// of the daemon and the simulator, each started fresh) for one large
// message, beside `sha256sum` of the same file and an fsync'd dd of its
// size measured in the same run. With -gotest it adds the figures of
// `go test -bench` output beside their floors; every figure is printed
// with its floor and ratio and written to -json.
func runBench(o options) int {
	ver, _ := exec.Command(o.bin, "version").Output()
	fmt.Printf("bench: end to end through the real binary (%s), %d CPUs, seed %d\n", strings.TrimSpace(string(ver)), runtime.NumCPU(), o.seed)
	fl := measureFloors()
	var figs []figure
	if o.goTest != "" {
		f, err := os.Open(o.goTest)
		if err != nil {
			logf("bench: %v", err)
			return 1
		}
		figs = goFigures(parseGoBench(f), fl)
		f.Close()
	}
	if o.benchN > 0 && o.only != "big" {
		small, code := benchSmall(o, fl)
		if code != 0 {
			return code
		}
		figs = append(figs, small...)
	}
	if o.only != "small" {
		big, code := benchBig(o, &fl)
		if code != 0 {
			return code
		}
		figs = append(figs, big...)
	}
	fmt.Println("bench: figures beside the floors measured in this run:")
	printFigures(os.Stdout, figs)
	if o.benchJSON != "" {
		rep := benchReport{Version: strings.TrimSpace(string(ver)), Date: time.Now().UTC(), CPUs: runtime.NumCPU(), Seed: o.seed, Figures: figs}
		if err := writeReport(o.benchJSON, rep); err != nil {
			logf("bench: %v", err)
			return 1
		}
		fmt.Printf("bench: figures written to %s and %s (compare two runs: crashtest benchcmp OLD.json NEW.json, or benchstat on the .txt files)\n",
			o.benchJSON, strings.TrimSuffix(o.benchJSON, ".json")+".txt")
	}
	return 0
}

func benchSmall(o options, fl floors) ([]figure, int) {
	dir := filepath.Join(o.dir, "small")
	c, err := startCluster(o.bin, dir, clusterOptions{})
	if err != nil {
		logf("bench: %v", err)
		return nil, 1
	}
	defer c.close()
	const size = 1024
	docs := make([]document, o.benchN)
	for i := range docs {
		docs[i] = smallDocument(o.seed, i, size)
	}
	ctx := context.Background()
	dpid, spid := c.daemon.cmd.Process.Pid, c.sim.cmd.Process.Pid
	prof := startProfile(profileDir(o.profile, "small"), dpid, spid)
	dCPU0, sCPU0 := procCPU(dpid), procCPU(spid)
	t0 := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	failed := make(chan string, len(docs))
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if oc := submitUntilAcked(ctx, c.apiURL, docs[i]); oc.failed != "" {
					failed <- oc.failed
				}
			}
		}()
	}
	for i := range docs {
		next <- i
	}
	close(next)
	wg.Wait()
	tAck := time.Since(t0)
	close(failed)
	for f := range failed {
		prof.finish()
		logf("bench: FAIL: submission refused: %s", f)
		return nil, 1
	}
	// The simulator's stored deliveries mark when sending was done; the
	// intake when fetching and hand-over were. Each intake entry is
	// stamped when first seen complete, for its latency after the store.
	boxB := filepath.Join(c.simDir, "mailboxes", fingerprintB(c))
	var tSent time.Duration
	seen := map[string]time.Time{}
	deadline := time.Now().Add(10 * time.Minute)
	for stampIntake(c.intake, seen) < len(docs) && time.Now().Before(deadline) {
		if ents, _ := os.ReadDir(boxB); tSent == 0 && len(ents) >= len(docs) {
			tSent = time.Since(t0)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tAll := time.Since(t0)
	if tSent == 0 {
		tSent = tAll
	}
	prof.finish()
	dCPU, sCPU := procCPU(dpid)-dCPU0, procCPU(spid)-sCPU0
	if n := intakeCount(c.intake); n < len(docs) {
		logf("bench: FAIL: only %d of %d small messages in the intake after 10 min", n, len(docs))
		return nil, 1
	}
	hwm, _, _ := procStatus(c.daemon.cmd.Process.Pid)
	res, err := tallyRun(c, docs)
	if err != nil || res.Lost != 0 || res.Duplicated != 0 || res.Intake != len(docs) {
		logf("bench: FAIL: small messages: %s %v %v", res.line(), err, res.Details)
		return nil, 1
	}
	lat, err := intakeLatencies(c, seen)
	if err != nil {
		logf("bench: FAIL: small messages: latency: %v", err)
		return nil, 1
	}
	fmt.Printf("bench: small messages: %d × %d B, %d clients: accepted (202) in %s = %.1f msg/s; "+
		"all stored at the simulator after %s = %.1f msg/s sent; store→send→simulator→fetch→intake in %s = %.1f msg/s end to end (poll interval 1s); daemon peak RSS %.1f MiB\n",
		len(docs), size, o.workers, tAck.Round(time.Millisecond), float64(len(docs))/tAck.Seconds(),
		tSent.Round(time.Millisecond), float64(len(docs))/tSent.Seconds(),
		tAll.Round(time.Millisecond), float64(len(docs))/tAll.Seconds(), float64(hwm)/1024)
	fmt.Printf("bench: small messages: stored at the simulator → in the intake: median %s, p95 %s, max %s; last in the intake %s after the last stored; "+
		"CPU time (user+system) daemon %.2fs, simulator %.2fs\n",
		lat.p50.Round(time.Millisecond), lat.p95.Round(time.Millisecond), lat.max.Round(time.Millisecond), (tAll - tSent).Round(time.Millisecond),
		dCPU.Seconds(), sCPU.Seconds())
	perSec := func(d time.Duration) float64 { return float64(len(docs)) / d.Seconds() }
	rsaOps := 0.0
	if fl.rsaSignNs > 0 {
		rsaOps = 1e9 / fl.rsaSignNs * float64(runtime.NumCPU())
	}
	return []figure{
		{Name: "e2e small 1KiB accepted", Value: perSec(tAck), Unit: "msg/s"},
		figure{Name: "e2e small 1KiB sent", Value: perSec(tSent), Unit: "msg/s"}.withFloor("Go RSA-3072 signatures/s on all CPUs", rsaOps, "op/s"),
		figure{Name: "e2e small 1KiB end to end", Value: perSec(tAll), Unit: "msg/s"}.withFloor("Go RSA-3072 signatures/s on all CPUs", rsaOps, "op/s"),
		{Name: "e2e small stored→intake median", Value: lat.p50.Seconds(), Unit: "s"},
		{Name: "e2e small stored→intake p95", Value: lat.p95.Seconds(), Unit: "s"},
		{Name: "e2e small daemon CPU", Value: dCPU.Seconds(), Unit: "s"},
		{Name: "e2e small simulator CPU", Value: sCPU.Seconds(), Unit: "s"},
		{Name: "e2e small daemon peak RSS", Value: float64(hwm) / 1024, Unit: "MiB"},
	}, 0
}

func benchBig(o options, fl *floors) ([]figure, int) {
	dir := filepath.Join(o.dir, "big")
	c, err := newCluster(o.bin, dir, clusterOptions{}, logf)
	if err != nil {
		logf("bench: setup: %v", err)
		return nil, 1
	}
	defer c.close()
	src := filepath.Join(dir, "bench_big.bin")
	sum, err := writeRandomFile(src, o.bigBytes, o.seed)
	if err != nil {
		logf("bench: %v", err)
		return nil, 1
	}
	t := time.Now()
	ref, err := exec.Command("sha256sum", src).Output()
	refTime := time.Since(t)
	if err != nil || len(ref) < 64 || string(ref[:64]) != sum {
		logf("bench: FAIL: sha256sum reference: %v %q", err, ref)
		return nil, 1
	}
	fl.sha256sum = float64(o.bigBytes) / refTime.Seconds() / 1e6
	if fl.ddFsync, err = ddFsync(dir, o.bigBytes); err != nil {
		logf("bench: FAIL: %v", err)
		return nil, 1
	}
	if err := prepare(c); err != nil { // the daemon and simulator of this phase start fresh: VmHWM is this message's
		logf("bench: %v", err)
		return nil, 1
	}
	doc := document{Index: 0, Key: fmt.Sprintf("bench-big-%d", o.seed), Name: "bench_big.bin", Size: o.bigBytes, SHA: sum,
		Open: func() (io.ReadCloser, error) { return os.Open(src) }}
	dpid, spid := c.daemon.cmd.Process.Pid, c.sim.cmd.Process.Pid
	dHWM0, _, _ := procStatus(dpid)
	dSample, sSample := sampleRSS(dpid, 20*time.Millisecond), sampleRSS(spid, 20*time.Millisecond)
	prof := startProfile(profileDir(o.profile, "big"), dpid, spid)
	dCPU0, sCPU0 := procCPU(dpid), procCPU(spid)
	t0 := time.Now()
	r := submit(context.Background(), c.apiURL, doc, 15*time.Minute)
	tAck := time.Since(t0)
	if r.Status != http.StatusAccepted {
		dSample.finish()
		sSample.finish()
		prof.finish()
		logf("bench: FAIL: large message: %d %v %s", r.Status, r.Err, r.Body)
		return nil, 1
	}
	arrived := waitIntake(c, 1, 15*time.Minute)
	tAll := time.Since(t0)
	dPeak, sPeak := dSample.finish(), sSample.finish()
	prof.finish()
	dHWM, _, _ := procStatus(dpid)
	sHWM, _, _ := procStatus(spid)
	dCPU, sCPU := procCPU(dpid)-dCPU0, procCPU(spid)-sCPU0
	if !arrived {
		logf("bench: FAIL: the large message did not reach the intake within 15 min\n%s", c.daemon.tail(20))
		return nil, 1
	}
	res, err := tallyRun(c, []document{doc})
	if err != nil || res.Lost != 0 || res.Duplicated != 0 || res.Intake != 1 {
		logf("bench: FAIL: large message: %s %v %v", res.line(), err, res.Details)
		return nil, 1
	}
	mb := float64(o.bigBytes) / 1e6
	fmt.Printf("bench: large message: %.0f MB: accepted (202) in %s (%.0f MB/s); store→send→simulator→fetch→intake in %s (%.1f MB/s); "+
		"reference sha256sum of the file: %s (%.0f MB/s); dd conv=fsync of its size: %.0f MB/s\n",
		mb, tAck.Round(time.Millisecond), mb/tAck.Seconds(), tAll.Round(time.Millisecond), mb/tAll.Seconds(),
		refTime.Round(time.Millisecond), mb/refTime.Seconds(), fl.ddFsync)
	fmt.Printf("bench: large message: peak RSS daemon %.1f MiB (VmHWM; %.1f MiB after start, sampled peak %.1f MiB), simulator %.1f MiB (VmHWM; sampled %.1f MiB); intake document SHA-256 matches\n",
		float64(dHWM)/1024, float64(dHWM0)/1024, float64(dPeak)/1024, float64(sHWM)/1024, float64(sPeak)/1024)
	fmt.Printf("bench: large message: CPU time (user+system) daemon %.2fs, simulator %.2fs\n", dCPU.Seconds(), sCPU.Seconds())
	name := fmt.Sprintf("e2e large %.0fMB", mb)
	return []figure{
		{Name: name + " accepted", Value: mb / tAck.Seconds(), Unit: "MB/s"},
		figure{Name: name + " end to end", Value: mb / tAll.Seconds(), Unit: "MB/s"}.withFloor("sha256sum of the file", fl.sha256sum, "MB/s"),
		figure{Name: name + " end to end", Value: mb / tAll.Seconds(), Unit: "MB/s"}.withFloor("dd conv=fsync of its size", fl.ddFsync, "MB/s"),
		{Name: name + " end to end", Value: tAll.Seconds(), Unit: "s"},
		{Name: name + " daemon CPU", Value: dCPU.Seconds(), Unit: "s"},
		{Name: name + " simulator CPU", Value: sCPU.Seconds(), Unit: "s"},
		{Name: name + " daemon peak RSS", Value: float64(dHWM) / 1024, Unit: "MiB"},
		{Name: name + " simulator peak RSS", Value: float64(sHWM) / 1024, Unit: "MiB"},
	}, 0
}

// writeRandomFile writes size seeded random bytes and returns their SHA-256.
func writeRandomFile(path string, size int64, seed uint64) (string, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	r := rand.NewChaCha8(seedBytes(seed, 0xb16))
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, size)); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// profileDir is the perf directory of one bench part ("" records none).
func profileDir(dir, part string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, part)
}

// stampIntake records in seen when each complete intake entry was first
// seen and returns how many there are.
func stampIntake(root string, seen map[string]time.Time) int {
	ents, err := os.ReadDir(root)
	if err != nil {
		return len(seen)
	}
	now := time.Now()
	for _, e := range ents {
		if _, ok := seen[e.Name()]; ok || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), "manifest.sha256")); err == nil {
			seen[e.Name()] = now
		}
	}
	return len(seen)
}

// latencies are quantiles of the time from a delivery's store at the
// simulator (its content package's mtime) to its entry in the intake.
type latencies struct{ p50, p95, max time.Duration }

func intakeLatencies(c *cluster, seen map[string]time.Time) (latencies, error) {
	entries, _, err := scanIntake(c.intake)
	if err != nil {
		return latencies{}, err
	}
	boxB := filepath.Join(c.simDir, "mailboxes", fingerprintB(c))
	var ds []time.Duration
	for _, e := range entries {
		sum := sha256.Sum256([]byte(e.MessageID))
		fi, err := os.Stat(filepath.Join(boxB, hex.EncodeToString(sum[:]), "contentpackage.xml"))
		if err != nil {
			return latencies{}, fmt.Errorf("delivery of intake entry %s at the simulator: %w", e.Name, err)
		}
		ds = append(ds, max(0, seen[e.Name].Sub(fi.ModTime())))
	}
	if len(ds) == 0 {
		return latencies{}, nil
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return latencies{p50: q(0.5), p95: q(0.95), max: ds[len(ds)-1]}, nil
}

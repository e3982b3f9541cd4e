package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// diskFullSize is the tmpfs the data directory lives on.
const diskFullSize = 64 << 20

// runDiskFull fills the data directory's filesystem while the daemon runs
// (R7): a submission must get 507 problem+json and nothing stored; once
// space returns the same daemon process accepts and delivers it.
func runDiskFull(o options) (code int) {
	data := filepath.Join(o.dir, "data")
	if err := mountTmpfs(data, diskFullSize); err != nil {
		fmt.Printf("diskfull: SKIPPED: cannot mount a %d MiB tmpfs for the data directory (%v)\n", diskFullSize>>20, err)
		return 0
	}
	defer func() {
		if code != 0 { // keep the store for inspection: the tmpfs goes away
			if out, err := exec.Command("cp", "-a", data, data+".kept").CombinedOutput(); err != nil {
				logf("diskfull: copying the data directory: %v %s", err, out)
			} else {
				logf("diskfull: data directory copied to %s.kept", data)
			}
		}
		if err := unmount(data); err != nil {
			logf("diskfull: unmount %s: %v", data, err)
		}
	}()
	logf("diskfull: data_dir on a %d MiB tmpfs", diskFullSize>>20)
	c, err := startCluster(o.bin, o.dir, clusterOptions{dataDir: data})
	if err != nil {
		logf("diskfull: %v", err)
		return 1
	}
	defer c.close()
	fail := func(format string, a ...any) int {
		logf("diskfull: FAIL: "+format, a...)
		if c.daemon != nil {
			fmt.Println(c.daemon.tail(20))
		}
		return 1
	}
	ctx := context.Background()
	// 0: before the disk fills; 1: refused while full, then resubmitted;
	// 2: accepted just before the disk fills, so the engines meet the
	// full disk with it in flight.
	// 3: dropped into the outgoing folder while full: it must wait in
	// processing/, not fail.
	docs := []document{smallDocument(o.seed, 0, 4096), smallDocument(o.seed, 1, 2<<20), smallDocument(o.seed, 2, 4096), smallDocument(o.seed, 3, 2<<20)}
	if r := submit(ctx, c.apiURL, docs[0], time.Minute); r.Status != http.StatusAccepted {
		return fail("first submission: %d %v %s", r.Status, r.Err, r.Body)
	}
	if !waitIntake(c, 1, 60*time.Second) {
		return fail("first message not in the intake after 60s")
	}
	pid := c.daemon.cmd.Process.Pid

	if r := submit(ctx, c.apiURL, docs[2], time.Minute); r.Status != http.StatusAccepted {
		return fail("in-flight submission: %d %v %s", r.Status, r.Err, r.Body)
	}
	filler := filepath.Join(data, "filler")
	free, err := fill(filler)
	if err != nil {
		return fail("filling the disk: %v", err)
	}
	logf("diskfull: filesystem full (%d bytes left)", free)
	r := submit(ctx, c.apiURL, docs[1], time.Minute)
	logf("diskfull: submission while full: status %d, %s: %s", r.Status, r.ContentType, r.Body)
	ok := true
	switch {
	case r.Err != nil:
		ok = false
		logf("diskfull: FAIL: no answer: %v", r.Err)
	case r.Status != http.StatusInsufficientStorage || !strings.HasPrefix(r.ContentType, "application/problem+json"):
		ok = false
		logf("diskfull: FAIL: want 507 application/problem+json")
	}
	if err := dropInFolder(c.outbox, docs[3]); err != nil {
		return fail("outgoing folder: %v", err)
	}
	time.Sleep(3 * time.Second) // the engines run into the full disk with message 2, the folder watcher with 3
	if done, failed := folderResults(c.outbox); len(done)+len(failed) != 0 {
		ok = false
		logf("diskfull: FAIL: the folder submission made while full was answered (done %v, failed %v); it must wait in processing/", done, failed)
	} else {
		left, _ := os.ReadDir(filepath.Join(c.outbox, "processing"))
		logf("diskfull: folder submission while full: %d directory waiting in processing/, none answered", len(left))
	}
	if !c.daemon.alive() {
		return fail("the daemon exited on the full disk (code %d)", c.daemon.exitCode())
	}
	if err := os.Remove(filler); err != nil {
		return fail("freeing space: %v", err)
	}
	freed := time.Now()
	logf("diskfull: space freed; the same daemon (pid %d) continues", pid)
	if n, err := listOutgoing(ctx, c.apiURL); err != nil {
		ok = false
		logf("diskfull: FAIL: listing messages after space returned: %v", err)
	} else if n != 2 && n != 3 {
		ok = false
		logf("diskfull: FAIL: %d outgoing messages stored, want 2 (3 if the folder watcher ran since) — the refused one must not be stored", n)
	}
	var again submitResult
	for i := 0; i < 20; i++ {
		if again = submit(ctx, c.apiURL, docs[1], time.Minute); again.Status == http.StatusAccepted {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	logf("diskfull: resubmission: status %d replayed=%v %s", again.Status, again.Replayed, again.Body)
	if again.Status != http.StatusAccepted || again.Replayed {
		ok = false
		logf("diskfull: FAIL: want 202, not replayed (the refused attempt stored nothing)")
	}
	// A round that met the full disk may keep its claim until the send
	// lease (5 min) ends: wait a little longer than that.
	if !waitIntake(c, len(docs), 6*time.Minute) {
		ok = false
		logf("diskfull: FAIL: the in-flight, resubmitted and folder messages did not all reach the intake within 6 min (%d of %d there)", intakeCount(c.intake), len(docs))
		// A stuck worker shows in the goroutine dump SIGQUIT writes to the log.
		_ = c.daemon.signal(syscall.SIGQUIT, 10*time.Second)
		logf("diskfull: goroutine dump (SIGQUIT) in %s", c.daemon.log)
	} else {
		logf("diskfull: all %d messages in the intake %s after space returned (a send round that met the full disk keeps its claim until its lease or retry time ends)", len(docs), time.Since(freed).Round(100*time.Millisecond))
	}
	if done, failed := folderResults(c.outbox); len(done) != 1 || len(failed) != 0 {
		ok = false
		logf("diskfull: FAIL: folder submission: done %v failed %v, want it done", done, failed)
	}
	if !c.daemon.alive() || c.daemon.cmd.Process.Pid != pid {
		ok = false
		logf("diskfull: FAIL: the daemon did not keep running")
	}
	if code, err := c.stopDaemon(); err != nil || code != 0 {
		ok = false
		logf("diskfull: FAIL: SIGTERM: exit %d %v", code, err)
	}
	ok = verifyStore(c) && ok
	res, err := tallyRun(c, docs)
	if err != nil {
		return fail("counting: %v", err)
	}
	for _, d := range res.Details {
		fmt.Println("  " + d)
	}
	fmt.Println("diskfull: " + res.line())
	if !ok || !res.clean() {
		fmt.Println("diskfull: FAIL")
		return 1
	}
	fmt.Println("diskfull: PASS (507 while full, nothing stored; folder submission waited; all delivered after space returned without a restart)")
	return 0
}

// fill writes path until the filesystem refuses more, and reports the
// bytes still free for unprivileged writes.
func fill(path string) (uint64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					return 0, err
				}
				break
			}
		}
	}
	_ = f.Sync()
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func waitIntake(c *cluster, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if intakeCount(c.intake) >= n {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// listOutgoing counts outgoing messages through the API.
func listOutgoing(ctx context.Context, apiURL string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/v1/messages?direction=out&limit=500", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+apiTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	var l struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return 0, err
	}
	return len(l.Messages), nil
}

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stadt-erkelenz/bebpo-gateway/mailbox/postgres/pgtest"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as PostgreSQL's
	// backends set theirs.
	line := "4242 (postgres: (x) idle) S 99 4242 4242 0 -1 4194560 500 0 0 0 7 3 2 1 20 0 1 0 123 456 78\n"
	st, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := (procStat{ppid: 99, utime: 7, stime: 3, cutime: 2, cstime: 1}); st != want {
		t.Fatalf("parseStat = %+v, want %+v", st, want)
	}
	for _, bad := range []string{"4242 postgres S 99", "4242 (postgres) S 99 1 1 0 -1 0 0 0 0 0 x 3 2 1", "4242 (postgres) S 99 1 1"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
	own, err := readStat(os.Getpid())
	if err != nil || own.ppid != os.Getppid() {
		t.Fatalf("readStat(self) = %+v %v, want ppid %d", own, err, os.Getppid())
	}
}

func TestSimTally(t *testing.T) {
	docs := []document{smallDocument(3, 0, 64), smallDocument(3, 1, 64), smallDocument(3, 2, 64)}
	stranger := smallDocument(4, 0, 64)
	const box = "bbbb"
	sim := []simDelivery{
		{Mailbox: box, IDHash: "1", Docs: []string{docs[0].SHA}},
		{Mailbox: box, IDHash: "2", Docs: []string{docs[1].SHA}},
		{Mailbox: box, IDHash: "3", Docs: []string{docs[1].SHA}},
		{Mailbox: box, IDHash: "4", Docs: []string{stranger.SHA}},
		{Mailbox: "aaaa", IDHash: "5", Docs: []string{docs[0].SHA}},
	}
	lost, dup, details := simTally(docs, sim, box)
	// docs[2] is missing; docs[1] twice, a stranger's document and a
	// delivery for another mailbox are one duplicate each.
	if lost != 1 || dup != 3 || len(details) != 4 {
		t.Fatalf("lost=%d duplicated=%d details=%q, want 1, 3 and 4 lines", lost, dup, details)
	}
	if lost, dup, _ := simTally(docs, sim[:2], box); lost != 1 || dup != 0 {
		t.Fatalf("without duplicates: lost=%d duplicated=%d, want 1 and 0", lost, dup)
	}
}

// TestBenchPG runs bench-pg with ten messages against the real binary,
// simulator and PostgreSQL server: it checks that every node count
// passes (nothing lost or duplicated at the simulator, journal verify,
// mailbox.Check, clean SIGTERM) and that the figures were taken, not
// how fast they are.
func TestBenchPG(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end benchmark run: skipped with -short")
	}
	if _, err := pgtest.BinDir(); errors.Is(err, pgtest.ErrNoServer) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	bin := filepath.Join(t.TempDir(), "bebpo-gateway")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/bebpo-gateway").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const n = 10
	runs, err := benchPG(options{bin: bin, dir: t.TempDir(), benchN: n, workers: 4, seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(benchPGNodes) {
		t.Fatalf("%d runs, want %d", len(runs), len(benchPGNodes))
	}
	for _, r := range runs {
		if !r.OK || r.Lost != 0 || r.Duplicated != 0 || r.States["out/sent"] != n || len(r.States) != 1 {
			t.Errorf("%d nodes: ok=%v lost=%d duplicated=%d states=%v", r.Nodes, r.OK, r.Lost, r.Duplicated, r.States)
		}
		gw := 0.0
		for _, g := range r.CPU.Gateways {
			gw += g
		}
		if r.MsgsPerSec <= 0 || r.SentSecs < r.AcceptedSecs || len(r.CPU.Gateways) != r.Nodes || gw <= 0 || r.CPU.Simulator <= 0 || r.CPU.Machine <= 0 {
			t.Errorf("%d nodes: figures not taken: %+v", r.Nodes, r)
		}
	}
}
